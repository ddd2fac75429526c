using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Veil.Broker.Admin;

/// <summary>
/// <c>admin-roles</c>: which roles each OIDC subject holds, as <c>subject=role[,role…]</c> entries (the last '=' splits,
/// roles contain none). Broker config, never a token claim: the issuer proves who someone is, this broker decides what
/// they may do. Any entry that does not parse stops the broker from starting, naming the entry.
/// </summary>
internal sealed class RoleBindings
{
    public const int MaxSubject = Audit.AuditBounds.Subject;

    private readonly IReadOnlyDictionary<string, IReadOnlyList<AdminRole>> _bySubject;

    private RoleBindings(IReadOnlyDictionary<string, IReadOnlyList<AdminRole>> bySubject) => _bySubject = bySubject;

    public static RoleBindings Empty { get; } = new(new Dictionary<string, IReadOnlyList<AdminRole>>());

    public int Count => _bySubject.Count;

    /// <summary>One line per subject, sorted, <c>subject=role,role</c>: what is recorded and compared at start.</summary>
    public string Canonical => string.Join("\n", _bySubject.OrderBy(b => b.Key, StringComparer.Ordinal).Select(b => b.Key + "=" + string.Join(",", b.Value)));

    public string Digest => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Canonical)));

    /// <summary>Every repository some subject administers as a tenant.</summary>
    public IReadOnlyList<string> TenantRepositories =>
        _bySubject.Values.SelectMany(r => r).Where(r => r.Kind == AdminRoleKind.TenantAdmin).Select(r => r.Repository!).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>The roles bound to <paramref name="subject"/>; empty when it has none.</summary>
    public IReadOnlyList<AdminRole> RolesOf(string subject) => _bySubject.TryGetValue(subject, out var roles) ? roles : [];

    /// <summary>Throws <see cref="BrokerConfigurationException"/> naming <paramref name="where"/>[i] and the entry.</summary>
    public static RoleBindings Parse(IReadOnlyList<string> entries, string where)
    {
        var result = new Dictionary<string, IReadOnlyList<AdminRole>>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            string At(string why) => $"{where}[{i.ToString(CultureInfo.InvariantCulture)}] '{Problems.CallerText.Echo(entry)}': {why}";
            var eq = entry.LastIndexOf('=');
            if (eq <= 0 || eq == entry.Length - 1)
            {
                throw new BrokerConfigurationException(At("expected subject=role[,role...]"));
            }

            var subject = entry[..eq].Trim();
            if (subject.Length == 0 || subject.Length > MaxSubject || subject.Any(char.IsControl))
            {
                throw new BrokerConfigurationException(At($"the subject must be 1 to {MaxSubject} characters without control characters"));
            }

            var roles = new List<AdminRole>();
            foreach (var text in entry[(eq + 1)..].Split(',', StringSplitOptions.TrimEntries))
            {
                var role = AdminRole.Parse(text) ?? throw new BrokerConfigurationException(At($"unknown role '{Problems.CallerText.Echo(text)}' (known: {AdminRole.Known})"));
                if (!roles.Contains(role))
                {
                    roles.Add(role);
                }
            }

            if (!result.TryAdd(subject, roles))
            {
                throw new BrokerConfigurationException(At($"subject '{Problems.CallerText.Echo(subject)}' is bound twice; list all its roles in one entry"));
            }
        }

        return new RoleBindings(result);
    }

    /// <summary>What changed from <paramref name="previous"/> (a <see cref="Canonical"/> text) to this, for the audit row.</summary>
    public string DescribeChangeFrom(string? previous)
    {
        var before = (previous ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => (Subject: l[..l.LastIndexOf('=')], Roles: l[(l.LastIndexOf('=') + 1)..]))
            .ToDictionary(x => x.Subject, x => x.Roles, StringComparer.Ordinal);
        var after = _bySubject.ToDictionary(b => b.Key, b => string.Join(",", b.Value), StringComparer.Ordinal);
        var changes = new List<string>();
        foreach (var (subject, roles) in after.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            if (!before.TryGetValue(subject, out var old))
            {
                changes.Add($"added {subject}={roles}");
            }
            else if (old != roles)
            {
                changes.Add($"changed {subject}: {old} -> {roles}");
            }
        }

        changes.AddRange(before.Keys.Where(s => !after.ContainsKey(s)).Order(StringComparer.Ordinal).Select(s => $"removed {s}={before[s]}"));
        return changes.Count == 0 ? "no change" : string.Join("; ", changes);
    }
}
