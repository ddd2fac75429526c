using System.Diagnostics.Metrics;

namespace Veil.Broker.Metrics;

/// <summary>The broker's instruments (System.Diagnostics.Metrics); <see cref="PrometheusText"/> renders them.</summary>
internal sealed class BrokerMetrics : IDisposable
{
    public const string MeterName = "Veil.Broker";

    public BrokerMetrics()
    {
        Meter = new Meter(MeterName);
        Attestations = Meter.CreateCounter<long>("veil_attestations_total", description: "Attestations by TEE and outcome");
        ResourceRequests = Meter.CreateCounter<long>("veil_resource_requests_total", description: "Resource requests by outcome");
        AdminRequests = Meter.CreateCounter<long>("veil_admin_requests_total", description: "Admin requests by outcome");
        RequestDuration = Meter.CreateHistogram<double>("veil_http_request_duration_seconds", unit: "s", description: "HTTP request duration by endpoint");
    }

    public Meter Meter { get; }

    public Counter<long> Attestations { get; }

    public Counter<long> ResourceRequests { get; }

    public Counter<long> AdminRequests { get; }

    public Histogram<double> RequestDuration { get; }

    public void Dispose() => Meter.Dispose();
}
