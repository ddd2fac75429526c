using System.Net;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// The same identities on PostgreSQL, across two replicas: the subject lands in the shared audit table, a tenant's
/// audit read is filtered there, and a repository's resource policy set on one replica is in effect on the other.
/// </summary>
public sealed class AdminIdentityPostgresTests
{
    [Fact]
    public async Task Subjects_tenant_audit_and_repository_policies_work_across_postgres_replicas()
    {
        await using var issuer = await OidcTestIssuer.StartAsync();
        await using var db = await PostgresTestServer.CreateDatabaseAsync();
        var replicas = await Replicas.StartAsync(2, db, configure: o => o with
        {
            AdminOidcIssuer = issuer.Issuer, AdminOidcAudience = OidcTestIssuer.Audience, AdminRoles = AdminAuthorizationMatrixTests.Bindings,
        });
        try
        {
            var tenant = issuer.Mint("acme-ops");
            Assert.Equal(HttpStatusCode.OK, (await AdminAuthorizationMatrixTests.SendAsync(replicas[0], tenant, HttpMethod.Post, "kbs/v0/resource/acme/key/pg", "v")).Status);
            Assert.Equal(HttpStatusCode.OK, (await AdminAuthorizationMatrixTests.SendAsync(replicas[0], issuer.Mint("alice"), HttpMethod.Post, "kbs/v0/resource/globex/key/pg", "v")).Status);
            Assert.Equal("acme-ops", await db.ScalarAsync<string>("SELECT subject FROM audit WHERE action = 'put' AND resource = 'acme/key/pg';"));
            Assert.Equal("acme", await db.ScalarAsync<string>("SELECT repository FROM audit WHERE action = 'put' AND resource = 'acme/key/pg';"));

            var (_, rows) = await AdminAuthorizationMatrixTests.SendAsync(replicas[1], tenant, HttpMethod.Get, "veil/v0/audit");
            Assert.Contains("acme/key/pg", rows, StringComparison.Ordinal);
            Assert.DoesNotContain("globex", rows, StringComparison.Ordinal);

            var policy = "apiVersion: veil.dev/v1\nkind: ResourcePolicy\ndefault: {attestationPolicy: sample}\n";
            Assert.Equal(HttpStatusCode.OK, (await AdminAuthorizationMatrixTests.SendAsync(replicas[0], tenant, HttpMethod.Post, "veil/v0/resource-policy/acme",
                $$"""{"policy":"{{AdminAuthorizationMatrixTests.B64Url(policy)}}"}""")).Status);
            var deadline = DateTime.UtcNow.AddSeconds(15);
            HttpStatusCode status;
            while ((status = (await AdminAuthorizationMatrixTests.SendAsync(replicas[1], tenant, HttpMethod.Get, "veil/v0/resource-policy/acme")).Status) != HttpStatusCode.OK && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            Assert.Equal(HttpStatusCode.OK, status);
        }
        finally
        {
            foreach (var r in replicas)
            {
                await r.DisposeAsync();
            }
        }
    }
}
