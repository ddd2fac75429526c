using Veil.Broker.Verification;
using Veil.Protocol.Messages;

namespace Veil.Broker.Tests.Support;

/// <summary>
/// Expects a recorded vector's report data instead of the session binding: a real vector can never match a
/// fresh nonce. Substituted in code only, the way the shipped broker cannot be configured.
/// </summary>
internal sealed class FixedBinding(byte[] reportData, byte[]? deviceNonce = null) : IReportDataBindingService
{
    public ReadOnlyMemory<byte> ExpectedReportData(string tee, RuntimeData runtimeData, string additionalEvidence) => reportData;

    public ReadOnlyMemory<byte> ExpectedDeviceNonce(string tee, RuntimeData runtimeData) =>
        deviceNonce ?? new KbsReportDataBinding().ExpectedDeviceNonce(tee, runtimeData);
}
