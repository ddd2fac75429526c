using System.Text;
using System.Text.Json.Nodes;
using Veil.Kubernetes.Admission;

namespace Veil.Kubernetes.Tests;

/// <summary>AdmissionReview requests shaped like the API server sends them (admission.k8s.io/v1, with the fields it always fills).</summary>
internal static class Fixtures
{
    public const string Uid = "705ab4f5-6393-11e8-b7cc-42010a800002";

    /// <summary>A value that must never reach a log line or a response.</summary>
    public const string SecretEnv = "hf_s3cr3t_T0KEN_do_not_log";

    /// <summary>A GPU inference pod as a user would write it, with no runtime class yet.</summary>
    public static JsonObject GpuPod() => JsonNode.Parse($$"""
        {
          "apiVersion": "v1",
          "kind": "Pod",
          "metadata": {
            "generateName": "llm-",
            "namespace": "ml",
            "labels": { "app": "llm" },
            "annotations": { "kubectl.kubernetes.io/last-applied-configuration": "{}" }
          },
          "spec": {
            "containers": [
              {
                "name": "server",
                "image": "vllm/vllm-openai:v0.8.0",
                "env": [ { "name": "HF_TOKEN", "value": "{{SecretEnv}}" } ],
                "resources": { "limits": { "nvidia.com/pgpu": "1", "memory": "64Gi" }, "requests": { "cpu": "4" } },
                "volumeMounts": [ { "name": "weights", "mountPath": "/models" } ],
                "terminationMessagePath": "/dev/termination-log",
                "imagePullPolicy": "IfNotPresent"
              }
            ],
            "volumes": [ { "name": "weights", "persistentVolumeClaim": { "claimName": "llama-sealed" } } ],
            "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "schedulerName": "default-scheduler",
            "enableServiceLinks": true
          }
        }
        """)!.AsObject();

    /// <summary>A pod without any GPU or sealed model.</summary>
    public static JsonObject PlainPod() => JsonNode.Parse("""
        { "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "web", "namespace": "ml" },
          "spec": { "containers": [ { "name": "nginx", "image": "nginx:1.27", "ports": [ { "containerPort": 80 } ] } ],
                    "volumes": [ { "name": "logs", "hostPath": { "path": "/var/log" } } ], "hostNetwork": true } }
        """)!.AsObject();

    public static JsonObject Review(JsonNode? obj, string operation = "CREATE", string kind = "Pod", string resource = "pods", string? subResource = null)
    {
        var request = new JsonObject
        {
            ["uid"] = Uid,
            ["kind"] = new JsonObject { ["group"] = kind == "Deployment" ? "apps" : "", ["version"] = "v1", ["kind"] = kind },
            ["resource"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["resource"] = resource },
            ["requestKind"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["kind"] = kind },
            ["requestResource"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["resource"] = resource },
            ["namespace"] = "ml",
            ["operation"] = operation,
            ["userInfo"] = new JsonObject { ["username"] = "kubernetes-admin", ["groups"] = new JsonArray("kubeadm:cluster-admins", "system:authenticated") },
            ["object"] = obj?.DeepClone(),
            ["oldObject"] = operation == "UPDATE" ? obj?.DeepClone() : null,
            ["dryRun"] = false,
            ["options"] = new JsonObject { ["kind"] = operation == "CREATE" ? "CreateOptions" : "UpdateOptions", ["apiVersion"] = "meta.k8s.io/v1" },
        };
        if (subResource is not null)
        {
            request["subResource"] = subResource;
        }

        return new JsonObject { ["apiVersion"] = "admission.k8s.io/v1", ["kind"] = "AdmissionReview", ["request"] = request };
    }

    public static byte[] Bytes(JsonNode review) => Encoding.UTF8.GetBytes(review.ToJsonString());

    public static AdmissionRequest Request(JsonObject pod, string operation = "CREATE") => AdmissionReviewReader.Read(Bytes(Review(pod, operation)));

    public static JsonObject WithRuntimeClass(this JsonObject pod, string rc)
    {
        pod["spec"]!["runtimeClassName"] = rc;
        return pod;
    }

    public static JsonObject Annotate(this JsonObject pod, string key, string value)
    {
        pod["metadata"]!["annotations"]![key] = value;
        return pod;
    }

    /// <summary>Runs /mutate like the API server: decode the base64 JSON patch from the response and apply it.</summary>
    public static (JsonObject Pod, AdmissionDecision Decision) Mutate(AdmissionHandler handler, JsonObject pod)
    {
        var (_, decision, response) = handler.Handle(Bytes(Review(pod)), mutate: true);
        var r = JsonNode.Parse(response)!["response"]!;
        if (r["patch"] is null)
        {
            Assert.Null(decision.Patch);
            return (pod, decision);
        }

        Assert.Equal("JSONPatch", r["patchType"]!.GetValue<string>());
        var patch = JsonNode.Parse(Convert.FromBase64String(r["patch"]!.GetValue<string>()))!.AsArray();
        return (JsonPatchApplier.Apply(pod, patch).AsObject(), decision);
    }
}
