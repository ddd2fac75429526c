using Veil.Broker.Verification;
using Veil.Protocol.Messages;

namespace Veil.Bench.BrokerHandshake;

/// <summary>
/// The benchmark host expects the recorded SNP vector's report data (a real report can never be bound to a
/// fresh nonce). Substituted in code through the broker's internal hook; the shipped CLI cannot do this.
/// </summary>
internal sealed class BenchBinding(byte[] reportData) : IReportDataBindingService
{
    public ReadOnlyMemory<byte> ExpectedReportData(string tee, RuntimeData runtimeData, string additionalEvidence) => reportData;

    public ReadOnlyMemory<byte> ExpectedDeviceNonce(string tee, RuntimeData runtimeData) =>
        new KbsReportDataBinding().ExpectedDeviceNonce(tee, runtimeData);
}
