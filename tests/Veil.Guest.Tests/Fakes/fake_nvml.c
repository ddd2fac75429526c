/* A fake libnvidia-ml.so.1 for tests: the real NVML entry points and struct layouts (nvml.h), serving
 * evidence bytes from files that the test names through fake_nvml_configure(). Built by the test setup with gcc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3

typedef struct { unsigned int environment, ccFeature, devToolsMode; } nvmlConfComputeSystemState_t;
typedef struct {
    unsigned int isCecAttestationReportPresent, attestationReportSize, cecAttestationReportSize;
    unsigned char nonce[0x20];
    unsigned char attestationReport[0x2000];
    unsigned char cecAttestationReport[0x1000];
} nvmlConfComputeGpuAttestationReport_t;
typedef struct {
    unsigned int certChainSize, attestationCertChainSize;
    unsigned char certChain[0x1000];
    unsigned char attestationCertChain[0x1400];
} nvmlConfComputeGpuCertificate_t;

static char report_path[4096], chain_path[4096];
static unsigned int gpus = 1, cc_feature = 1, dev_tools = 0, ready = 0, arch = 9; /* NVML_DEVICE_ARCH_HOPPER */
static int initialized = 0;
static unsigned char last_nonce[0x20];

void fake_nvml_configure(const char *report, const char *chain, unsigned int gpu_count, unsigned int cc, unsigned int devtools) {
    snprintf(report_path, sizeof report_path, "%s", report);
    snprintf(chain_path, sizeof chain_path, "%s", chain);
    gpus = gpu_count; cc_feature = cc; dev_tools = devtools; ready = 0; arch = 9;
}
void fake_nvml_set_arch(unsigned int a) { arch = a; }
unsigned int fake_nvml_ready(void) { return ready; }
void fake_nvml_last_nonce(unsigned char *out) { memcpy(out, last_nonce, sizeof last_nonce); }
int fake_nvml_initialized(void) { return initialized; }

static unsigned int read_file(const char *path, unsigned char *buf, unsigned int max) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, max, f);
    fclose(f);
    return (unsigned int)n;
}

const char *nvmlErrorString(nvmlReturn_t r) {
    switch (r) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    default: return "Not Supported";
    }
}
nvmlReturn_t nvmlInit_v2(void) { initialized++; return NVML_SUCCESS; }
nvmlReturn_t nvmlShutdown(void) { if (!initialized) return NVML_ERROR_UNINITIALIZED; initialized--; return NVML_SUCCESS; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    *count = gpus; return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    if (index >= gpus) return NVML_ERROR_INVALID_ARGUMENT;
    *device = (nvmlDevice_t)(unsigned long)(0x1000 + index); return NVML_SUCCESS;
}
nvmlReturn_t nvmlSystemGetConfComputeState(nvmlConfComputeSystemState_t *s) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    s->environment = 2; s->ccFeature = cc_feature; s->devToolsMode = dev_tools; return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t d, unsigned int *a) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    if ((unsigned long)d < 0x1000 || (unsigned long)d >= 0x1000 + gpus) return NVML_ERROR_INVALID_ARGUMENT;
    *a = arch; return NVML_SUCCESS;
}
nvmlReturn_t nvmlDeviceGetConfComputeGpuAttestationReport(nvmlDevice_t d, nvmlConfComputeGpuAttestationReport_t *r) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    if ((unsigned long)d < 0x1000 || (unsigned long)d >= 0x1000 + gpus) return NVML_ERROR_INVALID_ARGUMENT;
    memcpy(last_nonce, r->nonce, sizeof last_nonce);
    r->isCecAttestationReportPresent = 0; r->cecAttestationReportSize = 0;
    r->attestationReportSize = read_file(report_path, r->attestationReport, sizeof r->attestationReport);
    return r->attestationReportSize ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
}
nvmlReturn_t nvmlDeviceGetConfComputeGpuCertificate(nvmlDevice_t d, nvmlConfComputeGpuCertificate_t *c) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    if ((unsigned long)d < 0x1000 || (unsigned long)d >= 0x1000 + gpus) return NVML_ERROR_INVALID_ARGUMENT;
    c->certChainSize = 0;
    c->attestationCertChainSize = read_file(chain_path, c->attestationCertChain, sizeof c->attestationCertChain);
    return c->attestationCertChainSize ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
}
nvmlReturn_t nvmlSystemSetConfComputeGpusReadyState(unsigned int accepting) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    if (accepting > 1) return NVML_ERROR_INVALID_ARGUMENT;
    ready = accepting; return NVML_SUCCESS;
}
nvmlReturn_t nvmlSystemGetConfComputeGpusReadyState(unsigned int *accepting) {
    if (!initialized) return NVML_ERROR_UNINITIALIZED;
    *accepting = ready; return NVML_SUCCESS;
}
