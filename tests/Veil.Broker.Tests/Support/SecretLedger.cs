using System.Collections.Concurrent;
using System.Text;

namespace Veil.Broker.Tests.Support;

/// <summary>Every secret the suite handed to or got from a broker: resource values, keys, tokens, session ids.</summary>
internal static class SecretLedger
{
    private static readonly ConcurrentDictionary<string, string> Secrets = new(StringComparer.Ordinal);

    public static IReadOnlyDictionary<string, string> All => Secrets;

    public static void Add(string what, string secret)
    {
        if (secret.Length >= 8)
        {
            Secrets.TryAdd(secret, what);
        }
    }

    public static void AddBytes(string what, byte[] secret)
    {
        Add(what + " (base64)", Convert.ToBase64String(secret));
        Add(what + " (hex)", Convert.ToHexStringLower(secret));
        var text = Encoding.UTF8.GetString(secret);
        if (!text.Contains('\uFFFD', StringComparison.Ordinal))
        {
            Add(what, text);
        }
    }

    /// <summary>Each secret found in the lines, with what it was; empty when clean.</summary>
    public static IReadOnlyList<string> Scan(IEnumerable<string> lines, IReadOnlyDictionary<string, string> secrets)
    {
        var text = string.Join("\n", lines);
        return secrets.Where(s => text.Contains(s.Key, StringComparison.Ordinal)).Select(s => s.Value).ToList();
    }
}
