using System.CommandLine;
using Veil.Kubernetes;
using Veil.Kubernetes.Hosting;
using Veil.Kubernetes.InitData;
using Veil.Kubernetes.Manifests;

namespace Veil.Cli.Commands;

/// <summary><c>veil admission serve</c> (the webhook) and <c>veil k8s manifests</c> (the objects to deploy it and the broker).</summary>
internal static class KubernetesCommands
{
    public static Command CreateAdmission()
    {
        var cmd = new Command("admission", "The Kubernetes admission webhook that enforces confidential runtime classes.");
        cmd.Add(Serve());
        return cmd;
    }

    public static Command CreateK8s()
    {
        var cmd = new Command("k8s", "Kubernetes deployment helpers.");
        cmd.Add(Manifests());
        cmd.Add(InitData());
        return cmd;
    }

    private static Task<int> GuardAsync(ParseResult parse, Func<Task<int>> action) => CliErrors.GuardAsync(parse, async () =>
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (WebhookConfigurationException e)
        {
            throw new CliUsageException(e.Message);
        }
    });

    private static Command Serve()
    {
        var tlsCert = new Option<string>("--tls-cert") { Description = "Serving certificate (PEM); its CA goes into the webhook's caBundle", Required = true };
        var tlsKey = new Option<string>("--tls-key") { Description = "Serving key (PEM)", Required = true };
        var config = new Option<string?>("--config") { Description = "Webhook settings (YAML or JSON): allowed-runtime-classes, broker-url, unseal-image, ..." };
        var urls = new Option<string[]?>("--urls") { Description = "HTTPS addresses to listen on (default https://0.0.0.0:8443)", AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("serve", "Serve POST /validate, POST /mutate and GET /healthz over HTTPS.") { tlsCert, tlsKey, config, urls };
        cmd.SetAction((parse, ct) => GuardAsync(parse, async () =>
        {
            var webhook = parse.GetValue(config) is { } path ? WebhookConfigFile.Load(path) : new WebhookOptions();
            var options = new AdmissionServerOptions
            {
                TlsCertificatePath = parse.GetValue(tlsCert)!,
                TlsKeyPath = parse.GetValue(tlsKey)!,
                Webhook = webhook,
                Urls = parse.GetValue(urls) is { Length: > 0 } u ? u : ["https://0.0.0.0:8443"],
            };
            await using var server = await AdmissionServer.StartAsync(options, ct).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            output.WriteLine(server.StartupLine);
            output.WriteLine(webhook.KeySource == UnsealKeySource.Cdh
                ? "veil admission: sealed models get their key through the guest's confidential-data-hub (key-source cdh); point the pods' init-data at the broker"
                : $"veil admission: sealed models' agents attest to {webhook.BrokerUrl} themselves (key-source broker)");

            output.Flush();
            try
            {
                await server.WaitForShutdownAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: shut down cleanly.
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Manifests()
    {
        var ns = new Option<string>("--namespace") { Description = "Namespace of the webhook and broker (default veil)", DefaultValueFactory = _ => "veil" };
        var image = new Option<string?>("--image") { Description = "Veil image (entrypoint veil) for the webhook, the broker and the injected init container" };
        var brokerUrl = new Option<string?>("--broker-url") { Description = "Broker URL injected agents use (default https://veil-broker.<namespace>.svc:8443/)" };
        var caBundle = new Option<string?>("--ca-bundle") { Description = "PEM file of the CA that signed the webhook certificate (becomes caBundle)" };
        var policyParams = new Option<string[]>("--policy-param")
        {
            Description = "name=value for the broker's strict policy, e.g. snp_min_bootloader=10 (repeat; without them the broker refuses to start)",
            AllowMultipleArgumentsPerToken = false,
        };
        var storeSecret = new Option<string?>("--broker-store-secret")
        {
            Description = "Secret whose 'url' key holds a postgresql:// store URL: the broker runs as replicas on it (keys from --broker-keys-secret); without it, one replica on SQLite",
        };
        var keysSecret = new Option<string>("--broker-keys-secret") { Description = "Secret with master.key, token-signing-key.pem, admin-public.pem shared by the replicas (default veil-broker-keys)", DefaultValueFactory = _ => "veil-broker-keys" };
        var replicas = new Option<int?>("--broker-replicas") { Description = "Broker replicas with --broker-store-secret (default 3); SQLite runs one" };
        var cmd = new Command("manifests", "Print the YAML to deploy the admission webhook and the broker.") { ns, image, brokerUrl, caBundle, policyParams, storeSecret, keysSecret, replicas };
        cmd.SetAction((parse, ct) => GuardAsync(parse, () =>
        {
            var name = parse.GetValue(ns)!;
            if (!IsDnsLabel(name))
            {
                throw new CliUsageException($"--namespace: '{name}' is not a DNS label (lower-case letters, digits, '-', at most 63)");
            }

            string? pem = null;
            if (parse.GetValue(caBundle) is { } caPath)
            {
                pem = System.Text.Encoding.UTF8.GetString(CliOptions.ReadFile(caPath, "--ca-bundle"));
                if (!pem.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
                {
                    throw new CliUsageException($"--ca-bundle: {caPath} holds no PEM certificate");
                }
            }

            var store = parse.GetValue(storeSecret);
            var count = parse.GetValue(replicas);
            if (store is null && count is { } c && c != 1)
            {
                throw new CliUsageException("--broker-replicas: the SQLite store runs one replica (it sits on a ReadWriteOnce volume); give --broker-store-secret for a PostgreSQL store");
            }

            if (count is < 1 or > 50)
            {
                throw new CliUsageException("--broker-replicas: between 1 and 50");
            }

            foreach (var (flag, secret) in new[] { ("--broker-store-secret", store), ("--broker-keys-secret", parse.GetValue(keysSecret)) })
            {
                if (secret is not null && !IsDnsLabel(secret))
                {
                    throw new CliUsageException($"{flag}: '{secret}' is not a Secret name (lower-case letters, digits, '-', at most 63)");
                }
            }

            var options = new ManifestOptions
            {
                BrokerStoreSecret = store,
                BrokerKeysSecret = parse.GetValue(keysSecret)!,
                BrokerReplicas = count ?? 3,
                Namespace = name,
                Image = parse.GetValue(image) ?? new ManifestOptions().Image,
                BrokerUrl = parse.GetValue(brokerUrl) is { } b ? WebhookConfigFile.BrokerUrl(b, "--broker-url") : null,
                CaBundlePem = pem,
                BrokerPolicyParameters = PolicyParameters(parse.GetValue(policyParams) ?? []),
            };
            parse.InvocationConfiguration.Output.Write(ManifestBuilder.ToYaml(ManifestBuilder.Build(options)));
            if (pem is null)
            {
                parse.InvocationConfiguration.Error.WriteLine("veil: note: no --ca-bundle: the webhook configurations carry no caBundle; inject one (e.g. cert-manager's CA injector) or the API server cannot call the webhook");
            }

            if (options.BrokerPolicyParameters.Count == 0)
            {
                parse.InvocationConfiguration.Error.WriteLine("veil: note: no --policy-param: the broker's strict policy has no TCB minimums, so it will refuse to start until policy-params are set in ConfigMap veil-broker");
            }

            return Task.FromResult(ExitCodes.Ok);
        }));
        return cmd;
    }

    /// <summary>
    /// The init-data that points a CoCo guest's attestation agent and CDH at the broker, its pod annotation, and the
    /// values its digest takes in hardware (what the broker's init-data binding will compare).
    /// </summary>
    private static Command InitData()
    {
        var brokerUrl = new Option<string>("--broker-url") { Description = "Broker URL as the guest reaches it (https; the attestation agent starts before any container)", Required = true };
        var brokerCa = new Option<string?>("--broker-ca") { Description = "PEM file of the CA that signed the broker's certificate, if it is a private CA" };
        var alg = new Option<string>("--alg") { Description = "sha256 (fills SNP HOST_DATA) | sha384 (fills TDX MRCONFIGID) | sha512", DefaultValueFactory = _ => "sha384" };
        var output = new Option<string>("--out") { Description = "Where to write the init-data TOML", Required = true };
        var cmd = new Command("initdata", $"Write the init-data that points the guest at the broker and print its {KataInitData.Annotation} annotation.") { brokerUrl, brokerCa, alg, output };
        cmd.SetAction((parse, ct) => GuardAsync(parse, () =>
        {
            var broker = WebhookConfigFile.BrokerUrl(parse.GetValue(brokerUrl)!, "--broker-url");
            var ca = parse.GetValue(brokerCa) is { } caPath ? System.Text.Encoding.UTF8.GetString(CliOptions.ReadFile(caPath, "--broker-ca")) : null;
            var document = System.Text.Encoding.UTF8.GetBytes(KataInitData.Document(broker, ca, parse.GetValue(alg)!));
            var measurement = Veil.Measure.InitData.InitDataDigest.Compute(document);
            var path = parse.GetValue(output)!;
            if (File.Exists(path))
            {
                throw new CliUsageException($"--out: {path} exists; refusing to overwrite init-data whose digest may already be a reference value");
            }

            File.WriteAllBytes(path, document);
            var o = parse.InvocationConfiguration.Output;
            o.WriteLine($"init-data written to {path} ({measurement.Algorithm}; the guest's attestation agent and confidential-data-hub use {broker.GetLeftPart(UriPartial.Path).TrimEnd('/')})");
            o.WriteLine($"pod annotation  {KataInitData.Annotation}: {KataInitData.Encode(document)}");
            o.WriteLine($"snp.host_data   {Convert.ToHexStringLower(measurement.SnpHostData)}");
            o.WriteLine($"tdx.mr_config_id {Convert.ToHexStringLower(measurement.TdxMrConfigId)}");
            return Task.FromResult(ExitCodes.Ok);
        }));
        return cmd;
    }

    /// <summary>Checked here with the broker's own reader, so a typo fails now rather than at the broker's start.</summary>
    private static List<string> PolicyParameters(string[] pairs)
    {
        try
        {
            Veil.Broker.Hosting.BrokerConfigFile.ParsePolicyParameters(pairs, "--policy-param");
        }
        catch (Veil.Broker.BrokerConfigurationException e)
        {
            throw new CliUsageException(e.Message);
        }

        return [.. pairs];
    }

    private static bool IsDnsLabel(string s) =>
        s.Length is > 0 and <= 63 && s.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') && s[0] != '-' && s[^1] != '-';
}
