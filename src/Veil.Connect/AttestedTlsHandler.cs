using System.Net;
using System.Net.Http;
using Veil.Connect.Connection;

namespace Veil.Connect;

/// <summary>
/// An <see cref="HttpMessageHandler"/> for <c>https://</c> addresses of a <c>veil gateway</c>: each new connection is
/// attested on itself before any request is written to it (docs/attested-tls.md), connections older than
/// <see cref="AttestedTlsOptions.Reattest"/> are not reused. A refusal surfaces as an <see cref="HttpRequestException"/>
/// whose inner exception is an <see cref="AttestationRefusedException"/> listing the reasons.
/// </summary>
/// <remarks>
/// TLS is done by the attested connector, so the request is passed to the inner SocketsHttpHandler as <c>http://</c>
/// with the same host and port: the request's <see cref="HttpRequestMessage.RequestUri"/> reads http:// afterwards.
/// </remarks>
public sealed class AttestedTlsHandler : DelegatingHandler
{
    public AttestedTlsHandler(AttestedTlsOptions options)
        : base(CreateInner(options))
    {
    }

    internal static SocketsHttpHandler CreateInner(AttestedTlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var connector = new AttestedConnector(options);
        return new SocketsHttpHandler
        {
            ConnectCallback = connector.ConnectAsync,
            PooledConnectionLifetime = options.Reattest,
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
    }

    /// <summary>The inner request: https://host:port/… becomes http://host:port/… over the attested TLS stream.</summary>
    internal static void Rewrite(HttpRequestMessage request)
    {
        if (request.RequestUri is not { IsAbsoluteUri: true, Scheme: "https" } uri)
        {
            throw new HttpRequestException("attested TLS: the gateway address must be an absolute https:// URI");
        }

        request.RequestUri = new UriBuilder(uri) { Scheme = Uri.UriSchemeHttp, Port = uri.Port }.Uri;
        request.Version = HttpVersion.Version11;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Rewrite(request);
        return base.SendAsync(request, cancellationToken);
    }
}
