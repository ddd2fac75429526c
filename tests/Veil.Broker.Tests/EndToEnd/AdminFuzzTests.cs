using System.Net;
using System.Text;
using Veil.Broker.Tests.Support;
using Veil.Tests.Shared;

namespace Veil.Broker.Tests.EndToEnd;

/// <summary>
/// Mutated admin bodies (policy documents, resource policies, reference values, and the JSON envelopes around them)
/// against the real broker: every one is answered 2xx or a 4xx problem, never a 500.
/// </summary>
public class AdminFuzzTests
{
    private const string AttestationPolicy = """
        apiVersion: veil.dev/v1
        kind: AttestationPolicy
        metadata: {name: fuzzed}
        submodules:
          cpu:
            accept: [sample]
            rules:
              - {name: svn-approved, claim: sample.svn, inSet: approved-svns, trust: hardware}
              - {name: svn-number, claim: sample.svn, matches: "^[0-9]+$"}
        """;

    private const string ResourcePolicy = """
        apiVersion: veil.dev/v1
        kind: ResourcePolicy
        default: {attestationPolicy: sample}
        resources:
          - path: default/model/gated
            attestationPolicy: sample
            require:
              - {name: owner, claim: init_data.model_owner, equals: acme}
        """;

    private const string ReferenceValues = "apiVersion: veil.dev/v1\nkind: ReferenceValues\nsets:\n  approved-svns:\n    - value: \"1\"\n      provenance: \"test\"\n      expires: 2100-01-01T00:00:00Z\n";

    private static string B64Url(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static TheoryData<string, string> Targets() => new()
    {
        { "kbs/v0/attestation-policy", "policy" },
        { "kbs/v0/resource-policy", "resource-policy" },
        { "kbs/v0/reference-value", "reference-values" },
        { "kbs/v0/reference-value", "rvps" },
        { "kbs/v0/attestation-policy", "envelope" },
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Mutated_admin_bodies_are_never_a_500(string endpoint, string layer)
    {
        await using var broker = await TestBroker.StartAsync(allowSample: true);
        using var admin = broker.NewAdminClient();
        Func<byte[], string> wrap = layer switch
        {
            "policy" => yaml => $$"""{"policy_id":"fuzzed","policy":"{{B64Url(yaml)}}"}""",
            "resource-policy" => yaml => $$"""{"policy":"{{B64Url(yaml)}}"}""",
            "reference-values" => yaml => Encoding.UTF8.GetString(yaml),
            "rvps" => json => $$"""{"version":"0.1.0","type":"sample","payload":"{{Convert.ToBase64String(json)}}"}""",
            _ => raw => Encoding.Latin1.GetString(raw),
        };
        byte[] seed = layer switch
        {
            "policy" => Encoding.UTF8.GetBytes(AttestationPolicy),
            "resource-policy" => Encoding.UTF8.GetBytes(ResourcePolicy),
            "reference-values" => Encoding.UTF8.GetBytes(ReferenceValues),
            "rvps" => """{"approved-svns":["1","2"]}"""u8.ToArray(),
            _ => Encoding.UTF8.GetBytes($$"""{"policy_id":"fuzzed","policy":"{{B64Url(Encoding.UTF8.GetBytes(AttestationPolicy))}}"}"""),
        };

        var statuses = new Dictionary<int, int>();
        var report = new MutationFuzzer([seed], seed: endpoint.Length * 31 + layer.Length).Run(
            input =>
            {
                var body = layer == "envelope" ? input : Encoding.UTF8.GetBytes(wrap(input));
                using var content = new ByteArrayContent(body);
                using var r = admin.PostAsync(new Uri(endpoint, UriKind.Relative), content).GetAwaiter().GetResult();
                statuses[(int)r.StatusCode] = statuses.GetValueOrDefault((int)r.StatusCode) + 1;
                if (r.StatusCode == HttpStatusCode.InternalServerError)
                {
                    throw new InvalidOperationException("500: " + r.Content.ReadAsStringAsync().GetAwaiter().GetResult());
                }
            },
            _ => false,
            maxInputs: 3_000,
            budget: TimeSpan.FromSeconds(3));

        Assert.True(report.Inputs > 100, $"only {report.Inputs} inputs ran");
        Assert.True(report.CrashCount == 0, string.Join("\n", report.Crashes.Take(3).Select(c => $"{c.Exception.Message} <- {Encoding.UTF8.GetString(c.Input)[..Math.Min(200, c.Input.Length)]}")));
        Assert.True(statuses.Keys.Any(s => s >= 400), "no input was refused: the mutations did not reach the parser");
    }
}
