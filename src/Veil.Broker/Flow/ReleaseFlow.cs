using Veil.Abi.Tee;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;
using Veil.Broker.Appraisal;
using Veil.Broker.Audit;
using Veil.Broker.Endpoints;
using Veil.Broker.KeyWrapping;
using Veil.Broker.Keys;
using Veil.Broker.Metrics;
using Veil.Broker.Rcar;
using Veil.Broker.Secrets;
using Veil.Broker.Storage;
using Veil.Broker.Verification;
using Veil.Policy.Appraisal;
using Veil.Protocol;
using Veil.Protocol.Jose;

namespace Veil.Broker.Flow;

/// <summary>
/// The release half of RCAR without HTTP: token (bearer, or the attested session's), its attestation read as typed
/// claims (<see cref="TokenEvidence.Read"/>), the resource policy, the sealed value, the JWE to the token's key, audit.
/// Nothing is released unless every step says yes; a store fault propagates (the endpoint layer answers 503).
/// </summary>
internal sealed class ReleaseFlow(
    SessionStore sessions,
    TokenService tokens,
    BrokerPolicies policies,
    BrokerOptions options,
    IBrokerStore store,
    MasterKey masterKey,
    AuditLog audit,
    BrokerMetrics metrics)
{
    /// <summary>
    /// Releases <c>repository/type/tag</c> to the holder of <paramref name="bearerToken"/>, or, without one, to the
    /// attested session <paramref name="sessionId"/> names.
    /// </summary>
    public async Task<ReleaseOutcome> ReleaseAsync(string repository, string type, string tag, string? bearerToken, string? sessionId, CancellationToken ct)
    {
        if (ResourcePath.Validate(repository, type, tag, out var name) is { } pathError)
        {
            return new ReleaseOutcome.InvalidPath(pathError);
        }

        var request = new Request(name);
        var token = bearerToken;
        ECDiffieHellman? sessionKey = null;
        if (token is null)
        {
            var lookup = await sessions.FindAsync(sessionId, ct).ConfigureAwait(false);
            if (lookup.Session is not { } session)
            {
                return await DenyAsync(request, new ReleaseOutcome.NoToken(
                    "no attestation token: send 'Authorization: Bearer <token>' or the kbs-session-id cookie of an attested session (" + lookup.Refusal + ")"), ct).ConfigureAwait(false);
            }

            token = session.Token;
            if (token is null)
            {
                return await DenyAsync(request, new ReleaseOutcome.NoToken("session has not attested yet: call /kbs/v0/attest first"), ct).ConfigureAwait(false);
            }

            // The session's token was issued for the key imported at its attestation.
            sessionKey = session.TeeKey;
        }

        Protocol.Ear.EarClaims claims;
        try
        {
            claims = await tokens.VerifyAsync(token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SecurityTokenException or ProtocolFormatException or ArgumentException or JsonException)
        {
            return await DenyAsync(request, new ReleaseOutcome.TokenRejected(e is SecurityTokenException ? e.Message : "attestation token rejected: malformed"), ct).ConfigureAwait(false);
        }

        // From here the caller holds a token this broker signed: refusals are decisions, audited one by one.
        request.Attested = true;
        var attested = TokenEvidence.Read(claims, out var unreadable);
        request.EvidenceDigest = TokenEvidence.EvidenceDigest(claims);
        if (claims.Tee == TeeNames.Sample && !options.AllowSample)
        {
            return await DenyAsync(request, new ReleaseOutcome.PolicyDenied(
                "token is from the sample TEE, which this broker does not accept (it runs without --allow-sample)", null), ct).ConfigureAwait(false);
        }

        if (attested is null)
        {
            return await DenyAsync(request, new ReleaseOutcome.TokenRejected($"attestation token rejected: its claims cannot be read ({unreadable})"), ct).ConfigureAwait(false);
        }

        var (decision, _) = policies.Decide(name, attested.Evidence);
        if (!decision.Allowed)
        {
            var why = string.Join("; ", decision.Explanations.Select(e => $"{e} (rule {e.Rule}, {e.Source})"));
            return await DenyAsync(request, new ReleaseOutcome.PolicyDenied(
                $"resource policy denied the release of '{name}' under attestation policy '{decision.AttestationPolicy ?? "none"}': {why}", EarJson.Explanations(decision.Explanations)), ct).ConfigureAwait(false);
        }

        if (attested.TeePubKey is not { } keyNode)
        {
            return await DenyAsync(request, new ReleaseOutcome.NoTeeKey("token carries no runtime_data_claims.tee-pubkey"), ct).ConfigureAwait(false);
        }

        var sealedValue = await store.GetResourceAsync(name, ct).ConfigureAwait(false);
        if (sealedValue is null)
        {
            return await DenyAsync(request, new ReleaseOutcome.NotFound($"resource '{name}' does not exist"), ct).ConfigureAwait(false);
        }

        SecretBytes value;
        try
        {
            value = await masterKey.OpenAsync(sealedValue, name, ct).ConfigureAwait(false);
        }
        catch (KeyBackendUnavailableException e)
        {
            // Fail closed: without the key that wraps this row nothing is released, and no other key is tried.
            return await DenyAsync(request, new ReleaseOutcome.MasterKeyUnavailable($"resource '{name}' cannot be opened: {e.Message}"), ct).ConfigureAwait(false);
        }
        catch (CryptographicException)
        {
            // The row's tag, its data key's wrap or its format did not check out: a store someone edited or a broken
            // disk, never something to release or to answer with a stack trace. The operator restores the row.
            return await DenyAsync(request, new ReleaseOutcome.StoredValueUnreadable(
                $"resource '{name}' is stored but failed its integrity check (tampered or corrupted store); nothing was released"), ct).ConfigureAwait(false);
        }

        using var _ = value;
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
            return await DenyAsync(request, new ReleaseOutcome.BadTeeKey(
                "the token's tee-pubkey cannot be encrypted to" + (e is ProtocolFormatException p ? ": " + p.Message : "") + "; attest again with a valid key"), ct).ConfigureAwait(false);
        }

        metrics.Resource(ResourceOutcome.Released);
        await audit.RecordAsync(new AuditEntry(default, "tee:" + (TeeNames.Canonical(claims.Tee) ?? "?"), "release", name, request.EvidenceDigest, AuditLog.Allowed,
            $"released under attestation policy '{decision.AttestationPolicy}'", AuditKind.Release, Repository: repository), ct).ConfigureAwait(false);
        return new ReleaseOutcome.Released(jwe);
    }

    private async Task<ReleaseOutcome> DenyAsync(Request request, ReleaseOutcome.Refused refused, CancellationToken ct)
    {
        metrics.Resource(ResourceOutcome.Denied);
        // Before the token verified, the caller proved nothing: such refusals are aggregated past a budget.
        await audit.RecordAsync(new AuditEntry(default, "client", "release", request.Name, request.EvidenceDigest, AuditLog.Denied, refused.Detail,
            request.Attested ? AuditKind.Decision : AuditKind.Unauthenticated, Repository: TenantResourcePolicies.RepositoryOf(request.Name)), ct).ConfigureAwait(false);
        return refused;
    }

    /// <summary>What the audit row of this request says: the resource, whether a token verified, and its evidence digest.</summary>
    private sealed class Request(string name)
    {
        public string Name { get; } = name;

        public bool Attested { get; set; }

        public string? EvidenceDigest { get; set; }
    }
}
