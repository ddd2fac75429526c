namespace Veil.Broker.Admin;

/// <summary>How an admin token was verified: the broker's own (or --admin-public-key) keys, or the OIDC issuer's JWKS.</summary>
internal enum AdminTokenSource
{
    LocalKey,
    Oidc,
}

/// <summary>
/// A verified admin caller: its subject (the token's <c>sub</c>) and roles. Local-key tokens carry their role in the
/// token; OIDC subjects get theirs from the broker's <c>admin-roles</c> bindings (docs/admin-identities.md says why).
/// </summary>
internal sealed record AdminIdentity(string Subject, AdminTokenSource Source, IReadOnlyList<AdminRole> Roles)
{
    public bool IsAdmin => Has(AdminRoleKind.Admin);

    /// <summary>The repositories this subject administers as a tenant (empty for admin, who holds them all).</summary>
    public IReadOnlyList<string> TenantRepositories =>
        Roles.Where(r => r.Kind == AdminRoleKind.TenantAdmin).Select(r => r.Repository!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    public string RoleList => string.Join(", ", Roles);

    public bool Has(AdminRoleKind kind) => Roles.Any(r => r.Kind == kind);

    /// <summary>Resources and the resource policy of <paramref name="repository"/>.</summary>
    public bool ManagesRepository(string repository) => IsAdmin || TenantRepositories.Contains(repository, StringComparer.Ordinal);

    /// <summary>Attestation policies and reference values.</summary>
    public bool ManagesPolicies => IsAdmin || Has(AdminRoleKind.PolicyAdmin);

    /// <summary>Which audit rows it may read: null for every row, else those of its repositories (none: no access).</summary>
    public IReadOnlyList<string>? AuditScope => IsAdmin || Has(AdminRoleKind.Auditor) ? null : TenantRepositories;

    /// <summary>Which resources it may list: null for every one, else those of its repositories.</summary>
    public IReadOnlyList<string>? ResourceScope => IsAdmin ? null : TenantRepositories;
}
