using System.Globalization;
using Microsoft.AspNetCore.Http;
using Veil.Broker.Problems;
using Veil.Broker.Storage;

namespace Veil.Broker.Endpoints;

/// <summary><c>GET /veil/v0/audit?limit=N</c>: the newest rows, newest first; a tenant admin reads only its repositories' rows.</summary>
internal static class AuditEndpoints
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static async Task<IResult> ReadAsync(HttpContext http, IBrokerStore store, CancellationToken ct)
    {
        var limit = DefaultLimit;
        if (http.Request.Query.TryGetValue("limit", out var text)
            && (text.Count != 1 || !int.TryParse(text[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            return KbsProblem.BadRequest("InvalidRequest", $"limit: expected one whole number from 1 to {MaxLimit}");
        }

        var rows = await store.ListAuditAsync(limit, AdminGuard.Identity(http).AuditScope, ct).ConfigureAwait(false);
        return Results.Json(rows.Select(e => new Dictionary<string, string?>
        {
            ["at"] = e.At.ToString("O"),
            ["kind"] = SqliteBrokerStore.KindName(e.Kind),
            ["actor"] = e.Actor,
            ["subject"] = e.SubjectOrActor,
            ["action"] = e.Action,
            ["resource"] = e.Resource,
            ["repository"] = e.Repository,
            ["evidence_digest"] = e.EvidenceDigest,
            ["outcome"] = e.Outcome,
            ["reason"] = e.Reason,
        }));
    }
}
