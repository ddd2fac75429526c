using Veil.Broker.Endpoints;

namespace Veil.Broker.Admin;

/// <summary>What an admin role lets its holder do (the rules: <see cref="AdminIdentity"/>).</summary>
internal enum AdminRoleKind
{
    /// <summary>Everything.</summary>
    Admin,

    /// <summary>Resources, the resource policy and the audit rows of one KBS repository.</summary>
    TenantAdmin,

    /// <summary>Reads the whole audit log.</summary>
    Auditor,

    /// <summary>Attestation policies and reference values.</summary>
    PolicyAdmin,
}

/// <summary>One role: <c>admin</c>, <c>tenant-admin:&lt;repository&gt;</c>, <c>auditor</c> or <c>policy-admin</c>.</summary>
internal sealed record AdminRole(AdminRoleKind Kind, string? Repository = null)
{
    public const string TenantPrefix = "tenant-admin:";

    public const string Known = "admin, tenant-admin:<repository>, auditor, policy-admin";

    public static AdminRole Admin { get; } = new(AdminRoleKind.Admin);

    /// <summary>The role a text names, or null when it names none (the repository is a resource path segment).</summary>
    public static AdminRole? Parse(string text) => text switch
    {
        "admin" => Admin,
        "auditor" => new(AdminRoleKind.Auditor),
        "policy-admin" => new(AdminRoleKind.PolicyAdmin),
        _ when text.StartsWith(TenantPrefix, StringComparison.Ordinal) && ResourcePath.IsSegment(text[TenantPrefix.Length..]) =>
            new(AdminRoleKind.TenantAdmin, text[TenantPrefix.Length..]),
        _ => null,
    };

    public override string ToString() => Kind switch
    {
        AdminRoleKind.Admin => "admin",
        AdminRoleKind.TenantAdmin => TenantPrefix + Repository,
        AdminRoleKind.Auditor => "auditor",
        _ => "policy-admin",
    };
}
