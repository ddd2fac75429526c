using System.Text.Json;
using Microsoft.Extensions.Logging;
using Veil.Broker;
using Veil.Broker.Hosting;

namespace Veil.Cli.Tests;

/// <summary>
/// The admin verbs with the token of the subject in use: <c>veil broker token mint --role --subject --expires</c>,
/// <c>veil resource</c>, <c>veil policy resource</c> and <c>veil audit</c> against a real broker; a tenant's token works
/// in its repository only, and the audit it reads names the subject.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AdminIdentityCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-cli-ident-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string DataDir => Path.Combine(_dir, "data");

    [Fact]
    public async Task A_tenant_token_minted_with_role_and_subject_works_in_its_repository_only_and_audit_names_it()
    {
        Assert.Equal(0, CliRunner.Run("broker", "init", "--data-dir", DataDir).Exit);
        var tenant = Path.Combine(_dir, "acme.token");
        var auditor = Path.Combine(_dir, "auditor.token");
        var mint = CliRunner.Run("broker", "token", "mint", "--data-dir", DataDir, "--role", "tenant-admin:acme", "--subject", "acme-ci", "--expires", "30m", "--out", tenant);
        Assert.Equal(0, mint.Exit);
        Assert.Contains("role tenant-admin:acme, subject acme-ci", mint.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(File.ReadAllText(tenant).Trim(), mint.Out, StringComparison.Ordinal);
        Assert.Equal(0, CliRunner.Run("broker", "token", "mint", "--data-dir", DataDir, "--role", "auditor", "--subject", "carol", "--out", auditor).Exit);

        await using var host = await BrokerHost.StartAsync(
            new BrokerOptions { DataDir = DataDir, Urls = ["http://127.0.0.1:0"], Policy = "sample", AllowSample = true },
            b => b.Logging.ClearProviders(), _ => null, CancellationToken.None);
        var url = host.Addresses[0].ToString();
        var value = Path.Combine(_dir, "value");
        await File.WriteAllTextAsync(value, "secret");
        var policy = Path.Combine(_dir, "rp.yaml");
        await File.WriteAllTextAsync(policy, "apiVersion: veil.dev/v1\nkind: ResourcePolicy\ndefault: {attestationPolicy: sample}\n");

        Assert.Equal(0, CliRunner.Run("resource", "put", "acme/key/a", "--file", value, "--broker", url, "--admin-token", tenant).Exit);
        var other = CliRunner.Run("resource", "put", "globex/key/a", "--file", value, "--broker", url, "--admin-token", tenant);
        Assert.NotEqual(0, other.Exit);
        Assert.Contains("may not manage repository 'globex'", other.Err, StringComparison.Ordinal);
        Assert.Equal(0, CliRunner.Run("policy", "resource", "push", policy, "--repository", "acme", "--broker", url, "--admin-token", tenant).Exit);
        var show = CliRunner.Run("policy", "resource", "show", "--repository", "acme", "--broker", url, "--admin-token", tenant);
        Assert.Equal(0, show.Exit);
        Assert.Contains("resource policy of repository acme", show.Out, StringComparison.Ordinal);
        Assert.NotEqual(0, CliRunner.Run("policy", "resource", "push", policy, "--broker", url, "--admin-token", tenant).Exit);

        var list = CliRunner.Run("resource", "list", "--broker", url, "--admin-token", tenant, "--output", "json");
        Assert.Equal(0, list.Exit);
        using (var names = JsonDocument.Parse(list.Out))
        {
            Assert.Equal(["acme/key/a"], names.RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        }

        var audit = CliRunner.Run("audit", "--broker", url, "--admin-token", auditor, "--limit", "50");
        Assert.Equal(0, audit.Exit);
        Assert.Contains("allowed  acme-ci  put  acme/key/a", audit.Out, StringComparison.Ordinal);
        Assert.Contains("denied  acme-ci", audit.Out, StringComparison.Ordinal);
        var tenantAudit = CliRunner.Run("audit", "--broker", url, "--admin-token", tenant, "--output", "json");
        Assert.Equal(0, tenantAudit.Exit);
        using (var rows = JsonDocument.Parse(tenantAudit.Out))
        {
            Assert.All(rows.RootElement.EnumerateArray(), r => Assert.Equal("acme", r.GetProperty("repository").GetString()));
        }

        // veil policy push: policy-admin may, a tenant may not.
        var policyAdmin = Path.Combine(_dir, "pat.token");
        Assert.Equal(0, CliRunner.Run("broker", "token", "mint", "--data-dir", DataDir, "--role", "policy-admin", "--subject", "pat", "--out", policyAdmin).Exit);
        var attestation = Path.Combine(_dir, "ap.yaml");
        await File.WriteAllTextAsync(attestation, "apiVersion: veil.dev/v1\nkind: AttestationPolicy\nmetadata: {name: cli}\nsubmodules:\n  cpu:\n    accept: [sample]\n    rules:\n      - {name: svn, claim: sample.svn, matches: \"^[0-9]+$\", trust: hardware}\n");
        var pushed = CliRunner.Run("policy", "push", attestation, "--id", "cli", "--broker", url, "--admin-token", policyAdmin);
        Assert.True(pushed.Exit == 0, pushed.Err);
        Assert.Contains("attestation policy cli stored and in effect", pushed.Out, StringComparison.Ordinal);
        var refusedPush = CliRunner.Run("policy", "push", attestation, "--id", "cli", "--broker", url, "--admin-token", tenant);
        Assert.NotEqual(0, refusedPush.Exit);
        Assert.Contains("that takes admin or policy-admin", refusedPush.Err, StringComparison.Ordinal);

        var bad = CliRunner.Run("audit", "--broker", url, "--admin-token", auditor, "--limit", "0");
        Assert.Equal(2, bad.Exit);
        Assert.Contains("--limit: 0 is not between 1 and 1000", bad.Err, StringComparison.Ordinal);
        Assert.NotEqual(0, CliRunner.Run("audit", "--broker", url, "--admin-token", Path.Combine(_dir, "missing")).Exit);
    }
}
