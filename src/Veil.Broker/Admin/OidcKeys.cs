using System.Text.Json;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Veil.Broker.Admin;

/// <summary>
/// The OIDC issuer's signing keys, cached. They are fetched (discovery document, then its <c>jwks_uri</c>; or the JWKS
/// file) when none are held, when they are older than <see cref="OidcSettings.MaxAge"/>, and when a token names a key
/// id they lack, since issuers rotate. Fetches are at most one per <see cref="OidcSettings.MinRefresh"/> whatever
/// arrives, so callers sending random key ids cannot make the broker fetch per request; the cache holds one key set,
/// never anything keyed by what a caller sent. Keys stay in use when a refresh fails (the issuer is away) until one
/// succeeds.
/// </summary>
internal sealed class OidcKeys(OidcSettings settings, HttpClient http, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile Held? _held;
    private DateTimeOffset _lastAttempt = DateTimeOffset.MinValue;
    private string? _lastError;
    private int _fetches;

    private sealed record Held(IReadOnlyList<SecurityKey> Keys, DateTimeOffset At);

    /// <summary>How many times the keys were fetched (or the file read): the bound tests check.</summary>
    public int Fetches => Volatile.Read(ref _fetches);

    /// <summary>The keys, fetched first when needed and allowed; the error when none could ever be fetched.</summary>
    public async Task<(IReadOnlyList<SecurityKey> Keys, string? Error)> GetAsync(string? kid, CancellationToken ct)
    {
        if (Fresh(_held, kid) is { } fresh)
        {
            return (fresh.Keys, null);
        }

        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // Another request may have fetched while this one waited.
            if (Fresh(_held, kid) is { } fetched)
            {
                return (fetched.Keys, null);
            }

            var now = time.GetUtcNow();
            if (now - _lastAttempt >= settings.MinRefresh)
            {
                _lastAttempt = now;
                Interlocked.Increment(ref _fetches);
                try
                {
                    _held = new Held(await LoadAsync(ct).ConfigureAwait(false), now);
                    _lastError = null;
                }
                catch (Exception e) when (e is IOException or HttpRequestException or InvalidOperationException or ArgumentException or JsonException
                                              or TaskCanceledException or UnauthorizedAccessException)
                {
                    _lastError = Describe(e);
                }
            }

            return _held is { } held ? (held.Keys, null) : ([], _lastError ?? "not fetched yet");
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private Held? Fresh(Held? held, string? kid) =>
        held is not null && time.GetUtcNow() - held.At < settings.MaxAge && (kid is null || held.Keys.Any(k => k.KeyId == kid)) ? held : null;

    private async Task<IReadOnlyList<SecurityKey>> LoadAsync(CancellationToken ct)
    {
        if (settings.JwksFile is { } file)
        {
            return new JsonWebKeySet(await File.ReadAllTextAsync(file, ct).ConfigureAwait(false)).GetSigningKeys().ToList();
        }

        var metadata = settings.Issuer.TrimEnd('/') + "/.well-known/openid-configuration";
        var retriever = new HttpDocumentRetriever(http) { RequireHttps = settings.RequireHttps };
        var configuration = await OpenIdConnectConfigurationRetriever.GetAsync(metadata, retriever, ct).ConfigureAwait(false);
        // OpenID Connect Discovery 1.0 section 4.3: the document must name the issuer it was fetched for.
        if (configuration.Issuer != settings.Issuer)
        {
            throw new InvalidOperationException($"the discovery document names issuer '{Problems.CallerText.Echo(configuration.Issuer)}', not the configured one");
        }

        return configuration.SigningKeys.ToList();
    }

    /// <summary>The kind of failure, without a URL's query or any response body.</summary>
    private static string Describe(Exception e) => e switch
    {
        TaskCanceledException => "the issuer did not answer in time",
        HttpRequestException or IOException => "the issuer's discovery document or JWKS could not be fetched",
        JsonException or ArgumentException => "the issuer's discovery document or JWKS is not valid JSON Web Key Set",
        _ => e.Message,
    };
}
