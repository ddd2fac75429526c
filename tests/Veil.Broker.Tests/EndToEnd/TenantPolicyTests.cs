using System.Net;
using System.Text;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// A repository's own resource policy adds to the global one: a release needs both to allow it, a tenant's policy
/// cannot name another repository's resources, and a repository without one is decided by the global policy alone.
/// Role-binding changes between starts are audited.
/// </summary>
public sealed class TenantPolicyTests
{
    private static string Policy(string yaml) => $$"""{"policy":"{{AdminAuthorizationMatrixTests.B64Url(yaml)}}"}""";

    [Fact]
    public async Task A_release_needs_the_global_and_the_repository_policy_and_tenants_stay_in_their_repository()
    {
        await using var issuer = await OidcTestIssuer.StartAsync();
        await using var broker = await AdminAuthorizationMatrixTests.StartAsync(issuer);
        var tenant = issuer.Mint("acme-ops");
        await broker.PutResourceAsync("acme/key/a", Encoding.UTF8.GetBytes("acme secret"));
        await broker.PutResourceAsync("globex/key/a", Encoding.UTF8.GetBytes("globex secret"));

        using var http = broker.NewHttpClient();
        using var key = TeeKey.CreateEc();
        var client = new KbsClient(http);
        await Handshake.SampleAsync(client, key);
        // No repository policy yet: the global one (the sample policy) releases both.
        Assert.Equal("acme secret", Encoding.UTF8.GetString(key.Decrypt(await client.GetResourceAsync("acme/key/a"))));

        // The tenant requires a policy sample evidence does not meet for its repository: it no longer gets acme's key.
        var never = "apiVersion: veil.dev/v1\nkind: AttestationPolicy\nmetadata: {name: never}\nsubmodules:\n  cpu:\n    accept: [sample]\n    rules:\n      - {name: svn-never, claim: sample.svn, matches: \"^999$\", trust: hardware}\n";
        Assert.Equal(HttpStatusCode.OK, (await AdminAuthorizationMatrixTests.SendAsync(broker, broker.AdminToken, HttpMethod.Post, "kbs/v0/attestation-policy",
            $$"""{"policy_id":"never","policy":"{{AdminAuthorizationMatrixTests.B64Url(never)}}"}""")).Status);
        var restrictive = "apiVersion: veil.dev/v1\nkind: ResourcePolicy\ndefault: {attestationPolicy: never}\n";
        Assert.Equal(HttpStatusCode.OK, (await AdminAuthorizationMatrixTests.SendAsync(broker, tenant, HttpMethod.Post, "veil/v0/resource-policy/acme", Policy(restrictive))).Status);
        var refused = await Assert.ThrowsAsync<KbsClientException>(() => client.GetResourceAsync("acme/key/a"));
        Assert.Equal(401, refused.Status);
        Assert.Contains("'never'", refused.Detail, StringComparison.Ordinal);
        Assert.Equal("globex secret", Encoding.UTF8.GetString(key.Decrypt(await client.GetResourceAsync("globex/key/a"))));

        // A repository's policy names only its own resources.
        var reaching = "apiVersion: veil.dev/v1\nkind: ResourcePolicy\nresources:\n  - {path: globex/key/a, attestationPolicy: never}\n";
        var (status, body) = await AdminAuthorizationMatrixTests.SendAsync(broker, tenant, HttpMethod.Post, "veil/v0/resource-policy/acme", Policy(reaching));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("outside repository 'acme'", body, StringComparison.Ordinal);
        var wildcard = "apiVersion: veil.dev/v1\nkind: ResourcePolicy\nresources:\n  - {path: '*/key/a', attestationPolicy: sample}\n";
        Assert.Equal(HttpStatusCode.BadRequest, (await AdminAuthorizationMatrixTests.SendAsync(broker, tenant, HttpMethod.Post, "veil/v0/resource-policy/acme", Policy(wildcard))).Status);

        // A repository policy cannot widen the global one: with the global set to 'never', the tenant's sample rule releases nothing.
        var open = "apiVersion: veil.dev/v1\nkind: ResourcePolicy\ndefault: {attestationPolicy: sample}\n";
        Assert.Equal(HttpStatusCode.OK, (await AdminAuthorizationMatrixTests.SendAsync(broker, tenant, HttpMethod.Post, "veil/v0/resource-policy/acme", Policy(open))).Status);
        Assert.Equal("acme secret", Encoding.UTF8.GetString(key.Decrypt(await client.GetResourceAsync("acme/key/a"))));
        Assert.Equal(HttpStatusCode.OK, (await AdminAuthorizationMatrixTests.SendAsync(broker, broker.AdminToken, HttpMethod.Post, "kbs/v0/resource-policy", Policy(restrictive))).Status);
        Assert.Equal(401, (await Assert.ThrowsAsync<KbsClientException>(() => client.GetResourceAsync("acme/key/a"))).Status);
    }

    [Fact]
    public async Task Role_binding_changes_between_starts_are_audited_once()
    {
        string dataDir;
        await using (var first = await TestBroker.StartAsync(configure: o => o with { AdminRoles = ["alice=admin", "bob=auditor"] }))
        {
            dataDir = first.DataDir;
        }

        await using (var second = await TestBroker.StartAsync(dataDir: dataDir, configure: o => o with { AdminRoles = ["alice=admin", "bob=policy-admin", "acme-ops=tenant-admin:acme"] }))
        {
        }

        await using var third = await TestBroker.StartAsync(dataDir: dataDir, configure: o => o with { AdminRoles = ["alice=admin", "bob=policy-admin", "acme-ops=tenant-admin:acme"] });
        var (_, audit) = await AdminAuthorizationMatrixTests.SendAsync(third, third.AdminToken, HttpMethod.Get, "veil/v0/audit");
        using var rows = System.Text.Json.JsonDocument.Parse(audit);
        var changes = rows.RootElement.EnumerateArray().Where(r => r.GetProperty("action").GetString() == "role-bindings").Select(r => r.GetProperty("reason").GetString()!).ToList();
        Assert.Equal(2, changes.Count);
        Assert.Contains("added acme-ops=tenant-admin:acme; changed bob: auditor -> policy-admin", changes[0], StringComparison.Ordinal);
        Assert.Contains("added alice=admin; added bob=auditor", changes[1], StringComparison.Ordinal);
    }
}
