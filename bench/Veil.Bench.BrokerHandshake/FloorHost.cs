using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Veil.Attestation.Snp;
using Veil.Broker.Audit;
using Veil.Broker.Storage;
using Veil.Protocol.Jose;

namespace Veil.Bench.BrokerHandshake;

/// <summary>
/// The floor of a handshake on this stack, to tell what Veil's broker adds from what any ASP.NET Core broker pays:
/// the same three exchanges the load generator drives (cookie session, nonce, JSON bodies), with only the work no
/// broker can skip — parse the attestation JSON, one P-384 verify of the report (VCEK key imported once: the real
/// broker caches the chain too), an ES256 token signed at /attest and verified at /resource, the tee key imported
/// with its point check and a JWE (ECDH-ES+A256KW, A256GCM) to it. No store, no audit record, no policy, no claims:
/// not a broker, a lower bound.
/// Two optional parts tell how much of the gap is work the broker cannot skip: <c>--audit DIR</c> records the same
/// two durable audit rows per handshake through the broker's own AuditLog and SQLite store, and <c>--decode</c>
/// decodes the posted evidence (Trustee SNP JSON, its certificates and the report) as the broker's verifier must.
/// </summary>
internal static class FloorHost
{
    public static async Task<int> RunAsync(string evidencePath, string[] options)
    {
        var auditDir = Array.IndexOf(options, "--audit") is var ai and >= 0 ? options[ai + 1] : null;
        var decode = options.Contains("--decode");
        var store = auditDir is null ? null : await SqliteBrokerStore.OpenAsync(auditDir, CancellationToken.None);
        await using var audit = store is null ? null : new AuditLog(store, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<AuditLog>.Instance);
        var evidenceJson = File.ReadAllBytes(evidencePath);
        var (reportBytes, certificates) = TrusteeSnpEvidence.Parse(evidenceJson);
        var report = SnpReport.Parse(reportBytes);
        using var vcek = certificates[0].GetECDsaPublicKey() ?? throw new InvalidOperationException("no VCEK key");
        var reportSignature = CryptoCeiling.ReportSignature(report);
        using var tokenKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var sessions = new ConcurrentDictionary<string, (byte[] Nonce, string? Token, Jwk? TeeKey, ECDiffieHellman? Imported)>();
        var secret = Encoding.UTF8.GetBytes("bench-model-key-0123456789abcdef");

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();

        app.MapPost("/kbs/v0/auth", async (HttpContext ctx) =>
        {
            using var request = await JsonDocument.ParseAsync(ctx.Request.Body);
            var nonce = RandomNumberGenerator.GetBytes(32);
            var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            sessions[id] = (nonce, null, null, null);
            ctx.Response.Cookies.Append("kbs-session-id", id, new CookieOptions { HttpOnly = true, MaxAge = TimeSpan.FromMinutes(5) });
            return Results.Json(new Dictionary<string, object> { ["nonce"] = Convert.ToBase64String(nonce), ["extra-params"] = new Dictionary<string, string>() });
        });

        app.MapPost("/kbs/v0/attest", async (HttpContext ctx) =>
        {
            if (ctx.Request.Cookies["kbs-session-id"] is not { } id || !sessions.TryGetValue(id, out var session))
            {
                return Results.Unauthorized();
            }

            using var body = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(body);
            using var doc = JsonDocument.Parse(body.GetBuffer().AsMemory(0, (int)body.Length));
            var digest = audit is null ? null : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body.GetBuffer().AsSpan(0, (int)body.Length)));
            if (decode)
            {
                var primary = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(doc.RootElement.GetProperty("tee-evidence").GetProperty("primary_evidence"));
                var (decodedReport, decodedCertificates) = TrusteeSnpEvidence.Parse(primary);
                _ = SnpReport.Parse(decodedReport);
                foreach (var c in decodedCertificates)
                {
                    c.Dispose();
                }
            }

            var runtime = doc.RootElement.GetProperty("runtime-data");
            var teeKey = Jwk.Parse(runtime.GetProperty("tee-pubkey"), "tee-pubkey", checkPoint: false);
            var imported = teeKey.CreateEcdh(); // checks the point; kept for the JWE, as the broker does
            if (runtime.GetProperty("nonce").GetString() != Convert.ToBase64String(session.Nonce))
            {
                return Results.Unauthorized();
            }

            // The report was decoded once at start: a lower bound leaves out even the evidence's own decoding.
            if (!vcek.VerifyData(report.SignedBytes, reportSignature, HashAlgorithmName.SHA384))
            {
                return Results.Unauthorized();
            }

            var header = Base64UrlText.Encode("{\"alg\":\"ES256\",\"typ\":\"JWT\"}"u8);
            var payload = Base64UrlText.Encode(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
            {
                ["eat_profile"] = "floor", ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), ["exp"] = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds(),
                ["submods"] = new Dictionary<string, object> { ["cpu0"] = new Dictionary<string, object> { ["ear.status"] = "affirming" } },
            }));
            var signingInput = header + "." + payload;
            var token = signingInput + "." + Base64UrlText.Encode(tokenKey.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256));
            if (audit is not null)
            {
                await audit.RecordAsync(AuditKind.Decision, "tee:snp", "attest", null, digest, AuditLog.Allowed, "evidence verified; appraised with floor: affirming", CancellationToken.None);
            }

            sessions[id] = (session.Nonce, token, teeKey, imported);
            return Results.Json(new Dictionary<string, string> { ["token"] = token });
        });

        app.MapGet("/kbs/v0/resource/{repo}/{type}/{tag}", async (HttpContext ctx, string repo, string type, string tag) =>
        {
            if (ctx.Request.Cookies["kbs-session-id"] is not { } id || !sessions.TryGetValue(id, out var session) || session.Token is null || session.TeeKey is null || session.Imported is null)
            {
                return Results.Unauthorized();
            }

            var lastDot = session.Token.LastIndexOf('.');
            var signature = Base64UrlText.Decode(session.Token[(lastDot + 1)..], "token.signature");
            if (!tokenKey.VerifyData(Encoding.ASCII.GetBytes(session.Token[..lastDot]), signature, HashAlgorithmName.SHA256))
            {
                return Results.Unauthorized();
            }

            var jwe = Jwe.Encrypt(secret, session.TeeKey, session.Imported);
            sessions.TryRemove(id, out _);
            session.Imported.Dispose();
            if (audit is not null)
            {
                await audit.RecordAsync(new AuditEntry(default, "tee:snp", "release", $"{repo}/{type}/{tag}", null, AuditLog.Allowed,
                    "released under attestation policy 'floor'", AuditKind.Release, Repository: repo), CancellationToken.None);
            }

            return Results.Bytes(jwe.ToUtf8(), "application/json");
        });

        await app.StartAsync();
        Console.WriteLine("url=" + app.Urls.First() + "/");
        Console.Out.Flush();
        await Console.In.ReadToEndAsync();
        await app.StopAsync();
        return 0;
    }
}
