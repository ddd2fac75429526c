using System.Security.Cryptography;
using Polly;
using Veil.Protocol.Client;
using Veil.Protocol.Messages;
using Veil.Sealing;

namespace Veil.Guest;

/// <summary>
/// Gets the key-encryption key from a broker speaking KBS protocol 0.4.0: auth (tee) → challenge → evidence bound to
/// the nonce and a fresh ephemeral key (device evidence first, chained into the CPU report) → attest → GET the resource at the sealed header's key id as JWE, decrypted
/// with the ephemeral key. Network failures and 5xx/429 answers are retried with exponential backoff, each attempt a
/// fresh handshake; refusals (4xx) are not retried and surface with the broker's own explanation.
/// </summary>
public sealed class BrokerKeyProvider : IKeyProvider
{
    private readonly HttpClient http;
    private readonly IEvidenceProvider evidence;
    private readonly ResiliencePipeline retry;

    public BrokerKeyProvider(HttpClient http, IEvidenceProvider evidence, int maxRetries = 3, TimeSpan? firstDelay = null)
    {
        this.http = http;
        this.evidence = evidence;
        retry = GuestRetries.Build(maxRetries, firstDelay ?? TimeSpan.FromMilliseconds(500), p => p.Handle<KbsClientException>(e => e.Status >= 500 || e.Status == 429));
    }

    /// <summary>Devices whose evidence goes into <c>additional_evidence</c> (e.g. the NVIDIA GPUs); none by default.</summary>
    public IReadOnlyList<IDeviceEvidenceProvider> Devices { get; init; } = [];

    /// <summary>How many handshakes were started (for diagnostics and tests of the retry policy).</summary>
    public int Attempts { get; private set; }

    public async Task<KeyEncryptionKey> GetKeyAsync(string keyId, CancellationToken cancellationToken)
    {
        var key = await retry.ExecuteAsync(ct => new ValueTask<KeyEncryptionKey>(HandshakeAsync(keyId, ct)), cancellationToken).ConfigureAwait(false);
        try
        {
            // Only now did the broker accept the evidence: GPUs become ready for work after this, never on a refusal.
            evidence.OnKeyReleased();
            foreach (var device in Devices)
            {
                device.OnKeyReleased();
            }
        }
        catch
        {
            key.Dispose();
            throw;
        }

        return key;
    }

    private async Task<KeyEncryptionKey> HandshakeAsync(string keyId, CancellationToken ct)
    {
        Attempts++;
        var client = new KbsClient(http);
        using var teeKey = TeeKey.CreateEc();
        var challenge = await client.AuthAsync(evidence.Tee, ct).ConfigureAwait(false);
        var teeEvidence = CompositeEvidence.Collect(evidence, Devices, challenge.Nonce, teeKey.PublicJson);
        await client.AttestAsync(new KbsAttestation(new RuntimeData(challenge.Nonce, teeKey.PublicJson), teeEvidence), ct).ConfigureAwait(false);
        var value = teeKey.Decrypt(await client.GetResourceAsync(keyId, ct: ct).ConfigureAwait(false));
        try
        {
            if (value.Length != KeyEncryptionKey.Size)
            {
                throw new KbsClientException(200, "InvalidKey", $"resource '{keyId}' holds {value.Length} bytes; a key-encryption key is {KeyEncryptionKey.Size}");
            }

            return new KeyEncryptionKey(value);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(value);
        }
    }
}
