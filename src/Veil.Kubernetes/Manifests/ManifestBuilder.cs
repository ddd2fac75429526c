using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.EventEmitters;

namespace Veil.Kubernetes.Manifests;

/// <summary>
/// The Kubernetes objects of a Veil deployment, built as dictionaries and emitted with YamlDotNet (no string
/// templates, so quoting is always right). Names and ports match deploy/helm/veil.
/// </summary>
public static class ManifestBuilder
{
    public const string WebhookName = "veil-admission";
    public const string BrokerName = "veil-broker";
    public const int Port = 8443;
    internal const string TlsDir = "/etc/veil/tls";
    internal const string ConfigDir = "/etc/veil/config";
    // The broker refuses a data directory group or others can open, and a volume root under fsGroup is group-writable
    // (and not ours to chmod): the data directory is a subdirectory created 0700 ('broker init' on the SQLite volume,
    // the broker itself in the replicas' emptyDir).
    internal const string DataMount = "/var/lib/veil";
    internal const string DataDir = DataMount + "/broker";
    // The replicas' shared keys that are files (the admin public key): read-only, outside the data directory.
    internal const string KeysDir = "/etc/veil/keys";

    public static IReadOnlyList<Dictionary<string, object>> Build(ManifestOptions o)
    {
        var ns = o.Namespace;
        return
        [
            Obj("v1", "Namespace", ns, null),
            WebhookConfigMap(o),
            WebhookDeployment(o),
            Service(ns, WebhookName, 443),
            Webhook(o, "ValidatingWebhookConfiguration", "validate", ["pods", "pods/ephemeralcontainers"]),
            Webhook(o, "MutatingWebhookConfiguration", "mutate", ["pods"]),
            BrokerConfigMap(o),
            .. o.BrokerReplicated ? [BrokerManifests.DisruptionBudget(o)] : new[] { BrokerClaim(o) },
            BrokerDeployment(o),
            Service(ns, BrokerName, Port),
        ];
    }

    public static string ToYaml(IEnumerable<Dictionary<string, object>> objects)
    {
        var serializer = Serializer();
        var sb = new StringBuilder();
        foreach (var obj in objects)
        {
            sb.Append("---\n").Append(serializer.Serialize(obj));
        }

        return sb.ToString();
    }

    /// <summary>Strings that YAML would read as booleans or numbers ("true", "8443") are quoted.</summary>
    internal static ISerializer Serializer() => new SerializerBuilder()
        .WithQuotingNecessaryStrings()
        .DisableAliases()
        .WithEventEmitter(next => new LiteralMultilineEmitter(next))
        .Build();

    /// <summary>Multi-line strings (the webhook's settings file in the ConfigMap) as a literal block, readable with kubectl.</summary>
    private sealed class LiteralMultilineEmitter(IEventEmitter next) : ChainedEventEmitter(next)
    {
        public override void Emit(ScalarEventInfo eventInfo, IEmitter emitter)
        {
            if (eventInfo.Source.Value is string s && s.Contains('\n', StringComparison.Ordinal))
            {
                eventInfo.Style = ScalarStyle.Literal;
            }

            base.Emit(eventInfo, emitter);
        }
    }

    /// <summary>The webhook's settings file (same keys as <c>veil admission serve --config</c>).</summary>
    public static string WebhookConfigYaml(ManifestOptions o) => Serializer().Serialize(new Dictionary<string, object>
    {
        ["key-source"] = "cdh",
        ["broker-url"] = o.EffectiveBrokerUrl.ToString(),
        ["unseal-image"] = o.Image,
        ["allowed-runtime-classes"] = new WebhookOptions().AllowedRuntimeClasses.ToList(),
    });

    internal static Dictionary<string, object> Obj(string apiVersion, string kind, string name, string? ns)
    {
        var meta = new Dictionary<string, object> { ["name"] = name };
        if (ns is not null)
        {
            meta["namespace"] = ns;
        }

        meta["labels"] = new Dictionary<string, object> { ["app.kubernetes.io/part-of"] = "veil" };
        return new() { ["apiVersion"] = apiVersion, ["kind"] = kind, ["metadata"] = meta };
    }

    private static Dictionary<string, object> WebhookConfigMap(ManifestOptions o)
    {
        var cm = Obj("v1", "ConfigMap", WebhookName, o.Namespace);
        cm["data"] = new Dictionary<string, object> { ["webhook.yaml"] = WebhookConfigYaml(o) };
        return cm;
    }

    private static Dictionary<string, object> WebhookDeployment(ManifestOptions o)
    {
        var container = Container(o.Image, "webhook",
            ["admission", "serve", "--tls-cert", $"{TlsDir}/tls.crt", "--tls-key", $"{TlsDir}/tls.key", "--config", $"{ConfigDir}/webhook.yaml", "--urls", $"https://0.0.0.0:{Port}"],
            [Mount("tls", TlsDir), Mount("config", ConfigDir)]);
        container["readinessProbe"] = new Dictionary<string, object>
        {
            ["httpGet"] = new Dictionary<string, object> { ["path"] = "/healthz", ["port"] = Port, ["scheme"] = "HTTPS" },
        };
        var volumes = new List<object>
        {
            new Dictionary<string, object> { ["name"] = "tls", ["secret"] = new Dictionary<string, object> { ["secretName"] = WebhookName + "-tls" } },
            new Dictionary<string, object> { ["name"] = "config", ["configMap"] = new Dictionary<string, object> { ["name"] = WebhookName } },
        };
        // Two replicas: with failurePolicy Fail, no pod starts in an enforced namespace while the webhook is down.
        return Deployment(o.Namespace, WebhookName, 2, container, volumes, recreate: false);
    }

    /// <summary>The broker's settings file (same keys as <c>veil broker serve --config</c>).</summary>
    public static string BrokerConfigYaml(ManifestOptions o) => Serializer().Serialize(new Dictionary<string, object>
    {
        ["policy"] = "strict",
        ["policy-params"] = o.BrokerPolicyParameters.ToList(),
    });

    private static Dictionary<string, object> BrokerConfigMap(ManifestOptions o)
    {
        var cm = Obj("v1", "ConfigMap", BrokerName, o.Namespace);
        cm["data"] = new Dictionary<string, object> { ["broker.yaml"] = BrokerConfigYaml(o) };
        return cm;
    }

    private static Dictionary<string, object> BrokerDeployment(ManifestOptions o)
    {
        var container = Container(o.Image, "broker",
            ["broker", "serve", "--config", $"{ConfigDir}/broker.yaml", "--data-dir", DataDir, "--urls", $"https://0.0.0.0:{Port}", "--tls-cert", $"{TlsDir}/tls.crt", "--tls-key", $"{TlsDir}/tls.key"],
            [Mount("data", DataMount, readOnly: false), Mount("tls", TlsDir), Mount("config", ConfigDir)]);

        // Measured in bench/RESULTS.md (broker-handshake): on one or two cores, .NET keeps postponing the optimising
        // recompilation under load, and the broker runs unoptimised code; without tiering it uses about a fifth less
        // CPU per handshake and its p99 latency halves. The CLI's other commands keep tiering for a fast start.
        // Without tiering the image's precompiled (ReadyToRun) code would run for good, less optimised than the JIT's:
        // ReadyToRun off compiles each method once, fully optimised, at its first call (6-15 % less CPU per handshake).
        container["env"] = new List<object>
        {
            new Dictionary<string, object> { ["name"] = "DOTNET_TieredCompilation", ["value"] = "0" },
            new Dictionary<string, object> { ["name"] = "DOTNET_ReadyToRun", ["value"] = "0" },
        };
        // Readiness follows the store (a replica that cannot reach it, or misses configuration changes, takes no
        // traffic); liveness never does, so a store outage does not restart every replica at once.
        container["readinessProbe"] = Probe("/readyz", periodSeconds: 5, failureThreshold: 2);
        container["livenessProbe"] = Probe("/livez", periodSeconds: 10, failureThreshold: 6);
        if (o.BrokerReplicated)
        {
            return BrokerManifests.ReplicatedDeployment(o, container, Deployment(o.Namespace, BrokerName, o.BrokerReplicas, container, [], recreate: false));
        }

        var volumes = new List<object>
        {
            new Dictionary<string, object> { ["name"] = "data", ["persistentVolumeClaim"] = new Dictionary<string, object> { ["claimName"] = BrokerName + "-data" } },
            new Dictionary<string, object> { ["name"] = "tls", ["secret"] = new Dictionary<string, object> { ["secretName"] = BrokerName + "-tls" } },
            new Dictionary<string, object> { ["name"] = "config", ["configMap"] = new Dictionary<string, object> { ["name"] = BrokerName } },
        };

        // The first start creates the keys on the volume; later starts find them and change nothing. The admin token
        // written there is short-lived; mint another with kubectl exec ... veil broker token mint --data-dir /var/lib/veil/broker.
        var init = Container(o.Image, "broker-init", ["broker", "init", "--data-dir", DataDir, "--if-missing"], [Mount("data", DataMount, readOnly: false)]);
        init.Remove("ports");

        // One replica and Recreate: the SQLite store sits on a ReadWriteOnce volume.
        var deployment = Deployment(o.Namespace, BrokerName, 1, container, volumes, recreate: true);
        var podSpec = (Dictionary<string, object>)((Dictionary<string, object>)((Dictionary<string, object>)deployment["spec"])["template"])["spec"];
        podSpec["initContainers"] = new List<object> { init };
        return deployment;
    }

    private static Dictionary<string, object> Probe(string path, int periodSeconds, int failureThreshold) => new()
    {
        ["httpGet"] = new Dictionary<string, object> { ["path"] = path, ["port"] = Port, ["scheme"] = "HTTPS" },
        ["periodSeconds"] = periodSeconds,
        ["failureThreshold"] = failureThreshold,
    };

    private static Dictionary<string, object> BrokerClaim(ManifestOptions o)
    {
        var pvc = Obj("v1", "PersistentVolumeClaim", BrokerName + "-data", o.Namespace);
        pvc["spec"] = new Dictionary<string, object>
        {
            ["accessModes"] = new List<object> { "ReadWriteOnce" },
            ["resources"] = new Dictionary<string, object> { ["requests"] = new Dictionary<string, object> { ["storage"] = o.BrokerStorage } },
        };
        return pvc;
    }

    private static Dictionary<string, object> Container(string image, string name, List<object> args, List<object> mounts) => new()
    {
        ["name"] = name,
        ["image"] = image,
        ["command"] = new List<object> { "veil" },
        ["args"] = args,
        ["ports"] = new List<object> { new Dictionary<string, object> { ["name"] = "https", ["containerPort"] = Port } },
        ["volumeMounts"] = mounts,
        ["securityContext"] = new Dictionary<string, object>
        {
            ["allowPrivilegeEscalation"] = false,
            ["readOnlyRootFilesystem"] = true,
            ["capabilities"] = new Dictionary<string, object> { ["drop"] = new List<object> { "ALL" } },
        },
    };

    internal static Dictionary<string, object> Mount(string name, string path, bool readOnly = true) =>
        new() { ["name"] = name, ["mountPath"] = path, ["readOnly"] = readOnly };

    private static Dictionary<string, object> Deployment(string ns, string name, int replicas, Dictionary<string, object> container, List<object> volumes, bool recreate)
    {
        var labels = new Dictionary<string, object> { ["app.kubernetes.io/name"] = name };
        var d = Obj("apps/v1", "Deployment", name, ns);
        var spec = new Dictionary<string, object>
        {
            ["replicas"] = replicas,
            ["selector"] = new Dictionary<string, object> { ["matchLabels"] = labels },
            ["template"] = new Dictionary<string, object>
            {
                ["metadata"] = new Dictionary<string, object> { ["labels"] = labels },
                ["spec"] = new Dictionary<string, object>
                {
                    // Neither server talks to the Kubernetes API.
                    ["automountServiceAccountToken"] = false,
                    // OnRootMismatch: the kubelet does not re-open every file on the volume to the group at each start
                    // (the broker's keys must stay 0600 and its data directory 0700).
                    ["securityContext"] = new Dictionary<string, object> { ["runAsNonRoot"] = true, ["runAsUser"] = 65532, ["fsGroup"] = 65532, ["fsGroupChangePolicy"] = "OnRootMismatch" },
                    ["containers"] = new List<object> { container },
                    ["volumes"] = volumes,
                },
            },
        };
        if (recreate)
        {
            spec["strategy"] = new Dictionary<string, object> { ["type"] = "Recreate" };
        }

        d["spec"] = spec;
        return d;
    }

    private static Dictionary<string, object> Service(string ns, string name, int port)
    {
        var s = Obj("v1", "Service", name, ns);
        s["spec"] = new Dictionary<string, object>
        {
            ["selector"] = new Dictionary<string, object> { ["app.kubernetes.io/name"] = name },
            ["ports"] = new List<object> { new Dictionary<string, object> { ["name"] = "https", ["port"] = port, ["targetPort"] = Port } },
        };
        return s;
    }

    private static Dictionary<string, object> Webhook(ManifestOptions o, string kind, string path, List<object> resources)
    {
        var clientConfig = new Dictionary<string, object>
        {
            ["service"] = new Dictionary<string, object> { ["name"] = WebhookName, ["namespace"] = o.Namespace, ["path"] = "/" + path, ["port"] = 443 },
        };
        if (o.CaBundlePem is { } pem)
        {
            clientConfig["caBundle"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(pem));
        }

        var hook = new Dictionary<string, object>
        {
            ["name"] = $"{path}.veil.dev",
            ["clientConfig"] = clientConfig,
            ["rules"] = new List<object>
            {
                new Dictionary<string, object>
                {
                    ["apiGroups"] = new List<object> { "" },
                    ["apiVersions"] = new List<object> { "v1" },
                    ["operations"] = new List<object> { "CREATE", "UPDATE" },
                    ["resources"] = resources,
                    ["scope"] = "Namespaced",
                },
            },
            // Fail closed: if the webhook cannot answer, pods in enforced namespaces are not admitted.
            ["failurePolicy"] = "Fail",
            ["sideEffects"] = "None",
            ["admissionReviewVersions"] = new List<object> { "v1" },
            ["timeoutSeconds"] = 10,
            ["namespaceSelector"] = new Dictionary<string, object>
            {
                ["matchLabels"] = new Dictionary<string, object> { [VeilNames.EnforcedNamespaceLabel] = VeilNames.EnforcedNamespaceValue },
            },
        };
        if (kind == "MutatingWebhookConfiguration")
        {
            hook["reinvocationPolicy"] = "Never";
        }

        var cfg = Obj("admissionregistration.k8s.io/v1", kind, WebhookName, null);
        cfg["webhooks"] = new List<object> { hook };
        return cfg;
    }
}
