using Veil.Policy;
using Veil.Policy.ReferenceValues;
using Veil.Policy.Resources;

namespace Veil.Broker.Appraisal;

/// <summary>
/// A repository's own resource policy, set by its tenant admin. It adds to the global one and cannot widen it: a release
/// needs the global policy to allow it and, when the repository has a policy, that one too. Its rules may name only
/// resources of its repository (the first path segment is the repository, never <c>*</c>), so no tenant's policy
/// reaches another's resources; its <c>default</c> covers the rest of its repository. Stored with the other resource
/// policies (kind <c>resource</c>, id <c>repo:&lt;repository&gt;</c>), so replicas receive it as they do the global one.
/// </summary>
internal static class TenantResourcePolicies
{
    private const string IdPrefix = "repo:";

    public static string Id(string repository) => IdPrefix + repository;

    public static string? RepositoryOfId(string id) => id.StartsWith(IdPrefix, StringComparison.Ordinal) ? id[IdPrefix.Length..] : null;

    /// <summary>The repository of a resource path <c>repository/type/tag</c>.</summary>
    public static string RepositoryOf(string resource) => resource.Split('/', 2)[0];

    /// <summary>Loads and checks a repository's policy; <see cref="PolicyLoadException"/> names the rule that reaches outside.</summary>
    public static ResourcePolicy Parse(string repository, string text, IReferenceValueStore values)
    {
        var policy = ResourcePolicy.Parse(text, $"resource policy of repository {repository}", values);
        foreach (var rule in policy.Rules)
        {
            if (rule.Pattern.Split('/')[0] != repository)
            {
                throw new PolicyLoadException(rule.Source,
                    $"path '{rule.Pattern}' is outside repository '{repository}': a repository's resource policy names only {repository}/<type>/<tag> resources");
            }
        }

        return policy;
    }
}
