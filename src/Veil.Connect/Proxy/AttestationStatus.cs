using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Veil.Policy.Appraisal;

namespace Veil.Connect.Proxy;

/// <summary>What <c>GET /.veil/status</c> shows: the last attestation and two counters (fixed size, whatever happens).</summary>
internal sealed class AttestationStatus
{
    private AttestationOutcome? last;
    private long accepted;
    private long refused;

    public void Record(AttestationOutcome outcome)
    {
        Volatile.Write(ref last, outcome);
        Interlocked.Increment(ref outcome.Accepted ? ref accepted : ref refused);
    }

    public AttestationOutcome? Last => Volatile.Read(ref last);

    public JsonObject ToJson(string gateway) => new()
    {
        ["gateway"] = gateway,
        ["attestations_accepted"] = Interlocked.Read(ref accepted),
        ["attestations_refused"] = Interlocked.Read(ref refused),
        ["last"] = Last is { } o ? OutcomeJson(o) : null,
    };

    public static JsonObject OutcomeJson(AttestationOutcome o)
    {
        var facts = new JsonObject();
        foreach (var (k, v) in o.Facts.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            facts[k] = v;
        }

        return new JsonObject
        {
            ["accepted"] = o.Accepted,
            ["at"] = o.At.ToString("O", CultureInfo.InvariantCulture),
            ["endpoint"] = o.Endpoint,
            ["tee"] = o.Tee,
            ["tls_spki_sha256"] = o.TlsSpkiSha256,
            ["facts"] = facts,
            ["reasons"] = new JsonArray([.. o.Reasons.Select(r => (JsonNode)r)]),
            ["appraisal"] = o.Appraisal is null ? null : EarJson.From(o.Appraisal),
        };
    }

    public string ToHtml(string gateway)
    {
        static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
        var o = Last;
        var sb = new StringBuilder();
        sb.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>veil connect</title>")
          .Append("<style>body{font-family:sans-serif;margin:2em}td{padding:2px 12px 2px 0;vertical-align:top}.ok{color:#070}.no{color:#a00}</style></head><body>")
          .Append(CultureInfo.InvariantCulture, $"<h1>veil connect → {E(gateway)}</h1>");
        if (o is null)
        {
            sb.Append("<p>No attestation yet: the first request opens and attests a connection.</p>");
        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"{(o.Accepted ? "ok" : "no")}\"><b>{(o.Accepted ? "Attested: requests are forwarded" : "Refused: nothing is forwarded")}</b></p><table>")
              .Append(CultureInfo.InvariantCulture, $"<tr><td>when</td><td>{E(o.At.ToString("u", CultureInfo.InvariantCulture))}</td></tr>")
              .Append(CultureInfo.InvariantCulture, $"<tr><td>TLS key (SHA-256 of SPKI)</td><td><code>{E(o.TlsSpkiSha256)}</code></td></tr>");
            foreach (var (k, v) in o.Facts.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(k)}</td><td><code>{E(v)}</code></td></tr>");
            }

            sb.Append("</table>");
            if (o.Reasons.Count > 0)
            {
                sb.Append("<h2>Why</h2><ul>");
                foreach (var r in o.Reasons)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<li>{E(r)}</li>");
                }

                sb.Append("</ul>");
            }
        }

        sb.Append(CultureInfo.InvariantCulture, $"<p>accepted {Interlocked.Read(ref accepted)}, refused {Interlocked.Read(ref refused)} · <a href=\"/.veil/status?format=json\">JSON</a></p></body></html>");
        return sb.ToString();
    }
}
