using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Veil.Guest;
using Veil.Protocol;
using Veil.Protocol.AttestedTls;

namespace Veil.Gateway.Evidence;

/// <summary>What the attestation endpoint answers: a document, or a refusal with its status and reason.</summary>
internal abstract record AttestationAnswer
{
    public sealed record Document(byte[] Json) : AttestationAnswer;

    public sealed record Refused(int Status, string Title, string Detail) : AttestationAnswer;
}

/// <summary>
/// The flow behind <c>GET /.well-known/veil/attestation</c>: validate the nonce, bound how many reports are made at once
/// (each one is a kernel round trip, and a GPU report takes the GPU), collect and serialise. No per-nonce state is
/// kept: freshness is checked by the client that chose the nonce.
/// </summary>
internal sealed class AttestationService(GatewayEvidence evidence, byte[] spkiSha256, int maxConcurrent) : IDisposable
{
    private readonly ConcurrencyLimiter limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = maxConcurrent,
        QueueLimit = maxConcurrent * 4,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    public async Task<AttestationAnswer> AttestAsync(string? nonceText, CancellationToken ct)
    {
        byte[] nonce;
        try
        {
            nonce = AttestedTlsBinding.ParseNonce(nonceText);
        }
        catch (ProtocolFormatException e)
        {
            return new AttestationAnswer.Refused(StatusCodes.Status400BadRequest, "invalid nonce", e.Message);
        }

        using var lease = await limiter.AcquireAsync(1, ct).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            return new AttestationAnswer.Refused(StatusCodes.Status503ServiceUnavailable, "busy", "too many attestations in progress; retry shortly");
        }

        try
        {
            // The attesters block on configfs/ioctl/NVML calls: keep them off the request threads' async path.
            var document = await Task.Run(() => evidence.Collect(nonce, spkiSha256), ct).ConfigureAwait(false);
            return new AttestationAnswer.Document(document.ToJson());
        }
        catch (AttesterException e)
        {
            return new AttestationAnswer.Refused(StatusCodes.Status503ServiceUnavailable, "evidence unavailable", e.Message);
        }
    }

    public void Dispose() => limiter.Dispose();
}
