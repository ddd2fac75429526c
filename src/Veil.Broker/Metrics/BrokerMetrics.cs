using Veil.Abi.Tee;
using Prometheus;
using Veil.Broker.Verification;

namespace Veil.Broker.Metrics;

/// <summary>Outcome of an attestation step, as counted (a closed set: never a caller's string).</summary>
internal enum AttestationOutcome
{
    Refused,
    Denied,
    Verified,
}

/// <summary>Outcome of a resource request.</summary>
internal enum ResourceOutcome
{
    Denied,
    Released,
}

/// <summary>Outcome of an admin request's authentication.</summary>
internal enum AdminOutcome
{
    Unauthorized,
    Authorized,

    /// <summary>A valid token whose roles do not cover the call.</summary>
    Forbidden,
}

/// <summary>Why a session was not created.</summary>
internal enum SessionRefusalReason
{
    TotalCap,
    ClientCap,
}

/// <summary>
/// The broker's instruments, exported as Prometheus text by prometheus-net from a registry of this broker's own
/// (several brokers share a test process; the library's default registry and its process/meter collectors are
/// not used). Every label value comes from a closed set: the enums above, <see cref="Veil.Abi.Tee.TeeNames.Known"/> or "other",
/// and the endpoint names of <see cref="EndpointNames"/>; so an attacker cannot add a series, however many
/// distinct strings they send.
/// </summary>
internal sealed class BrokerMetrics
{
    public const string Other = "other";

    private static readonly double[] Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private readonly Counter _attestations;
    private readonly Counter _resourceRequests;
    private readonly Counter _adminRequests;
    private readonly Counter _rateLimited;
    private readonly Counter _sessionsRefused;
    private readonly Counter _auditSuppressed;
    private readonly Counter _badRequests;
    private readonly Histogram _requestDuration;
    private readonly Gauge _sessions;

    static BrokerMetrics()
    {
        // The default registry is never exported here; keep the library from starting its collectors on it
        // (the Meter adapter would otherwise aggregate every ASP.NET Core meter in the process).
        Prometheus.Metrics.SuppressDefaultMetrics();
    }

    public BrokerMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var f = Prometheus.Metrics.WithCustomRegistry(Registry);
        _attestations = f.CreateCounter("veil_attestations_total", "Attestations by TEE and outcome", "tee", "outcome");
        _resourceRequests = f.CreateCounter("veil_resource_requests_total", "Resource requests by outcome", "outcome");
        _adminRequests = f.CreateCounter("veil_admin_requests_total", "Admin requests by outcome", "outcome");
        _rateLimited = f.CreateCounter("veil_rate_limited_total", "Requests refused by the per-client rate limits, by endpoint", "endpoint");
        _sessionsRefused = f.CreateCounter("veil_sessions_refused_total", "RCAR sessions refused by the session caps, by reason", "reason");
        _auditSuppressed = f.CreateCounter("veil_audit_aggregated_total", "Unauthenticated refusals counted in an audit summary row instead of a row each");
        _badRequests = f.CreateCounter("veil_bad_requests_total", "Requests the server refused as malformed (framing, size, slow body), by status", "status");
        _requestDuration = f.CreateHistogram("veil_http_request_duration_seconds", "HTTP request duration by endpoint", new HistogramConfiguration
        {
            LabelNames = ["endpoint"],
            Buckets = Buckets,
        });
        _sessions = f.CreateGauge("veil_sessions", "RCAR sessions held in memory");
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Sessions currently held; set by /auth after each change.</summary>
    public void SessionsHeld(int count) => _sessions.Set(count);

    /// <summary>The label for a caller's <c>tee</c>: the known name (the broker's own string instance), else "other".</summary>
    public static string TeeLabel(string? tee) => TeeNames.Canonical(tee) ?? Other;

    public void Attestation(string? tee, AttestationOutcome outcome) => _attestations.WithLabels(TeeLabel(tee), Name(outcome)).Inc();

    public void Resource(ResourceOutcome outcome) => _resourceRequests.WithLabels(outcome == ResourceOutcome.Released ? "released" : "denied").Inc();

    public void Admin(AdminOutcome outcome) => _adminRequests.WithLabels(outcome switch
    {
        AdminOutcome.Authorized => "authorized",
        AdminOutcome.Forbidden => "forbidden",
        _ => "unauthorized",
    }).Inc();

    public void RateLimited(string endpoint) => _rateLimited.WithLabels(EndpointNames.Closed(endpoint)).Inc();

    public void SessionRefused(SessionRefusalReason reason) => _sessionsRefused.WithLabels(reason == SessionRefusalReason.TotalCap ? "total_cap" : "client_cap").Inc();

    public void AuditAggregated() => _auditSuppressed.Inc();

    /// <summary>Only 4xx statuses are labels (a fixed range); anything else counts as "other".</summary>
    public void BadRequest(int status) => _badRequests.WithLabels(status is >= 400 and < 500 ? status.ToString(System.Globalization.CultureInfo.InvariantCulture) : Other).Inc();

    public void RequestDuration(string endpoint, double seconds) => _requestDuration.WithLabels(EndpointNames.Closed(endpoint)).Observe(seconds);

    /// <summary>The text exposition (format 0.0.4).</summary>
    public async Task<byte[]> RenderAsync(CancellationToken ct)
    {
        using var ms = new MemoryStream();
        await Registry.CollectAndExportAsTextAsync(ms, ct).ConfigureAwait(false);
        return ms.ToArray();
    }

    private static string Name(AttestationOutcome o) => o switch
    {
        AttestationOutcome.Refused => "refused",
        AttestationOutcome.Denied => "denied",
        _ => "verified",
    };
}
