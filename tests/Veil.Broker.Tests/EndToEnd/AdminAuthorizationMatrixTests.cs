using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// Every admin endpoint × every role × own/other tenant, with OIDC tokens from a local issuer on loopback and roles
/// bound in the broker's config: the allowed calls succeed (200), every other one is a 403 problem naming the subject.
/// Then what the allowed calls see: a tenant lists and audits only its repository; every audit row names its subject.
/// </summary>
public sealed class AdminAuthorizationMatrixTests
{
    private const string Own = "acme";
    private const string Other = "globex";

    internal static readonly string[] Bindings = ["alice=admin", "acme-ops=tenant-admin:acme", "carol=auditor", "pat=policy-admin"];

    private static readonly string[] Subjects = ["alice", "acme-ops", "carol", "pat", "stranger"];

    private const string OpenPolicy = "apiVersion: veil.dev/v1\nkind: ResourcePolicy\ndefault: {attestationPolicy: sample}\n";

    private const string AttestationPolicy = """
        apiVersion: veil.dev/v1
        kind: AttestationPolicy
        metadata: {name: matrix}
        submodules:
          cpu:
            accept: [sample]
            rules:
              - {name: svn-number, claim: sample.svn, matches: "^[0-9]+$", trust: hardware}
        """;

    private const string ReferenceValues = "apiVersion: veil.dev/v1\nkind: ReferenceValues\nsets:\n  matrix-svns:\n    - value: \"1\"\n      provenance: \"test\"\n      expires: 2100-01-01T00:00:00Z\n";

    private sealed record Call(string Name, HttpMethod Method, string Path, string? Body, Func<string, string, bool> Allowed);

    internal static string B64Url(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool Admin(string s) => s == "alice";

    private static bool Tenant(string s, string repo) => s == "acme-ops" && repo == Own;

    private static IEnumerable<Call> Calls(string repo) =>
    [
        new("put resource", HttpMethod.Post, $"kbs/v0/resource/{repo}/key/m", "value", (s, r) => Admin(s) || Tenant(s, r)),
        new("delete resource", HttpMethod.Delete, $"kbs/v0/resource/{repo}/key/d", null, (s, r) => Admin(s) || Tenant(s, r)),
        new("list resources", HttpMethod.Get, "veil/v0/resources", null, (s, _) => Admin(s) || s == "acme-ops"),
        new("set attestation policy", HttpMethod.Post, "kbs/v0/attestation-policy", $$"""{"policy_id":"matrix","policy":"{{B64Url(AttestationPolicy)}}"}""", (s, _) => Admin(s) || s == "pat"),
        new("add reference value", HttpMethod.Post, "kbs/v0/reference-value", ReferenceValues, (s, _) => Admin(s) || s == "pat"),
        new("set global resource policy", HttpMethod.Post, "kbs/v0/resource-policy", $$"""{"policy":"{{B64Url(OpenPolicy)}}"}""", (s, _) => Admin(s)),
        new("get global resource policy", HttpMethod.Get, "kbs/v0/resource-policy", null, (s, _) => Admin(s)),
        new("set repository resource policy", HttpMethod.Post, $"veil/v0/resource-policy/{repo}", $$"""{"policy":"{{B64Url(OpenPolicy)}}"}""", (s, r) => Admin(s) || Tenant(s, r)),
        new("get repository resource policy", HttpMethod.Get, $"veil/v0/resource-policy/{repo}", null, (s, r) => Admin(s) || Tenant(s, r)),
        new("read audit", HttpMethod.Get, "veil/v0/audit?limit=1000", null, (s, _) => Admin(s) || s is "carol" or "acme-ops"),
    ];

    internal static Task<TestBroker> StartAsync(OidcTestIssuer issuer, Func<BrokerOptions, BrokerOptions>? more = null) => TestBroker.StartAsync(configure: o =>
    {
        var configured = o with { AdminOidcIssuer = issuer.Issuer, AdminOidcAudience = OidcTestIssuer.Audience, AdminRoles = Bindings };
        return more?.Invoke(configured) ?? configured;
    });

    internal static async Task<(HttpStatusCode Status, string Body)> SendAsync(TestBroker broker, string token, HttpMethod method, string path, string? body = null)
    {
        using var http = broker.NewHttpClient();
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Every_admin_endpoint_for_every_role_and_tenant_is_allowed_or_refused_as_bound()
    {
        await using var issuer = await OidcTestIssuer.StartAsync();
        await using var broker = await StartAsync(issuer);
        var tokens = Subjects.ToDictionary(s => s, s => issuer.Mint(s));
        foreach (var repo in new[] { Own, Other })
        {
            await broker.PutResourceAsync($"{repo}/key/a", Encoding.UTF8.GetBytes(repo + "-a"));
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(broker, broker.AdminToken, HttpMethod.Post, $"veil/v0/resource-policy/{repo}", $$"""{"policy":"{{B64Url(OpenPolicy)}}"}""")).Status);
        }

        var checkedCalls = 0;
        foreach (var subject in Subjects)
        {
            foreach (var repo in new[] { Own, Other })
            {
                foreach (var call in Calls(repo))
                {
                    if (call.Method == HttpMethod.Delete)
                    {
                        await broker.PutResourceAsync($"{repo}/key/d", [1]);
                    }

                    var (status, body) = await SendAsync(broker, tokens[subject], call.Method, call.Path, call.Body);
                    var expected = call.Allowed(subject, repo) ? HttpStatusCode.OK : HttpStatusCode.Forbidden;
                    Assert.True(expected == status, $"{subject} → {call.Name} ({repo}): expected {(int)expected}, got {(int)status} {body}");
                    if (status == HttpStatusCode.Forbidden)
                    {
                        using var problem = JsonDocument.Parse(body);
                        Assert.Contains($"subject '{subject}'", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
                    }

                    checkedCalls++;
                }
            }
        }

        Assert.Equal(Subjects.Length * 2 * 10, checkedCalls);
    }

    [Fact]
    public async Task A_tenant_lists_and_audits_only_its_repository_and_every_audit_row_names_its_subject()
    {
        await using var issuer = await OidcTestIssuer.StartAsync();
        await using var broker = await StartAsync(issuer);
        var tenant = issuer.Mint("acme-ops");
        var admin = issuer.Mint("alice");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(broker, tenant, HttpMethod.Post, $"kbs/v0/resource/{Own}/key/t", "tenant value")).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(broker, admin, HttpMethod.Post, $"kbs/v0/resource/{Other}/key/x", "other value")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(broker, tenant, HttpMethod.Delete, $"kbs/v0/resource/{Other}/key/x")).Status);

        var (_, list) = await SendAsync(broker, tenant, HttpMethod.Get, "veil/v0/resources");
        using (var names = JsonDocument.Parse(list))
        {
            Assert.Equal([$"{Own}/key/t"], names.RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        }

        var (_, all) = await SendAsync(broker, admin, HttpMethod.Get, "veil/v0/resources");
        Assert.Contains($"{Other}/key/x", all, StringComparison.Ordinal);

        var (_, tenantAudit) = await SendAsync(broker, tenant, HttpMethod.Get, "veil/v0/audit");
        using (var rows = JsonDocument.Parse(tenantAudit))
        {
            var list2 = rows.RootElement.EnumerateArray().ToList();
            Assert.NotEmpty(list2);
            Assert.All(list2, r => Assert.Equal(Own, r.GetProperty("repository").GetString()));
            Assert.Contains(list2, r => r.GetProperty("action").GetString() == "put" && r.GetProperty("subject").GetString() == "acme-ops");
            // The refused delete on globex is globex's row, not acme's.
            Assert.DoesNotContain(list2, r => r.GetProperty("resource").GetString() == $"{Other}/key/x");
        }

        var (_, auditorAudit) = await SendAsync(broker, issuer.Mint("carol"), HttpMethod.Get, "veil/v0/audit?limit=1000");
        using (var rows = JsonDocument.Parse(auditorAudit))
        {
            var list3 = rows.RootElement.EnumerateArray().ToList();
            Assert.Contains(list3, r => r.GetProperty("action").GetString() == "put" && r.GetProperty("resource").GetString() == $"{Other}/key/x" && r.GetProperty("subject").GetString() == "alice");
            Assert.Contains(list3, r => r.GetProperty("outcome").GetString() == "denied" && r.GetProperty("subject").GetString() == "acme-ops" && r.GetProperty("repository").GetString() == Other);
            Assert.All(list3, r => Assert.False(string.IsNullOrEmpty(r.GetProperty("subject").GetString())));
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(broker, admin, HttpMethod.Get, "veil/v0/audit?limit=1001")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(broker, admin, HttpMethod.Get, "veil/v0/audit?limit=-1")).Status);
    }
}
