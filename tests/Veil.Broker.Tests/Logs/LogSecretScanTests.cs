using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.Logs;

[CollectionDefinition(LogScanLastOrderer.LogScanCollection)]
public sealed class LogScanDefinition
{
}

/// <summary>Runs last (see <see cref="LogScanLastOrderer"/>): no secret of the whole suite may appear in any broker log.</summary>
[Collection(LogScanLastOrderer.LogScanCollection)]
public class LogSecretScanTests
{
    [Fact]
    public void No_resource_value_key_token_or_session_id_appears_in_the_suites_broker_logs()
    {
        var lines = LogCapture.Shared.Lines.ToList();
        Assert.True(lines.Count > 50, $"expected the suite's broker logs, found {lines.Count} lines");
        Assert.True(SecretLedger.All.Count > 20, $"expected the suite's secrets, found {SecretLedger.All.Count}");
        Assert.Contains(SecretLedger.All.Values, v => v.StartsWith("resource", StringComparison.Ordinal));
        Assert.Contains(SecretLedger.All.Values, v => v == "EAR token");
        Assert.Contains(SecretLedger.All.Values, v => v == "session id");
        Assert.Empty(SecretLedger.Scan(lines, SecretLedger.All));
    }

    [Fact]
    public void The_scan_finds_a_planted_secret()
    {
        var secrets = new Dictionary<string, string> { ["s3cr3t-model-key-value"] = "resource x" };
        Assert.Equal(["resource x"], SecretLedger.Scan(["info: released s3cr3t-model-key-value to tee"], secrets));
        Assert.Empty(SecretLedger.Scan(["info: released [redacted] to tee"], secrets));
    }
}
