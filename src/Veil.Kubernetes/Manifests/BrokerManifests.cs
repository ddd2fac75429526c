namespace Veil.Kubernetes.Manifests;

/// <summary>
/// The broker as replicas on PostgreSQL: N pods (RollingUpdate that never drops below N ready, spread over nodes, a
/// PodDisruptionBudget keeping all but one up during node drains), the store URL and the shared keys from Secrets.
/// No volume holds state: the data directory is a 0700 subdirectory the broker creates in an emptyDir (collateral
/// caches only). Nothing secret is a file there: the store URL, the master key and the token-signing key arrive as
/// environment variables from Secrets, the admin public key as a read-only file under /etc/veil/keys passed with
/// --admin-public-key, so every replica holds the same keys and the data directory stays the broker's alone.
/// </summary>
internal static class BrokerManifests
{
    /// <summary>Where the replicas read the admin public key (from the keys Secret, read-only).</summary>
    public const string AdminPublicKeyPath = ManifestBuilder.KeysDir + "/admin-public.pem";

    private static readonly Dictionary<string, object> Labels = new() { ["app.kubernetes.io/name"] = ManifestBuilder.BrokerName };

    public static Dictionary<string, object> DisruptionBudget(ManifestOptions o)
    {
        var pdb = ManifestBuilder.Obj("policy/v1", "PodDisruptionBudget", ManifestBuilder.BrokerName, o.Namespace);
        pdb["spec"] = new Dictionary<string, object>
        {
            ["maxUnavailable"] = 1,
            ["selector"] = new Dictionary<string, object> { ["matchLabels"] = Labels },
        };
        return pdb;
    }

    public static Dictionary<string, object> ReplicatedDeployment(ManifestOptions o, Dictionary<string, object> container, Dictionary<string, object> deployment)
    {
        var env = (List<object>)container["env"];
        // Secrets as environment variables: the store URL (with its password), and the two private keys, which a
        // Secret volume could only show group-readable (fsGroup), and the broker refuses key files others can read.
        env.Add(SecretEnv("VEIL_BROKER_STORE", o.BrokerStoreSecret!, "url")); // the broker's StoreLocation.EnvironmentVariable
        env.Add(SecretEnv("VEIL_MASTER_KEY", o.BrokerKeysSecret, "master.key")); // the broker's MasterKey.EnvironmentVariable
        env.Add(SecretEnv("VEIL_TOKEN_SIGNING_KEY", o.BrokerKeysSecret, "token-signing-key.pem")); // BrokerKeys.TokenSigningKeyVariable
        // The admin public key is not secret: a read-only file outside the data directory, named by --admin-public-key.
        var args = (List<object>)container["args"];
        args.AddRange(["--admin-public-key", AdminPublicKeyPath]);
        container["volumeMounts"] = new List<object>
        {
            ManifestBuilder.Mount("data", ManifestBuilder.DataMount, readOnly: false),
            ManifestBuilder.Mount("keys", ManifestBuilder.KeysDir),
            ManifestBuilder.Mount("tls", ManifestBuilder.TlsDir),
            ManifestBuilder.Mount("config", ManifestBuilder.ConfigDir),
        };

        var spec = (Dictionary<string, object>)deployment["spec"];
        spec["strategy"] = new Dictionary<string, object>
        {
            ["type"] = "RollingUpdate",
            ["rollingUpdate"] = new Dictionary<string, object> { ["maxUnavailable"] = 0, ["maxSurge"] = 1 },
        };
        var podSpec = (Dictionary<string, object>)((Dictionary<string, object>)spec["template"])["spec"];
        podSpec["volumes"] = new List<object>
        {
            new Dictionary<string, object> { ["name"] = "data", ["emptyDir"] = new Dictionary<string, object>() },
            new Dictionary<string, object>
            {
                ["name"] = "keys",
                ["secret"] = new Dictionary<string, object>
                {
                    ["secretName"] = o.BrokerKeysSecret,
                    ["items"] = new List<object> { new Dictionary<string, object> { ["key"] = "admin-public.pem", ["path"] = "admin-public.pem" } },
                },
            },
            new Dictionary<string, object> { ["name"] = "tls", ["secret"] = new Dictionary<string, object> { ["secretName"] = ManifestBuilder.BrokerName + "-tls" } },
            new Dictionary<string, object> { ["name"] = "config", ["configMap"] = new Dictionary<string, object> { ["name"] = ManifestBuilder.BrokerName } },
        };
        // One replica per node where the cluster has the nodes: a node loss takes one replica, not all of them.
        podSpec["affinity"] = new Dictionary<string, object>
        {
            ["podAntiAffinity"] = new Dictionary<string, object>
            {
                ["preferredDuringSchedulingIgnoredDuringExecution"] = new List<object>
                {
                    new Dictionary<string, object>
                    {
                        ["weight"] = 100,
                        ["podAffinityTerm"] = new Dictionary<string, object>
                        {
                            ["topologyKey"] = "kubernetes.io/hostname",
                            ["labelSelector"] = new Dictionary<string, object> { ["matchLabels"] = Labels },
                        },
                    },
                },
            },
        };
        return deployment;
    }

    private static Dictionary<string, object> SecretEnv(string name, string secret, string key) => new()
    {
        ["name"] = name,
        ["valueFrom"] = new Dictionary<string, object>
        {
            ["secretKeyRef"] = new Dictionary<string, object> { ["name"] = secret, ["key"] = key },
        },
    };
}
