using Npgsql;

namespace Veil.Broker.Storage;

/// <summary>
/// Where the broker keeps its state: the embedded SQLite file in the data directory (the default, one replica), or a
/// PostgreSQL server (any number of replicas). Built from <c>--store</c>, the <see cref="EnvironmentVariable"/>
/// variable or the config file's <c>store:</c>. The connection string holds credentials: <see cref="ToString"/> and
/// every message built here show only host, port and database, never the user name or password.
/// </summary>
public sealed class StoreLocation
{
    public const string EnvironmentVariable = "VEIL_BROKER_STORE";

    // Defaults that suit a key broker: fail a request within seconds rather than hold it while the server is away
    // (the caller answers 503 and the guest retries); the URL's own connect_timeout/command timeout win.
    private const int DefaultConnectTimeoutSeconds = 10;
    private const int DefaultCommandTimeoutSeconds = 30;

    private static readonly Dictionary<string, string> UrlParameters = new(StringComparer.Ordinal)
    {
        ["sslmode"] = "SSL Mode",
        ["sslrootcert"] = "Root Certificate",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["connect_timeout"] = "Timeout",
        ["application_name"] = "Application Name",
        ["target_session_attrs"] = "Target Session Attributes",
        ["host"] = "Host",
        ["port"] = "Port",
        ["user"] = "Username",
        ["dbname"] = "Database",
        ["passfile"] = "Passfile",
        ["command_timeout"] = "Command Timeout",
        ["pool_max"] = "Maximum Pool Size",
    };

    private StoreLocation(string? postgresConnectionString, string display)
    {
        PostgresConnectionString = postgresConnectionString;
        Display = display;
    }

    /// <summary>The embedded SQLite store, <c>&lt;data-dir&gt;/broker.db</c>.</summary>
    public static StoreLocation Sqlite { get; } = new(null, "sqlite");

    public bool IsPostgres => PostgresConnectionString is not null;

    /// <summary><c>sqlite</c>, or <c>postgresql://host:port/database</c> without credentials: safe to print.</summary>
    public string Display { get; }

    /// <summary>The Npgsql connection string (with credentials): handed to Npgsql only, never printed.</summary>
    internal string? PostgresConnectionString { get; }

    /// <summary>
    /// <c>sqlite</c> or <c>postgresql://[user[:password]@]host[:port][,host2[:port]]/database[?sslmode=…&amp;…]</c>
    /// (libpq's URL form). The password may also come from <c>PGPASSWORD</c> or a passfile, as with libpq.
    /// </summary>
    public static StoreLocation Parse(string value, string where)
    {
        var v = value.Trim();
        if (v is "sqlite" or "")
        {
            return Sqlite;
        }

        var schemeEnd = v.IndexOf("://", StringComparison.Ordinal);
        var scheme = schemeEnd < 0 ? "" : v[..schemeEnd];
        if (scheme is not ("postgresql" or "postgres"))
        {
            throw new BrokerConfigurationException($"{where}: expected 'sqlite' or a postgresql:// URL (postgresql://user@host:5432/veil?sslmode=verify-full)");
        }

        var rest = v[(schemeEnd + 3)..];
        var query = "";
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? rest : rest[..slash];
        var database = slash < 0 ? "" : Unescape(rest[(slash + 1)..], where, "database");
        var at = authority.LastIndexOf('@');
        var userInfo = at < 0 ? "" : authority[..at];
        var hosts = at < 0 ? authority : authority[(at + 1)..];

        var b = new NpgsqlConnectionStringBuilder
        {
            Timeout = DefaultConnectTimeoutSeconds,
            CommandTimeout = DefaultCommandTimeoutSeconds,
            ApplicationName = "veil-broker",
            // The broker sets no session state (no SET, no temporary tables or prepared statements; its one advisory
            // lock is released explicitly, LISTEN has a connection of its own outside the pool), so the reset Npgsql
            // sends with the first command of every pooled connection is pure cost: measured 2 % of the broker's CPU
            // per handshake, besides the server's own work. Open transactions are still rolled back on return.
            NoResetOnClose = true,
        };
        if (userInfo.Length > 0)
        {
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            b.Username = Unescape(colon < 0 ? userInfo : userInfo[..colon], where, "user");
            if (colon >= 0)
            {
                b.Password = Unescape(userInfo[(colon + 1)..], where, "password");
            }
        }

        if (hosts.Length > 0)
        {
            // Npgsql takes libpq's multi-host list as "h1:5432,h2:5432" in Host; a single host's port goes to Port.
            b.Host = Unescape(hosts, where, "host");
        }

        if (database.Length > 0)
        {
            b.Database = database;
        }

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? pair : pair[..eq];
            if (!UrlParameters.TryGetValue(name, out var keyword))
            {
                // Name the parameter, never its value (it could be a credential put in the wrong place).
                throw new BrokerConfigurationException($"{where}: URL parameter '{Printable(name)}' is not supported (supported: {string.Join(", ", UrlParameters.Keys)})");
            }

            try
            {
                b[keyword] = MapValue(name, Unescape(eq < 0 ? "" : pair[(eq + 1)..], where, name));
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
            {
                throw new BrokerConfigurationException($"{where}: URL parameter '{name}' has a value Npgsql does not accept");
            }
        }

        if (string.IsNullOrEmpty(b.Host))
        {
            throw new BrokerConfigurationException($"{where}: the PostgreSQL URL names no host");
        }

        if (string.IsNullOrEmpty(b.Database))
        {
            throw new BrokerConfigurationException($"{where}: the PostgreSQL URL names no database (postgresql://host:5432/<database>)");
        }

        var port = b.Host.Contains(':', StringComparison.Ordinal) || b.Host.Contains(',', StringComparison.Ordinal) ? "" : ":" + b.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new StoreLocation(b.ConnectionString, $"postgresql://{b.Host}{port}/{b.Database}");
    }

    /// <summary>Flag, then environment variable, then config file, then SQLite.</summary>
    public static StoreLocation Resolve(string? flag, Func<string, string?> environment, StoreLocation? fromConfig)
    {
        if (!string.IsNullOrWhiteSpace(flag))
        {
            return Parse(flag, "--store");
        }

        if (environment(EnvironmentVariable) is { Length: > 0 } env)
        {
            return Parse(env, EnvironmentVariable);
        }

        return fromConfig ?? Sqlite;
    }

    public override string ToString() => Display;

    private static string MapValue(string name, string value) => name switch
    {
        // libpq spells the modes in lower case with dashes; Npgsql's enum has no dashes.
        "sslmode" => value.Replace("-", "", StringComparison.Ordinal),
        "target_session_attrs" => value.Replace("-", "", StringComparison.Ordinal),
        _ => value,
    };

    private static string Unescape(string s, string where, string part)
    {
        try
        {
            return Uri.UnescapeDataString(s);
        }
        catch (UriFormatException)
        {
            throw new BrokerConfigurationException($"{where}: the URL's {part} is not valid percent-encoding");
        }
    }

    private static string Printable(string s) => s.Length <= 32 && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') ? s : "(unprintable)";
}
