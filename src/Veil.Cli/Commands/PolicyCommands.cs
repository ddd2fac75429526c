using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Veil.Policy;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Policy.ReferenceValues;
using Veil.Policy.Resources;

namespace Veil.Cli.Commands;

/// <summary><c>veil policy check|init|claims</c> and <c>veil appraise</c>: policy authoring and explained appraisal (push/resource: <see cref="PolicyBrokerCommands"/>).</summary>
internal static class PolicyCommands
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var policy = new Command("policy", "Write and check attestation policies; push them and resource policies to a broker.");
        policy.Add(Check());
        policy.Add(Init());
        policy.Add(Claims());
        policy.Add(PolicyBrokerCommands.Push());
        policy.Add(PolicyBrokerCommands.Resource());
        return policy;
    }

    public static Command CreateAppraise()
    {
        var policy = PolicyOption();
        var parameters = ParamOption();
        var refValues = RefValuesOption();
        var claims = new Option<string?>("--claims") { Description = "Claims JSON: a 'veil verify ... --output json' result or {cpu, gpu[], switch[], init_data}" };
        var e = new AppraiseEvidence.Options();
        var at = new Option<string?>("--at") { Description = "Appraise (and verify) as of this ISO-8601 time (default: now); reference-value expiry uses it" };
        var initData = new Option<string?>("--init-data") { Description = "Init-data TOML: bound via SNP HOST_DATA / TDX MRCONFIGID, its [data] keys become init_data.* claims" };
        var output = CliOptions.Output("table", "json");
        var cmd = new Command("appraise", "Appraise verified claims against a policy: EAR status, AR4SI trust vector and an explanation for every failed rule.")
        {
            policy, parameters, refValues, claims, at, initData, output,
        };
        e.AddTo(cmd);
        cmd.SetAction((parse, ct) => CliErrors.GuardAsync(parse, async () =>
        {
            var time = CliOptions.TimeAt(parse.GetValue(at));
            var loaded = LoadPolicy(parse.GetValue(policy)!, parse.GetValue(parameters), parse.GetValue(refValues));
            EvidenceSet evidence;
            if (e.Mode(parse) is { } mode)
            {
                if (parse.GetValue(claims) is not null)
                {
                    throw new CliUsageException($"--claims and --{mode} cannot be combined");
                }

                evidence = await e.VerifyAsync(parse, mode, time, ct).ConfigureAwait(false);
            }
            else
            {
                var path = parse.GetValue(claims) ?? throw new CliUsageException("give --claims C.json, or --snp, --tdx or --gpu with evidence options");
                evidence = Guarded(() => ClaimsFile.Parse(System.Text.Encoding.UTF8.GetString(CliOptions.ReadFile(path, "--claims")), path));
            }

            if (parse.GetValue(initData) is { } initPath)
            {
                evidence = AppraiseEvidence.BindInitData(evidence, CliOptions.ReadFile(initPath, "--init-data"));
            }

            var appraisal = Appraiser.Appraise(loaded, evidence, time);
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(output) == "json")
            {
                o.WriteLine(EarJson.From(appraisal).ToJsonString(Json));
            }
            else
            {
                WriteTable(appraisal, o);
            }

            return appraisal.IsAffirming ? ExitCodes.Ok : ExitCodes.Failed;
        }));
        return cmd;
    }

    /// <summary><c>veil refvalue add|list</c>: reference-value files with provenance and expiry.</summary>
    public static Command CreateRefValue()
    {
        var refvalue = new Command("refvalue", "Manage reference-value files (named sets of accepted values with provenance and expiry).");
        var set = new Argument<string>("set") { Description = "Set name, e.g. llama-guest-images" };
        var file = new Option<string?>("--file") { Description = "Reference-value file to create or extend" };
        var broker = new Option<string?>("--broker") { Description = "Add to this broker's reference values instead of a file (needs --admin-token)" };
        var adminToken = new Option<string?>("--admin-token") { Description = "File holding the broker's admin JWT" };
        var value = new Option<string?>("--value") { Description = "The value to accept (e.g. a measurement in hex)" };
        var fromMeasure = new Option<string?>("--from-measure") { Description = "Output of 'veil measure snp --output json' (its measurement and inputs become value and provenance)" };
        var provenance = new Option<string?>("--provenance") { Description = "Who or what produced the value (required with --value)" };
        var expires = new Option<string?>("--expires") { Description = "ISO-8601 time after which the value no longer matches" };
        var add = new Command("add", "Add a value to a set in a reference-value file or a broker.") { set, file, broker, adminToken, value, fromMeasure, provenance, expires };
        add.SetAction((parse, ct) => BrokerCommands.GuardAsync(parse, async () =>
        {
            var (v, p) = (parse.GetValue(value), parse.GetValue(fromMeasure)) switch
            {
                ({ } given, null) => (given, parse.GetValue(provenance) ?? throw new CliUsageException("--provenance is required with --value")),
                (null, { } measured) => FromMeasure(measured, parse.GetValue(provenance)),
                _ => throw new CliUsageException("give exactly one of --value or --from-measure"),
            };
            DateTimeOffset? until = parse.GetValue(expires) is { } e
                ? DateTimeOffset.TryParse(e, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : throw new CliUsageException($"--expires: '{e}' is not an ISO-8601 time")
                : null;
            var name = parse.GetValue(set)!;
            Guarded(() => { ReferenceValueFile.Write([new ReferenceValueSet(name, [])]); return 0; }, "set name");
            var entry = new ReferenceValue(v, p, until);
            switch (parse.GetValue(file), parse.GetValue(broker))
            {
                case ({ } path, null):
                    var store = new ReferenceValueStore();
                    if (File.Exists(path))
                    {
                        Guarded(() => { store.AddAll(ReferenceValueFile.Load(path)); return 0; });
                    }

                    store.Add(name, entry);
                    await File.WriteAllTextAsync(path, ReferenceValueFile.Write(store.Names.Order(StringComparer.Ordinal).Select(n => store.Find(n)!)), ct).ConfigureAwait(false);
                    parse.InvocationConfiguration.Output.WriteLine($"{path}: {name} += {v}");
                    break;
                case (null, { } url):
                    if (parse.GetValue(adminToken) is null)
                    {
                        throw new CliUsageException("--broker needs --admin-token");
                    }

                    using (var http = ResourceCommands.AdminClient(parse, broker!, adminToken!))
                    using (var content = new StringContent(ReferenceValueFile.Write([new ReferenceValueSet(name, [entry])]), System.Text.Encoding.UTF8, "application/yaml"))
                    using (var response = await http.PostAsync(new Uri("kbs/v0/reference-value", UriKind.Relative), content, ct).ConfigureAwait(false))
                    {
                        await ResourceCommands.EnsureOkAsync(response, ct).ConfigureAwait(false);
                    }

                    parse.InvocationConfiguration.Output.WriteLine($"{url}: {name} += {v}");
                    break;
                default:
                    throw new CliUsageException("give exactly one of --file or --broker");
            }

            return ExitCodes.Ok;
        }));
        refvalue.Add(add);

        var listFile = new Option<string>("--file") { Description = "Reference-value file", Required = true };
        var at = new Option<string?>("--at") { Description = "Show expiry as of this ISO-8601 time (default: now)" };
        var list = new Command("list", "List the sets and values of a reference-value file.") { listFile, at };
        list.SetAction(parse => CliErrors.Guard(parse, () =>
        {
            var now = CliOptions.TimeAt(parse.GetValue(at)).GetUtcNow();
            var o = parse.InvocationConfiguration.Output;
            foreach (var s in Guarded(() => ReferenceValueFile.Load(parse.GetValue(listFile)!)))
            {
                o.WriteLine(s.Name);
                foreach (var v in s.Values)
                {
                    var state = v.Expires is null ? "no expiry" : v.IsExpiredAt(now) ? $"EXPIRED {v.Expires:yyyy-MM-ddTHH:mm:ssZ}" : $"until {v.Expires:yyyy-MM-ddTHH:mm:ssZ}";
                    o.WriteLine($"  {v.Value}  ({state}; {v.Provenance})");
                }
            }

            return ExitCodes.Ok;
        }));
        refvalue.Add(list);
        return refvalue;
    }

    private static (string Value, string Provenance) FromMeasure(string path, string? provenance)
    {
        try
        {
            using var doc = JsonDocument.Parse(CliOptions.ReadFile(path, "--from-measure"));
            var r = doc.RootElement;
            var measurement = r.ValueKind == JsonValueKind.Object && r.TryGetProperty("measurement", out var m) && m.ValueKind == JsonValueKind.String
                ? m.GetString()!
                : throw new CliUsageException("--from-measure: expected the JSON output of 'veil measure snp --output json'");
            string Field(string n) => r.TryGetProperty(n, out var f) ? f.ToString() : "?";
            return (measurement, provenance ?? $"veil measure snp: mode={Field("mode")} vcpus={Field("vcpus")} vcpu_type={Field("vcpu_type")} vmm_type={Field("vmm_type")} guest_features={Field("guest_features")} ({Path.GetFileName(path)})");
        }
        catch (JsonException e)
        {
            throw new CliUsageException($"--from-measure: not valid JSON: {e.Message}");
        }
    }

    private static Command Check()
    {
        var policy = PolicyOption();
        var parameters = ParamOption();
        var refValues = RefValuesOption();
        var cmd = new Command("check", "Check a policy, resource policy or reference-value file; the first problem is reported at file:line (exit 2).")
        {
            policy, parameters, refValues,
        };
        cmd.SetAction(parse => CliErrors.Guard(parse, () =>
        {
            var name = parse.GetValue(policy)!;
            var o = parse.InvocationConfiguration.Output;
            var kind = DefaultPolicies.Text(name) is null && File.Exists(name) ? Guarded(() => PolicyLoader.KindOf(File.ReadAllText(name), name)) : "AttestationPolicy";
            switch (kind)
            {
                case "ReferenceValues":
                    var sets = Guarded(() => ReferenceValueFile.Load(name));
                    o.WriteLine($"{name}: ok, {sets.Count} reference sets, {sets.Sum(x => x.Values.Count)} values");
                    return ExitCodes.Ok;
                case "ResourcePolicy":
                    var rp = Guarded(() => ResourcePolicy.Load(name, RefStore(parse.GetValue(refValues))));
                    foreach (var rule in rp.Default is { } d ? [.. rp.Rules, d] : rp.Rules)
                    {
                        // Every attestation policy a resource names must load too (parameters as given).
                        LoadPolicy(rule.AttestationPolicy, parse.GetValue(parameters), parse.GetValue(refValues), $"policy named at {rule.Source}");
                    }

                    o.WriteLine($"{name}: ok, {rp.Rules.Count} resource rules, " + (rp.Default is null ? "unlisted resources denied" : $"default policy {rp.Default.AttestationPolicy}"));
                    return ExitCodes.Ok;
            }

            var p = LoadPolicy(name, parse.GetValue(parameters), parse.GetValue(refValues));
            o.WriteLine($"{p.File}: ok, policy {p.Id}");
            foreach (var (k, sub) in p.Submodules.OrderBy(s => s.Key))
            {
                o.WriteLine($"  {k.ToString().ToLowerInvariant(),-7} accepts [{string.Join(", ", sub.AcceptedTees)}], at least {sub.MinCount}, {sub.Rules.Count} rules");
            }

            if (p.ReferenceSetsUsed.Count > 0)
            {
                o.WriteLine($"  reference sets: {string.Join(", ", p.ReferenceSetsUsed)}");
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Claims()
    {
        var tee = new Option<string?>("--tee") { Description = "Only claims of this TEE (snp, tdx, nvidia, sample, veil, init_data)" };
        var cmd = new Command("claims", "List the claim names a policy may use, with their types.") { tee };
        cmd.SetAction(parse => CliErrors.Guard(parse, () =>
        {
            var filter = parse.GetValue(tee);
            var o = parse.InvocationConfiguration.Output;
            foreach (var d in Veil.Policy.Claims.ClaimCatalogue.All.Where(d => filter is null || d.Tee == filter))
            {
                o.WriteLine($"{d.Name,-38} {d.Type.ToString().ToLowerInvariant(),-10} {d.Description}");
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Init()
    {
        var claims = new Option<string>("--claims") { Description = "Claims JSON to pin (as for 'veil appraise --claims')", Required = true };
        var name = new Option<string>("--name") { Description = "Policy name", DefaultValueFactory = _ => "pinned" };
        var cmd = new Command("init", "Print a policy that accepts exactly the given claims (a starting point to loosen by hand).") { claims, name };
        cmd.SetAction(parse => CliErrors.Guard(parse, () =>
        {
            var path = parse.GetValue(claims)!;
            var evidence = Guarded(() => ClaimsFile.Parse(System.Text.Encoding.UTF8.GetString(CliOptions.ReadFile(path, "--claims")), path));
            if (evidence.Submodules.FirstOrDefault(s => !s.Verified) is { } failed)
            {
                // A policy pinned to what unverified evidence states would accept exactly what nobody checked.
                throw new CliUsageException($"--claims: {path} holds the unverified claims of a failed verification ({failed.Tee}: {string.Join(", ", failed.Failures ?? [])}); pin only claims that verified");
            }

            parse.InvocationConfiguration.Output.Write(PolicyGenerator.FromEvidence(evidence, parse.GetValue(name)!));
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    internal static Option<string> PolicyOption() => new("--policy") { Description = "Policy file (YAML or JSON) or a shipped policy name (strict)", Required = true };

    internal static Option<string[]> ParamOption() => new("--param") { Description = "Policy parameter name=value (repeatable), e.g. snp_min_microcode=115", AllowMultipleArgumentsPerToken = false };

    internal static Option<string[]> RefValuesOption() => new("--reference-values") { Description = "Reference-value file (repeatable)" };

    internal static AttestationPolicy LoadPolicy(string policy, string[]? parameters, string[]? refValueFiles, string what = "policy input")
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in parameters ?? [])
        {
            var eq = p.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new CliUsageException($"--param: '{p}' is not name=value");
            }

            values[p[..eq]] = p[(eq + 1)..];
        }

        return Guarded(() => DefaultPolicies.Load(policy, RefStore(refValueFiles), values), what);
    }

    private static ReferenceValueStore? RefStore(string[]? files)
    {
        ReferenceValueStore? store = null;
        foreach (var f in files ?? [])
        {
            store ??= new ReferenceValueStore();
            Guarded(() => { store.AddAll(ReferenceValueFile.Load(f)); return 0; });
        }

        return store;
    }

    /// <summary>Policy and claims documents that cannot be used are bad input (exit 2), reported at file:line.</summary>
    private static T Guarded<T>(Func<T> load, string what = "policy input")
    {
        try
        {
            return load();
        }
        catch (PolicyLoadException e)
        {
            throw new CliUsageException($"invalid {what}: {e.Message}", e);
        }
    }

    private static void WriteTable(AppraisalResult r, TextWriter o)
    {
        o.WriteLine($"policy  {r.PolicyId}");
        o.WriteLine($"status  {AppraisalResult.StatusName(r.Status).ToUpperInvariant()}");
        o.WriteLine();
        o.WriteLine($"{"submodule",-10} {"tee",-7} {"status",-16} trust vector");
        foreach (var s in r.Submodules)
        {
            var vector = string.Join(" ", s.TrustVector.Entries.Where(e => e.Value != 0).Select(e => $"{e.Name}={e.Value.ToString(CultureInfo.InvariantCulture)}"));
            o.WriteLine($"{s.Name,-10} {s.Tee,-7} {AppraisalResult.StatusName(s.Status),-16} {(vector.Length == 0 ? "-" : vector)}");
        }

        var explanations = r.Explanations;
        if (explanations.Count > 0)
        {
            o.WriteLine();
            o.WriteLine("explanations");
            foreach (var e in explanations)
            {
                o.WriteLine($"  {e.Submodule,-8} {e.Rule,-28} {e}  ({e.Source})");
            }
        }
    }
}
