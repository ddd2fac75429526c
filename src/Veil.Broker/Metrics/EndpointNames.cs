using Microsoft.AspNetCore.Http;
using Veil.Broker.Endpoints;

namespace Veil.Broker.Metrics;

/// <summary>The endpoint groups requests are counted, timed and rate-limited under: a closed set.</summary>
internal static class EndpointNames
{
    public const string Auth = "auth";
    public const string Attest = "attest";
    public const string Resource = "resource";
    public const string Admin = "admin";
    public const string Ops = "ops";
    public const string Other = "other";

    /// <summary>The group of a request, from its method and path (never the path itself).</summary>
    public static string Of(HttpRequest r)
    {
        var p = r.Path.Value ?? "";
        return p switch
        {
            "/kbs/v0/auth" => Auth,
            "/kbs/v0/attest" => Attest,
            _ when p.StartsWith(ResourcePath.Prefix, StringComparison.Ordinal) => r.Method == "GET" ? Resource : Admin,
            _ when p.StartsWith("/kbs/v0/", StringComparison.Ordinal) || p.StartsWith("/veil/v0/", StringComparison.Ordinal) => Admin,
            "/metrics" or "/healthz" or "/livez" or "/readyz" or "/.well-known/jwks.json" => Ops,
            _ => Other,
        };
    }

    /// <summary>The value itself when it is one of the names above, else <see cref="Other"/>.</summary>
    public static string Closed(string name) => name switch
    {
        Auth => Auth,
        Attest => Attest,
        Resource => Resource,
        Admin => Admin,
        Ops => Ops,
        _ => Other,
    };
}
