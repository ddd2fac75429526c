using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Snp;
using Veil.Tests.Shared;

namespace Veil.Attestation.Tests.Snp;

/// <summary>The real SEV-SNP vectors in testdata/vectors with the inputs and pinned times their MANIFESTs give.</summary>
internal sealed record SnpCase(string Name, byte[] Evidence, X509Certificate2? Leaf, IReadOnlyList<X509Certificate2> Chain, DateTimeOffset At)
{
    public SnpVerifier Verifier(DateTimeOffset? at = null) =>
        new(SnpCollateralSources.Combine(SnpCollateralSources.Files(Leaf, Chain), SnpCollateralSources.Evidence()), new FixedTimeProvider(at ?? At));

    public Task<VerificationResult> VerifyAsync(byte[]? evidence = null, DateTimeOffset? at = null, ReadOnlyMemory<byte>? reportData = null) =>
        Verifier(at).VerifyAsync(evidence ?? Evidence, reportData);

    public override string ToString() => Name;
}

internal static class SnpVectorCases
{
    public static readonly DateTimeOffset MsTime = DateTimeOffset.Parse("2026-03-01T00:00:00Z");

    public static X509Certificate2 Cert(params string[] path) => Certificates.Load(Vectors.Bytes(path), string.Join('/', path))[0];

    public static IReadOnlyList<X509Certificate2> Certs(params string[] path) => Certificates.Load(Vectors.Bytes(path), string.Join('/', path));

    public static SnpCase GoSevGuest() => new(
        "go-sev-guest milan v2",
        Vectors.Bytes("go-sev-guest", "verify-testdata", "attestation.bin"),
        Cert("go-sev-guest", "verify-testdata", "vcek.testcer"),
        Certs("go-sev-guest", "verify-testdata", "milan.testcer"),
        DateTimeOffset.Parse("2022-09-24T01:00:00Z"));

    public static SnpCase Virtee() => new(
        "virtee milan v2 (hex)",
        Vectors.Bytes("virtee-sev", "tests-certs_data", "report_milan.hex"),
        Cert("virtee-sev", "tests-certs_data", "vcek_milan.der"),
        Certs("virtee-sev", "tests-certs_data", "cert_chain_milan"),
        DateTimeOffset.Parse("2024-01-01T00:00:00Z"));

    public static SnpCase Ms(string generation) => new(
        $"microsoft {generation}",
        Vectors.Bytes("TEE-Attestation-Verification", "tests-test_data", $"{generation}_attestation_report.bin"),
        Cert("TEE-Attestation-Verification", "tests-test_data", $"{generation}_vcek.pem"),
        Certs("TEE-Attestation-Verification", "tests-test_data", $"{generation}_ask.pem"),
        MsTime);

    public static SnpCase TrusteeEvidenceJson() => new(
        "trustee evidence.json genoa v3",
        Vectors.Bytes("trustee", "attestation-service", "tests", "e2e", "evidence.json"),
        null,
        [],
        DateTimeOffset.Parse("2025-06-01T00:00:00Z"));

    public static SnpCase TrusteeVcek() => new(
        "trustee test-report milan v2",
        Vectors.Bytes("trustee", "deps", "verifier", "test_data", "snp", "test-report.bin"),
        Cert("trustee", "deps", "verifier", "test_data", "snp", "test-vcek.der"),
        [],
        DateTimeOffset.Parse("2024-06-01T00:00:00Z"));

    public static SnpCase TrusteeVlek() => new(
        "trustee test-vlek-report milan v3",
        Vectors.Bytes("trustee", "deps", "verifier", "test_data", "snp", "test-vlek-report.bin"),
        Cert("trustee", "deps", "verifier", "test_data", "snp", "test-vlek.der"),
        [],
        DateTimeOffset.Parse("2025-06-01T00:00:00Z"));

    public static IEnumerable<SnpCase> All()
    {
        yield return GoSevGuest();
        yield return Virtee();
        yield return Ms("milan");
        yield return Ms("genoa");
        yield return Ms("turin");
        yield return TrusteeEvidenceJson();
        yield return TrusteeVcek();
        yield return TrusteeVlek();
    }

    public static TheoryData<string> Names() => new(All().Select(c => c.Name));

    public static SnpCase ByName(string name) => All().Single(c => c.Name == name);

    public static void AssertVerified(VerificationResult result) =>
        Assert.True(result.Verified, "expected verified, failures: " + string.Join("; ", result.Failures));

    public static VerificationFailure AssertFailed(VerificationResult result, string check)
    {
        Assert.False(result.Verified);
        var names = string.Join("; ", result.Failures);
        return result.Failures.FirstOrDefault(f => f.Check == check) ?? throw new Xunit.Sdk.XunitException($"expected failure '{check}', got: {names}");
    }
}
