using System.Globalization;
using Veil.Broker.Storage;

namespace Veil.Broker.Audit;

/// <summary>
/// The most one audit row holds per field (about 3 KiB in all): a longer value is cut, and the cut says how long it
/// was, so that the row still tells what happened while a caller cannot make rows of any size.
/// </summary>
internal static class AuditBounds
{
    public const int Actor = 64;
    public const int Action = 128;
    public const int Resource = 400;
    public const int EvidenceDigest = 80;
    public const int Reason = 2048;

    /// <summary>An admin token's <c>sub</c> (OIDC allows any length; 255 is what common issuers stay within).</summary>
    public const int Subject = 256;

    /// <summary>A resource path segment is at most 128 characters (<c>ResourcePath</c>).</summary>
    public const int Repository = 128;

    public static AuditEntry Bound(AuditEntry e) => e with
    {
        Actor = Cut(e.Actor, Actor),
        Action = Cut(e.Action, Action),
        Resource = e.Resource is null ? null : Cut(e.Resource, Resource),
        EvidenceDigest = e.EvidenceDigest is null ? null : Cut(e.EvidenceDigest, EvidenceDigest),
        Reason = Cut(e.Reason, Reason),
        Subject = e.Subject is null ? null : Cut(e.Subject, Subject),
        Repository = e.Repository is null ? null : Cut(e.Repository, Repository),
    };

    public static string Cut(string value, int max)
    {
        if (value.Length <= max)
        {
            return value;
        }

        var marker = $"…[truncated, {value.Length.ToString(CultureInfo.InvariantCulture)} chars]";
        var keep = Math.Max(0, max - marker.Length);
        // Never split a surrogate pair: the row is UTF-8 text.
        if (keep > 0 && char.IsHighSurrogate(value[keep - 1]))
        {
            keep--;
        }

        return value[..keep] + marker;
    }
}
