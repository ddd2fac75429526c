using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Veil.Broker.Appraisal;
using Veil.Broker.Flow;
using Veil.Broker.Rcar;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;

namespace Veil.Broker.Tests.Units;

/// <summary>
/// The attest and release flows called directly (no HTTP): each way an attestation or a release ends is one outcome
/// case, asserted by type, so the endpoints' mapping and the flows' order of checks are tested apart.
/// </summary>
public sealed class AttestationFlowTests
{
    private const string Resource = "default/model/flow";

    [Fact]
    public async Task No_session_is_NoSession_before_the_body_is_read()
    {
        await using var broker = await TestBroker.StartAsync();
        var flow = broker.Services.GetRequiredService<AttestationFlow>();
        var bodyRead = false;
        var outcome = await flow.AttestAsync("no-such-session", _ =>
        {
            bodyRead = true;
            return Task.FromResult<byte[]?>([]);
        }, CancellationToken.None);

        var refused = Assert.IsType<AttestOutcome.NoSession>(outcome);
        Assert.Equal("InvalidSession", refused.Kind);
        Assert.False(bodyRead);
        Assert.IsType<AttestOutcome.NoSession>(await flow.AttestAsync(null, [], CancellationToken.None));
    }

    [Fact]
    public async Task An_oversized_body_is_TooLarge()
    {
        await using var broker = await TestBroker.StartAsync();
        var session = await NewSessionAsync(broker);
        var outcome = await broker.Services.GetRequiredService<AttestationFlow>().AttestAsync(session.Id, _ => Task.FromResult<byte[]?>(null), CancellationToken.None);
        Assert.Equal("PayloadTooLarge", Assert.IsType<AttestOutcome.TooLarge>(outcome).Kind);
    }

    [Fact]
    public async Task A_tee_key_the_broker_will_not_encrypt_to_is_Malformed_InvalidTeePubKey_and_a_broken_body_InvalidAttestation()
    {
        await using var broker = await TestBroker.StartAsync();
        var flow = broker.Services.GetRequiredService<AttestationFlow>();
        var session = await NewSessionAsync(broker);
        using var badKey = JsonDocument.Parse("""{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}""");
        var body = new KbsAttestation(new RuntimeData(session.Nonce, badKey.RootElement), new TeeEvidence(SampleAttester.Evidence(session.Nonce, badKey.RootElement), "")).ToUtf8();

        var outcome = Assert.IsType<AttestOutcome.Malformed>(await flow.AttestAsync(session.Id, body, CancellationToken.None));
        Assert.Equal("InvalidTeePubKey", outcome.Kind);
        Assert.Contains("runtime-data.tee-pubkey", outcome.Detail, StringComparison.Ordinal);

        var broken = Assert.IsType<AttestOutcome.Malformed>(await flow.AttestAsync(session.Id, "{\"runtime-data\":1}"u8.ToArray(), CancellationToken.None));
        Assert.Equal("InvalidAttestation", broken.Kind);
    }

    [Fact]
    public async Task A_replayed_or_foreign_nonce_is_NonceRefused()
    {
        await using var broker = await TestBroker.StartAsync();
        var flow = broker.Services.GetRequiredService<AttestationFlow>();
        using var key = TeeKey.CreateEc();
        var session = await NewSessionAsync(broker);
        var body = SampleBody(session.Nonce, key);
        Assert.IsType<AttestOutcome.Attested>(await flow.AttestAsync(session.Id, body, CancellationToken.None));

        // The same attestation again: the nonce was consumed by the first.
        var replay = Assert.IsType<AttestOutcome.NonceRefused>(await flow.AttestAsync(session.Id, body, CancellationToken.None));
        Assert.Equal("InvalidNonce", replay.Kind);

        // Another session's nonce (a stale challenge) in this session.
        var other = await NewSessionAsync(broker);
        var stale = await flow.AttestAsync(other.Id, SampleBody(session.Nonce, key), CancellationToken.None);
        Assert.IsType<AttestOutcome.NonceRefused>(stale);
    }

    [Fact]
    public async Task Evidence_not_bound_to_the_session_is_EvidenceRejected_AttestationFailed()
    {
        await using var broker = await TestBroker.StartAsync();
        var flow = broker.Services.GetRequiredService<AttestationFlow>();
        using var key = TeeKey.CreateEc();
        using var otherKey = TeeKey.CreateEc();
        var session = await NewSessionAsync(broker);
        // Report data bound to another key than the one presented: the verifier's binding check fails.
        var body = new KbsAttestation(new RuntimeData(session.Nonce, key.PublicJson), new TeeEvidence(SampleAttester.Evidence(session.Nonce, otherKey.PublicJson), "")).ToUtf8();

        var outcome = Assert.IsType<AttestOutcome.EvidenceRejected>(await flow.AttestAsync(session.Id, body, CancellationToken.None));
        Assert.Equal("AttestationFailed", outcome.Kind);
        Assert.Contains("report data mismatch", outcome.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sample_session_on_a_broker_without_allow_sample_is_TeeRefused()
    {
        await using var broker = await TestBroker.StartAsync(allowSample: false);
        using var key = TeeKey.CreateEc();
        // Created behind /auth's back (which refuses the sample TEE first): the flow checks the verifier again.
        var session = await NewSessionAsync(broker);
        var outcome = await broker.Services.GetRequiredService<AttestationFlow>().AttestAsync(session.Id, SampleBody(session.Nonce, key), CancellationToken.None);
        Assert.IsType<AttestOutcome.TeeRefused>(outcome);
    }

    [Fact]
    public async Task Success_is_Attested_with_a_token_whose_claims_read_back_typed_and_the_release_is_Released()
    {
        await using var broker = await TestBroker.StartAsync();
        var secret = Encoding.UTF8.GetBytes("flow-" + Guid.NewGuid().ToString("N"));
        await broker.PutResourceAsync(Resource, secret);
        using var key = TeeKey.CreateEc();
        var session = await NewSessionAsync(broker);

        var attested = Assert.IsType<AttestOutcome.Attested>(
            await broker.Services.GetRequiredService<AttestationFlow>().AttestAsync(session.Id, SampleBody(session.Nonce, key), CancellationToken.None));
        Assert.Equal(session.Id, attested.Session.Id);

        // The token's claims come back as the types the policy engine compares, without a claims-file round trip.
        var claims = await broker.Services.GetRequiredService<Keys.TokenService>().VerifyAsync(attested.Token);
        var read = TokenEvidence.Read(claims, out var error);
        Assert.Null(error);
        var cpu = Assert.Single(read!.Evidence.Submodules);
        Assert.Equal("sample", cpu.Tee);
        Assert.Equal("1", cpu.Claims["sample.svn"]);
        Assert.StartsWith("sha256:", read.EvidenceDigest, StringComparison.Ordinal);

        var released = Assert.IsType<ReleaseOutcome.Released>(await Release(broker, bearer: null, session.Id));
        Assert.Equal(secret, key.Decrypt(released.Jwe));
        Assert.IsType<ReleaseOutcome.Released>(await Release(broker, attested.Token, sessionId: null));
    }

    [Fact]
    public async Task A_resource_policy_refusal_is_PolicyDenied_with_explanations()
    {
        await using var broker = await TestBroker.StartAsync();
        await broker.PutResourceAsync(Resource, "never"u8.ToArray());
        await broker.Services.GetRequiredService<BrokerPolicies>().SetResourcePolicyAsync("""
            apiVersion: veil.dev/v1
            kind: ResourcePolicy
            default: {attestationPolicy: sample}
            resources:
              - path: default/model/flow
                attestationPolicy: sample
                require:
                  - {name: newer-svn, claim: sample.svn, equals: "2"}
            """, DateTimeOffset.UtcNow, CancellationToken.None);
        using var key = TeeKey.CreateEc();
        var session = await NewSessionAsync(broker);
        Assert.IsType<AttestOutcome.Attested>(await broker.Services.GetRequiredService<AttestationFlow>().AttestAsync(session.Id, SampleBody(session.Nonce, key), CancellationToken.None));

        var denied = Assert.IsType<ReleaseOutcome.PolicyDenied>(await Release(broker, bearer: null, session.Id));
        Assert.Equal("PolicyDeny", denied.Kind);
        Assert.Contains("newer-svn", denied.Detail, StringComparison.Ordinal);
        Assert.NotEmpty(denied.Explanations!);
    }

    [Fact]
    public async Task Release_refusals_before_and_after_the_token_are_typed()
    {
        await using var broker = await TestBroker.StartAsync();
        Assert.IsType<ReleaseOutcome.InvalidPath>(await broker.Services.GetRequiredService<ReleaseFlow>().ReleaseAsync("..", "x", "y", null, null, CancellationToken.None));
        Assert.IsType<ReleaseOutcome.NoToken>(await Release(broker, bearer: null, sessionId: "no-such-session"));
        var pending = await NewSessionAsync(broker);
        Assert.IsType<ReleaseOutcome.NoToken>(await Release(broker, bearer: null, pending.Id));
        Assert.IsType<ReleaseOutcome.TokenRejected>(await Release(broker, bearer: "not.a.token", sessionId: null));

        using var key = TeeKey.CreateEc();
        var session = await NewSessionAsync(broker);
        Assert.IsType<AttestOutcome.Attested>(await broker.Services.GetRequiredService<AttestationFlow>().AttestAsync(session.Id, SampleBody(session.Nonce, key), CancellationToken.None));
        Assert.IsType<ReleaseOutcome.NotFound>(await Release(broker, bearer: null, session.Id));
    }

    private static Task<ReleaseOutcome> Release(TestBroker broker, string? bearer, string? sessionId) =>
        broker.Services.GetRequiredService<ReleaseFlow>().ReleaseAsync("default", "model", "flow", bearer, sessionId, CancellationToken.None);

    private static Task<RcarSession> NewSessionAsync(TestBroker broker) =>
        broker.Services.GetRequiredService<SessionStore>().CreateAsync("sample", CancellationToken.None);

    private static byte[] SampleBody(string nonce, TeeKey key) =>
        new KbsAttestation(new RuntimeData(nonce, key.PublicJson), new TeeEvidence(SampleAttester.Evidence(nonce, key.PublicJson), "")).ToUtf8();
}
