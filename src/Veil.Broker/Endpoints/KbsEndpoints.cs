using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.IdentityModel.Tokens;
using Veil.Attestation;
using Veil.Broker.Appraisal;
using Veil.Broker.Audit;
using Veil.Broker.Keys;
using Veil.Broker.Limits;
using Veil.Broker.Metrics;
using Veil.Broker.Problems;
using Veil.Broker.Rcar;
using Veil.Broker.Secrets;
using Veil.Broker.Storage;
using Veil.Broker.Verification;
using Veil.Policy;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Protocol;
using Veil.Protocol.Ear;
using Veil.Protocol.Jose;
using Veil.Protocol.Messages;

namespace Veil.Broker.Endpoints;

/// <summary>The RCAR endpoints of KBS protocol 0.4.0: auth, attest, resource.</summary>
internal static class KbsEndpoints
{
    public const string CookieName = "kbs-session-id";

    private const int MaxInlineAdditionalEvidence = 4096;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/kbs/v0/auth", AuthAsync).RequireRateLimiting(RateLimits.AuthPolicy);
        app.MapPost("/kbs/v0/attest", AttestAsync).RequireRateLimiting(RateLimits.AttestPolicy);
        app.MapGet("/kbs/v0/resource/{repository}/{type}/{tag}", GetResourceAsync).RequireRateLimiting(RateLimits.ResourcePolicy);
    }

    private static async Task<IResult> AuthAsync(HttpContext http, SessionStore sessions, EvidenceVerifiers verifiers, BrokerMetrics metrics, TimeProvider time)
    {
        var body = await HttpBodies.ReadAsync(http.Request, HttpBodies.AuthMaxBytes, http.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            return KbsProblem.Create(StatusCodes.Status413PayloadTooLarge, "PayloadTooLarge", $"auth request body exceeds {HttpBodies.AuthMaxBytes} bytes");
        }

        KbsRequest request;
        try
        {
            request = KbsRequest.Parse(body);
        }
        catch (ProtocolFormatException e)
        {
            return KbsProblem.BadRequest("InvalidRequest", "request " + e.Message);
        }

        if (request.Version != KbsRequest.ProtocolVersion)
        {
            return KbsProblem.Unauthorized("ProtocolVersion",
                $"KBS Client Protocol Version Mismatch: client speaks '{CallerText.Echo(request.Version)}', this broker speaks '{KbsRequest.ProtocolVersion}'");
        }

        if (verifiers.Check(request.Tee) is { } refusal)
        {
            metrics.Attestation(request.Tee, AttestationOutcome.Refused);
            return KbsProblem.Unauthorized(refusal.Kind, refusal.Detail);
        }

        // The session keeps the broker's own instance of the name, not the caller's string.
        var (session, capped) = await sessions.TryCreateAsync(TeeNames.Canonical(request.Tee)!, ClientKey.Of(http), http.RequestAborted).ConfigureAwait(false);
        metrics.SessionsHeld(sessions.Limits.Count);
        if (session is null)
        {
            metrics.SessionRefused(capped!.Reason);
            return KbsProblem.TooManyRequests("TooManySessions", capped.Detail, capped.RetryAfter);
        }

        SetCookie(http, session, time);
        return Results.Bytes(KbsChallenge.Create(session.Nonce).ToUtf8(), "application/json");
    }

    private static async Task<IResult> AttestAsync(
        HttpContext http,
        SessionStore sessions,
        EvidenceVerifiers verifiers,
        IReportDataBindingService binding,
        BrokerPolicies policies,
        DeviceEvidence devices,
        TokenService tokens,
        AuditLog audit,
        BrokerMetrics metrics,
        TimeProvider time)
    {
        var ct = http.RequestAborted;
        var lookup = await sessions.FindAsync(http.Request.Cookies[CookieName], ct).ConfigureAwait(false);
        if (lookup.Session is not { } session)
        {
            return KbsProblem.Unauthorized("InvalidSession", lookup.Refusal!);
        }

        var body = await HttpBodies.ReadAsync(http.Request, ct).ConfigureAwait(false);
        if (body is null)
        {
            return KbsProblem.Create(StatusCodes.Status413PayloadTooLarge, "PayloadTooLarge", $"attestation body exceeds {HttpBodies.MaxBytes} bytes");
        }

        var evidenceDigest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
        var actor = "tee:" + session.Tee;
        KbsAttestation attestation;
        Jwk teeKey;
        System.Security.Cryptography.ECDiffieHellman? importedKey;
        try
        {
            attestation = KbsAttestation.Parse(body);
            teeKey = Jwk.Parse(attestation.RuntimeData.TeePubKey, "runtime-data.tee-pubkey", checkPoint: false);
            Jwe.KeyManagementFor(teeKey);
            // The import checks that the point lies on the curve; the session keeps it for the resource's JWE.
            importedKey = teeKey.Kty == "EC" ? teeKey.CreateEcdh("runtime-data.tee-pubkey") : null;
        }
        catch (ProtocolFormatException e)
        {
            await audit.RecordAsync(AuditKind.Unauthenticated, actor, "attest", null, evidenceDigest, AuditLog.Denied, "malformed attestation: " + e.Message, ct).ConfigureAwait(false);
            // A key the broker will not encrypt to has its own name, so that a client knows to make another.
            var kind = e.Field.StartsWith("runtime-data.tee-pubkey", StringComparison.Ordinal) ? "InvalidTeePubKey" : "InvalidAttestation";
            return KbsProblem.BadRequest(kind, "attestation " + e.Message);
        }

        async Task<IResult> Deny(string kind, string detail)
        {
            metrics.Attestation(session.Tee, AttestationOutcome.Denied);
            await audit.RecordAsync(AuditKind.Unauthenticated, actor, "attest", null, evidenceDigest, AuditLog.Denied, detail, ct).ConfigureAwait(false);
            return KbsProblem.Unauthorized(kind, detail);
        }

        if (await sessions.ConsumeNonceAsync(session, attestation.RuntimeData.Nonce, ct).ConfigureAwait(false) is { } nonceRefusal)
        {
            return await Deny("InvalidNonce", nonceRefusal).ConfigureAwait(false);
        }

        if (verifiers.Check(session.Tee) is { } refusal)
        {
            return await Deny(refusal.Kind, refusal.Detail).ConfigureAwait(false);
        }

        var additional = attestation.TeeEvidence.AdditionalEvidence ?? "";

        var expected = binding.ExpectedReportData(session.Tee, attestation.RuntimeData, additional);
        VerificationResult result;
        try
        {
            result = await verifiers.Get(session.Tee).VerifyAsync(attestation.TeeEvidence.PrimaryEvidence, expected, ct).ConfigureAwait(false);
        }
        catch (EvidenceFormatException e)
        {
            return await Deny("EvidenceInvalid", $"{session.Tee} evidence is malformed: {e.Message}").ConfigureAwait(false);
        }

        if (!result.Verified)
        {
            return await Deny("AttestationFailed", Explain(result)).ConfigureAwait(false);
        }

        var evidence = new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, session.Tee, result.Claims)]);
        if (attestation.InitData is { } initData)
        {
            if (initData.Format != "toml")
            {
                return await Deny("InvalidInitData", $"init-data.format: '{CallerText.Echo(initData.Format)}' is not supported (toml)").ConfigureAwait(false);
            }

            try
            {
                evidence = InitDataBinding.Bind(evidence, System.Text.Encoding.UTF8.GetBytes(initData.Body));
            }
            catch (InitDataException e)
            {
                return await Deny("InvalidInitData", e.Message).ConfigureAwait(false);
            }

            if (evidence.Submodules[0] is { Verified: false } unbound)
            {
                return await Deny("InitDataMismatch", "init-data is not the one the TEE was launched with: " + string.Join("; ", unbound.Failures ?? [])).ConfigureAwait(false);
            }
        }

        var deviceOutcome = await devices.VerifyAsync(additional, attestation.RuntimeData, binding, ct).ConfigureAwait(false);
        if (deviceOutcome.Refusal is { } deviceRefusal)
        {
            return await Deny(deviceRefusal.Kind, deviceRefusal.Detail).ConfigureAwait(false);
        }

        evidence = evidence with { Submodules = [.. evidence.Submodules, .. deviceOutcome.Devices.Select(d => d.Evidence)] };
        var annotated = new JsonObject
        {
            [session.Tee] = ClaimsJson.From(result),
            ["report_data"] = Convert.ToHexStringLower(expected.Span),
            ["runtime_data_claims"] = new JsonObject
            {
                ["nonce"] = attestation.RuntimeData.Nonce,
                ["tee-pubkey"] = ClaimsJson.Node(attestation.RuntimeData.TeePubKey),
                // Device evidence (certificate chains, reports) can be hundreds of KB for 8 GPUs: a token carrying it
                // would exceed HTTP header limits as a bearer token (Trustee issue #1563). Large strings go by digest.
                ["additional-evidence"] = additional.Length <= MaxInlineAdditionalEvidence ? additional : null,
                ["additional-evidence-sha384"] = Convert.ToHexStringLower(SHA384.HashData(System.Text.Encoding.UTF8.GetBytes(additional))),
            },
            ["veil.tee"] = session.Tee,
            ["veil.evidence_digest"] = evidenceDigest,
        };
        if (evidence.InitData is { } initClaims)
        {
            var o = new JsonObject();
            foreach (var (k, v) in initClaims)
            {
                o[k] = v;
            }

            annotated[TokenEvidence.InitDataClaims] = o;
        }

        var appraisal = policies.Appraise(evidence);
        var annotations = deviceOutcome.Devices.ToDictionary(d => d.Name, d => d.Annotated, StringComparer.Ordinal);
        annotations["cpu0"] = annotated;
        var token = tokens.Issue(TokenEvidence.Submodules(appraisal, annotations));
        var status = AppraisalResult.StatusName(appraisal.Status);
        metrics.Attestation(session.Tee, AttestationOutcome.Verified);
        // Audited before the session holds the token: a session never carries an attestation the audit lacks.
        await audit.RecordAsync(AuditKind.Decision, actor, "attest", null, evidenceDigest, AuditLog.Allowed,
            $"evidence verified; appraised with {appraisal.PolicyId}: {status}" + (appraisal.Explanations.Count == 0 ? "" : "; " + string.Join("; ", appraisal.Explanations)), ct).ConfigureAwait(false);
        if (await sessions.CompleteAttestationAsync(session, token, importedKey, ct).ConfigureAwait(false) is { } completeRefusal)
        {
            return KbsProblem.Unauthorized("InvalidSession", completeRefusal);
        }

        SetCookie(http, session, time);
        return Results.Bytes(AttestResponse.Serialize(token), "application/json");
    }

    private static async Task<IResult> GetResourceAsync(
        string repository,
        string type,
        string tag,
        HttpContext http,
        SessionStore sessions,
        TokenService tokens,
        BrokerPolicies policies,
        BrokerOptions options,
        IBrokerStore store,
        MasterKey masterKey,
        AuditLog audit,
        BrokerMetrics metrics)
    {
        var ct = http.RequestAborted;
        if (ResourcePath.Validate(repository, type, tag, out var name) is { } pathError)
        {
            return KbsProblem.BadRequest("InvalidResourcePath", pathError);
        }

        var attested = false;
        async Task<IResult> Deny(string kind, string detail, string? evidence, int status = StatusCodes.Status401Unauthorized, IReadOnlyDictionary<string, object>? extensions = null)
        {
            metrics.Resource(ResourceOutcome.Denied);
            // Before the token verified, the caller proved nothing: such refusals are aggregated past a budget.
            await audit.RecordAsync(attested ? AuditKind.Decision : AuditKind.Unauthenticated, "client", "release", name, evidence, AuditLog.Denied, detail, ct).ConfigureAwait(false);
            return KbsProblem.Create(status, kind, detail, extensions);
        }

        var token = HttpBodies.BearerToken(http.Request);
        System.Security.Cryptography.ECDiffieHellman? sessionKey = null;
        if (token is null)
        {
            var lookup = await sessions.FindAsync(http.Request.Cookies[CookieName], ct).ConfigureAwait(false);
            if (lookup.Session is not { } session)
            {
                return await Deny("TokenNotFound", "no attestation token: send 'Authorization: Bearer <token>' or the kbs-session-id cookie of an attested session (" + lookup.Refusal + ")", null).ConfigureAwait(false);
            }

            token = session.Token;
            if (token is null)
            {
                return await Deny("TokenNotFound", "session has not attested yet: call /kbs/v0/attest first", null).ConfigureAwait(false);
            }

            // The session's token was issued for the key imported at its attestation.
            sessionKey = session.TeeKey;
        }

        EarClaims claims;
        try
        {
            claims = await tokens.VerifyAsync(token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SecurityTokenException or ProtocolFormatException or ArgumentException or JsonException)
        {
            return await Deny("TokenVerificationFailed", e is SecurityTokenException ? e.Message : "attestation token rejected: malformed", null).ConfigureAwait(false);
        }

        attested = true;
        var evidenceDigest = claims.Payload["submods"]?["cpu0"]?["ear.veraison.annotated-evidence"]?["veil.evidence_digest"]?.GetValue<string>();
        if (claims.Tee == TeeNames.Sample && !options.AllowSample)
        {
            return await Deny("PolicyDeny", "token is from the sample TEE, which this broker does not accept (it runs without --allow-sample)", evidenceDigest).ConfigureAwait(false);
        }

        EvidenceSet evidence;
        try
        {
            evidence = TokenEvidence.FromToken(claims);
        }
        catch (PolicyLoadException)
        {
            return await Deny("TokenVerificationFailed", "attestation token rejected: its claims cannot be read", evidenceDigest).ConfigureAwait(false);
        }

        var (decision, _) = policies.Decide(name, evidence);
        if (!decision.Allowed)
        {
            var why = string.Join("; ", decision.Explanations.Select(e => $"{e} (rule {e.Rule}, {e.Source})"));
            return await Deny("PolicyDeny", $"resource policy denied the release of '{name}' under attestation policy '{decision.AttestationPolicy ?? "none"}': {why}", evidenceDigest,
                extensions: new Dictionary<string, object> { ["explanations"] = EarJson.Explanations(decision.Explanations) }).ConfigureAwait(false);
        }

        if (claims.TeePubKey is not { } keyNode)
        {
            return await Deny("TeePubKeyNotFound", "token carries no runtime_data_claims.tee-pubkey", evidenceDigest).ConfigureAwait(false);
        }

        var sealedValue = await store.GetResourceAsync(name, ct).ConfigureAwait(false);
        if (sealedValue is null)
        {
            return await Deny("ResourceNotFound", $"resource '{name}' does not exist", evidenceDigest, StatusCodes.Status404NotFound).ConfigureAwait(false);
        }

        using var value = masterKey.Open(sealedValue, name);
        using var keyDoc = JsonDocument.Parse(keyNode.ToJsonString());
        FlattenedJwe jwe;
        try
        {
            // The key was validated at attest time and is signed into the token; the parse re-checks it (a token from
            // before a rule changed) and Encrypt's import re-checks the point.
            jwe = Jwe.Encrypt(value.Span, Jwk.Parse(keyDoc.RootElement, "token.tee-pubkey", checkPoint: false), sessionKey);
        }
        catch (Exception e) when (e is ProtocolFormatException or CryptographicException)
        {
            return await Deny("InvalidTeePubKey", "the token's tee-pubkey cannot be encrypted to" + (e is ProtocolFormatException p ? ": " + p.Message : "") + "; attest again with a valid key",
                evidenceDigest, StatusCodes.Status400BadRequest).ConfigureAwait(false);
        }

        metrics.Resource(ResourceOutcome.Released);
        await audit.RecordAsync(AuditKind.Release, "tee:" + (TeeNames.Canonical(claims.Tee) ?? "?"), "release", name, evidenceDigest, AuditLog.Allowed, $"released under attestation policy '{decision.AttestationPolicy}'", ct).ConfigureAwait(false);
        return Results.Bytes(jwe.ToUtf8(), "application/json");
    }

    private static string Explain(VerificationResult result)
    {
        var reportData = result.Failures.FirstOrDefault(f => f.Check.EndsWith("report_data", StringComparison.Ordinal));
        var others = result.Failures.Where(f => !ReferenceEquals(f, reportData)).Select(f => f.ToString()).ToList();
        var text = reportData is null
            ? $"{result.Tee} evidence did not verify"
            : $"report data mismatch: the evidence is not bound to this session's nonce and tee-pubkey (expected {reportData.Expected}, evidence has {reportData.Actual})";
        return others.Count == 0 ? text : text + "; also failed: " + string.Join("; ", others);
    }

    /// <summary>
    /// Max-Age rather than Expires: the client's clock need not agree with the broker's (the session's expiry is
    /// enforced by the broker either way).
    /// </summary>
    private static void SetCookie(HttpContext http, RcarSession session, TimeProvider time) =>
        http.Response.Cookies.Append(CookieName, session.Id, new CookieOptions
        {
            MaxAge = session.Expires - time.GetUtcNow() is { Ticks: > 0 } left ? left : TimeSpan.Zero,
            HttpOnly = true,
            Secure = http.Request.IsHttps,
            Path = "/kbs/v0",
            SameSite = SameSiteMode.Strict,
        });
}
