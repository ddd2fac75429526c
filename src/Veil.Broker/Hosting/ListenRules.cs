using System.Net;

namespace Veil.Broker.Hosting;

/// <summary>One address to listen on.</summary>
internal sealed record ListenAddress(string Scheme, string Host, IPAddress? Address, int Port)
{
    public bool IsLoopback => Host == "localhost" || (Address is not null && IPAddress.IsLoopback(Address));
}

/// <summary>
/// HTTPS needs a configured certificate; plain HTTP is allowed on loopback only, unless --insecure-http.
/// Secrets travel in these responses, so the rule fails closed at startup.
/// </summary>
internal static class ListenRules
{
    public static IReadOnlyList<ListenAddress> Check(BrokerOptions options)
    {
        if (options.Urls.Count == 0)
        {
            throw new BrokerConfigurationException("--urls: at least one address is needed");
        }

        var list = new List<ListenAddress>();
        foreach (var url in options.Urls)
        {
            var a = Parse(url);
            if (a.Scheme == "https" && (options.TlsCertificatePath is null || options.TlsKeyPath is null))
            {
                throw new BrokerConfigurationException($"{url}: HTTPS needs --tls-cert and --tls-key (PEM files)");
            }

            if (a.Scheme == "http" && !a.IsLoopback && !options.InsecureHttp)
            {
                throw new BrokerConfigurationException($"{url}: plain HTTP is only allowed on loopback; use https:// with --tls-cert/--tls-key, or --insecure-http behind a TLS-terminating proxy");
            }

            list.Add(a);
        }

        return list;
    }

    private static ListenAddress Parse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https") || uri.AbsolutePath != "/")
        {
            throw new BrokerConfigurationException($"--urls: '{url}' is not of the form http(s)://host:port");
        }

        var host = uri.Host.Trim('[', ']');
        IPAddress? address = null;
        if (host is "*" or "+" or "0.0.0.0")
        {
            address = IPAddress.Any;
        }
        else if (host != "localhost" && !IPAddress.TryParse(host, out address))
        {
            throw new BrokerConfigurationException($"--urls: '{url}': use an IP address or localhost, not a host name");
        }

        return new ListenAddress(uri.Scheme, host, address, uri.Port);
    }
}
