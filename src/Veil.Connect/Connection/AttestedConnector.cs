using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Dstack;
using Veil.Connect.Verification;
using Veil.Protocol.AttestedTls;

namespace Veil.Connect.Connection;

/// <summary>
/// SocketsHttpHandler's ConnectCallback: every new connection is TCP → TLS 1.3 (any certificate; its key is noted) →
/// GET the evidence with a fresh nonce on that connection → verify and appraise it against this connection's key.
/// Only then is the stream returned, so the handler writes requests only on attested connections; a refusal throws
/// before a single request byte is written.
/// </summary>
internal sealed class AttestedConnector(AttestedTlsOptions options)
{
    private readonly GatewayEvidenceVerifier verifier = new(options);
    private readonly DstackEvidenceVerifier dstack = new(options);

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var (stream, _) = await AttestAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, ct).ConfigureAwait(false);
        return stream;
    }

    /// <summary>An attested connection and its outcome; refused evidence is an <see cref="AttestationRefusedException"/>.</summary>
    public async Task<(SslStream Stream, AttestationOutcome Outcome)> AttestAsync(string host, int port, CancellationToken ct)
    {
        var endpoint = $"{host}:{port}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.AttestTimeout);
        SslStream? ssl = null;
        try
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new DnsEndPoint(host, port), timeout.Token).ConfigureAwait(false);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            X509Certificate2? presented = null;
            ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                EnabledSslProtocols = SslProtocols.Tls13,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                // Not the CA chain: the key is what the evidence must bind, checked below.
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    presented = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    return presented is not null;
                },
            }, timeout.Token).ConfigureAwait(false);

            byte[] key;
            using (presented)
            {
                key = AttestedTlsBinding.SpkiSha256(presented!);
            }

            // dstack's report takes exactly 32 bytes; Veil's gateway takes 32 or more.
            var nonce = RandomNumberGenerator.GetBytes(options.Form == EndpointForm.Dstack ? DstackReport.NonceBytes : AttestedTlsBinding.MinNonceBytes);
            var request = options.Form == EndpointForm.Dstack
                ? EvidenceExchange.DstackRequest(host, port, options.DstackReportPath, nonce)
                : EvidenceExchange.Request(host, port, nonce);
            await ssl.WriteAsync(request, timeout.Token).ConfigureAwait(false);
            byte[] body;
            try
            {
                body = await EvidenceExchange.ReadResponseAsync(ssl, timeout.Token).ConfigureAwait(false);
            }
            catch (EvidenceExchangeException e)
            {
                throw Refused(AttestationOutcome.Refused(options.Time.GetUtcNow(), endpoint, "evidence request: " + e.Message, key: Convert.ToHexStringLower(key)));
            }

            var outcome = options.Form == EndpointForm.Dstack
                ? await dstack.VerifyAsync(endpoint, body, nonce, key, timeout.Token).ConfigureAwait(false)
                : await verifier.VerifyAsync(endpoint, body, nonce, key, timeout.Token).ConfigureAwait(false);
            options.Observer?.Invoke(outcome);
            if (!outcome.Accepted)
            {
                throw new AttestationRefusedException(outcome);
            }

            var attested = ssl;
            ssl = null;
            return (attested, outcome);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw Unreachable(endpoint, $"no attested connection within {options.AttestTimeout.TotalSeconds:0} s", null);
        }
        catch (Exception e) when (e is SocketException or IOException or AuthenticationException)
        {
            throw Unreachable(endpoint, e.Message, e);
        }
        finally
        {
            if (ssl is not null)
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private AttestationRefusedException Refused(AttestationOutcome outcome)
    {
        options.Observer?.Invoke(outcome);
        return new AttestationRefusedException(outcome);
    }

    private GatewayUnreachableException Unreachable(string endpoint, string why, Exception? inner)
    {
        var message = $"gateway {endpoint} unreachable: {why}";
        options.Observer?.Invoke(AttestationOutcome.Refused(options.Time.GetUtcNow(), endpoint, message));
        return inner is null ? new GatewayUnreachableException(message) : new GatewayUnreachableException(message, inner);
    }
}
