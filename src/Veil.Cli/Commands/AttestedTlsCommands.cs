using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using Veil.Attestation;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Snp;
using Veil.Attestation.Tdx;
using Veil.Connect;
using Veil.Connect.Connection;
using Veil.Connect.Proxy;
using Veil.Gateway.Hosting;
using Veil.Guest;

namespace Veil.Cli.Commands;

/// <summary><c>veil gateway</c> (in the confidential VM) and <c>veil connect</c> (on the user's side): docs/attested-tls.md.</summary>
internal static class AttestedTlsCommands
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command CreateGateway()
    {
        var upstream = new Option<string>("--upstream") { Description = "The inference server on loopback, e.g. http://127.0.0.1:8000", Required = true };
        var listen = new Option<string>("--listen") { Description = "TLS address:port (default 0.0.0.0:8443)", DefaultValueFactory = _ => "0.0.0.0:8443" };
        var tee = new Option<string>("--tee") { Description = "CPU evidence: auto, configfs-tsm, sev-guest, or sample (in-process, proves nothing; tests only)", DefaultValueFactory = _ => "auto" };
        tee.AcceptOnlyFromAmong("auto", "configfs-tsm", "sev-guest", "sample");
        var tsmRoot = new Option<string>("--tsm-root") { Description = "configfs-tsm report folder", DefaultValueFactory = _ => ConfigFsTsmAttester.DefaultRoot };
        var gpu = new Option<string>("--gpu") { Description = "GPU evidence: auto (when NVML reports CC GPUs), off, required", DefaultValueFactory = _ => "auto" };
        gpu.AcceptOnlyFromAmong("auto", "off", "required");
        var cmd = new Command("gateway", "Terminate TLS with a key made in this VM, serve evidence bound to it, forward to the inference server.")
        {
            upstream, listen, tee, tsmRoot, gpu,
        };
        cmd.SetAction((parse, ct) => CliErrors.GuardAsync(parse, async () =>
        {
            var up = Uri.TryCreate(parse.GetValue(upstream), UriKind.Absolute, out var u) ? u : throw new CliUsageException("--upstream: not an absolute URL");
            var mode = parse.GetValue(tee)!;
            try
            {
                var cpu = mode == "sample" ? null : AttesterDetection.Detect(mode, parse.GetValue(tsmRoot)!);
                using var gpus = OpenGpus(parse.GetValue(gpu)!);
                await using var host = await GatewayHost.StartAsync(new GatewayOptions
                {
                    Upstream = up,
                    Listen = Endpoint(parse.GetValue(listen)!, "--listen"),
                    Evidence = new GatewayEvidence(cpu, gpus),
                }, ct).ConfigureAwait(false);
                var o = parse.InvocationConfiguration.Output;
                o.WriteLine($"veil gateway listening on {host.Address} → {up}; TLS key sha256 {host.SpkiSha256Hex}; GPUs {(gpus is null ? "none" : "attested")}");
                if (cpu is null)
                {
                    o.WriteLine("veil gateway: WARNING: sample evidence (--tee sample) proves nothing; clients refuse it unless --allow-sample");
                }

                await host.WaitForShutdownAsync(ct).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            catch (AttesterException e)
            {
                throw new CliUsageException(e.Message, e);
            }
            catch (GatewayConfigurationException e)
            {
                throw new CliUsageException(e.Message, e);
            }
        }));
        return cmd;
    }

    public static Command CreateConnect()
    {
        var endpoint = new Argument<string>("endpoint") { Description = "The gateway: https://host:port" };
        var policy = PolicyCommands.PolicyOption();
        var parameters = PolicyCommands.ParamOption();
        var refValues = PolicyCommands.RefValuesOption();
        var listen = new Option<string>("--listen") { Description = "Local plain-HTTP address, loopback only (default 127.0.0.1:8080)", DefaultValueFactory = _ => "127.0.0.1:8080" };
        var allowSample = new Option<bool>("--allow-sample") { Description = "Accept the sample TEE (proves nothing). Testing only." };
        var reattest = new Option<string>("--reattest") { Description = "Connections older than this are replaced (and re-attested), e.g. 10m", DefaultValueFactory = _ => "10m" };
        var maxAge = new Option<string>("--max-age") { Description = "Oldest evidence accepted, e.g. 60s", DefaultValueFactory = _ => "60s" };
        var snpDir = new Option<string?>("--collateral-dir") { Description = "SNP: KDS cache layout (VCEK and chains) when the evidence carries no certificate table" };
        var tdxCollateral = new Option<string?>("--tdx-collateral") { Description = "TDX: single-file collateral JSON (dcap-qvl layout)" };
        var rims = new Option<string[]>("--rim") { Description = "NVIDIA driver or VBIOS RIM file (repeatable)" };
        var once = new Option<bool>("--once") { Description = "Attest once, print the appraisal and exit (0 affirming, 1 refused)" };
        var form = new Option<string>("--form") { Description = "The endpoint's evidence: veil (a veil gateway, TLS key bound) or dstack (dstack's /v1/attestation/report: TDX quote, JSON event log, NVIDIA evidence; TLS key not bound)", DefaultValueFactory = _ => "veil" };
        form.AcceptOnlyFromAmong("veil", "dstack");
        var dstackPath = new Option<string>("--dstack-path") { Description = "With --form dstack: the report's path (default /v1/attestation/report)", DefaultValueFactory = _ => "/v1/attestation/report" };
        var output = CliOptions.Output("table", "json");
        var cmd = new Command("connect", "Forward local HTTP to a veil gateway only over TLS connections whose evidence verified and passed the policy.")
        {
            endpoint, policy, parameters, refValues, listen, allowSample, reattest, maxAge, snpDir, tdxCollateral, rims, once, output, form, dstackPath,
        };
        cmd.SetAction((parse, ct) => CliErrors.GuardAsync(parse, async () =>
        {
            var gateway = Uri.TryCreate(parse.GetValue(endpoint), UriKind.Absolute, out var g) && g.Scheme == "https" && g.AbsolutePath == "/"
                ? g
                : throw new CliUsageException("endpoint: expected https://host[:port] (no path)");
            var options = new AttestedTlsOptions
            {
                Policy = PolicyCommands.LoadPolicy(parse.GetValue(policy)!, parse.GetValue(parameters), parse.GetValue(refValues)),
                AllowSample = parse.GetValue(allowSample),
                Reattest = Duration(parse.GetValue(reattest)!, "--reattest"),
                MaxAge = Duration(parse.GetValue(maxAge)!, "--max-age"),
                SnpCollateral = parse.GetValue(snpDir) is { } dir
                    ? SnpCollateralSources.Combine(SnpCollateralSources.Evidence(), Directory.Exists(dir) ? new SnpDirectoryCollateral(dir) : throw new CliUsageException($"--collateral-dir: directory not found: {dir}"))
                    : SnpCollateralSources.Evidence(),
                TdxCollateral = parse.GetValue(tdxCollateral) is { } t ? TdxCollateral.FromJson(CliOptions.ReadFile(t, "--tdx-collateral")) : null,
                NvidiaCollateral = NvidiaCollateralSources.Files((parse.GetValue(rims) ?? []).Select(r => new NvidiaRimFile(r, CliOptions.ReadFile(r, "--rim"))).ToList(), []),
                Form = parse.GetValue(form) == "dstack" ? EndpointForm.Dstack : EndpointForm.Veil,
                DstackReportPath = parse.GetValue(dstackPath) is ['/', ..] p && !p.Any(c => c is '?' or '#' or ' ' || char.IsControl(c))
                    ? p
                    : throw new CliUsageException("--dstack-path: expected an absolute path without query, e.g. /v1/attestation/report"),
            };
            var o = parse.InvocationConfiguration.Output;
            if (options.Form == EndpointForm.Dstack)
            {
                // Said every time: a relay in front of the TD passes this check, so the user must know what they rely on.
                parse.InvocationConfiguration.Error.WriteLine("veil connect: dstack form: the report binds the service's signing key and the nonce, not this TLS connection's key; a relay in front of the TD would pass");
            }

            var json = parse.GetValue(output) == "json";
            if (parse.GetValue(once))
            {
                return await OnceAsync(options, gateway, json, o, parse.InvocationConfiguration.Error, ct).ConfigureAwait(false);
            }

            try
            {
                await using var proxy = await ConnectProxy.StartAsync(new ConnectOptions
                {
                    Gateway = gateway,
                    Listen = Endpoint(parse.GetValue(listen)!, "--listen"),
                    Attestation = options with { Observer = outcome => o.WriteLine(Line(outcome)) },
                }, ct).ConfigureAwait(false);
                o.WriteLine($"veil connect listening on {proxy.Address} → {gateway.Authority} (policy {options.Policy.Id}); status at {proxy.Address}{ConnectProxy.StatusPath.TrimStart('/')}");
                await proxy.WaitForShutdownAsync(ct).ConfigureAwait(false);
                return ExitCodes.Ok;
            }
            catch (ArgumentException e)
            {
                throw new CliUsageException(e.Message, e);
            }
        }));
        return cmd;
    }

    private static async Task<int> OnceAsync(AttestedTlsOptions options, Uri gateway, bool json, TextWriter o, TextWriter err, CancellationToken ct)
    {
        AttestationOutcome outcome;
        try
        {
            var (stream, accepted) = await new AttestedConnector(options).AttestAsync(gateway.Host, gateway.Port, ct).ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
            outcome = accepted;
        }
        catch (AttestationRefusedException e)
        {
            outcome = e.Outcome;
        }
        catch (GatewayUnreachableException e)
        {
            err.WriteLine($"veil: {e.Message}");
            return ExitCodes.Failed;
        }

        if (json)
        {
            o.WriteLine(AttestationStatus.OutcomeJson(outcome).ToJsonString(Json));
        }
        else
        {
            o.WriteLine(Line(outcome));
            foreach (var (k, v) in outcome.Facts.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                o.WriteLine($"  {k,-12} {v}");
            }

            foreach (var r in outcome.Reasons)
            {
                o.WriteLine($"  ✗ {r}");
            }
        }

        return outcome.Accepted ? ExitCodes.Ok : ExitCodes.Failed;
    }

    private static string Line(AttestationOutcome o) =>
        $"{o.At.ToString("u", CultureInfo.InvariantCulture)} {o.Endpoint} {(o.Accepted ? "attested" : "REFUSED")} tee={o.Tee ?? "-"} key={o.TlsSpkiSha256 ?? "-"}"
        + (o.Accepted ? "" : ": " + string.Join("; ", o.Reasons));

    private static NvidiaGpuAttester? OpenGpus(string mode)
    {
        if (mode == "off" || (mode == "auto" && !NvidiaGpuAttester.IsPresent()))
        {
            return null;
        }

        var gpus = NvidiaGpuAttester.Open();
        if (gpus.HasConfidentialGpus())
        {
            return gpus;
        }

        gpus.Dispose();
        return mode == "auto" ? null : throw new CliUsageException("--gpu required: NVML reports no GPU in confidential-computing mode");
    }

    internal static IPEndPoint Endpoint(string text, string option) =>
        IPEndPoint.TryParse(text, out var ep) && ep.Port is > 0 or 0 && text.Contains(':', StringComparison.Ordinal)
            ? ep
            : throw new CliUsageException($"{option}: '{text}' is not address:port (e.g. 127.0.0.1:8080)");

    /// <summary>Reads 90s, 10m, 1h.</summary>
    internal static TimeSpan Duration(string text, string option)
    {
        if (text.Length >= 2 && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 && n <= 7 * 24 * 3600)
        {
            switch (text[^1])
            {
                case 's': return TimeSpan.FromSeconds(n);
                case 'm': return TimeSpan.FromMinutes(n);
                case 'h': return TimeSpan.FromHours(n);
            }
        }

        throw new CliUsageException($"{option}: '{text}' is not a duration such as 90s, 10m or 1h");
    }
}
