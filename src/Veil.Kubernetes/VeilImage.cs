using System.Reflection;

namespace Veil.Kubernetes;

/// <summary>
/// The image <c>scripts/build-image</c> builds from the Containerfile: <c>localhost/veil:&lt;version&gt;</c>, the version
/// being this build's (Directory.Build.props), so that the manifests of a release name that release's image.
/// <c>localhost/</c> keeps an unqualified name from resolving to a public registry; push it elsewhere and pass
/// <c>--image</c> (or the chart's <c>image.repository</c>).
/// </summary>
public static class VeilImage
{
    public const string Repository = "localhost/veil";

    /// <summary>The version part of this assembly's informational version ("0.1.0+commit" → "0.1.0").</summary>
    public static string Version { get; } =
        typeof(VeilImage).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];

    public static string Default { get; } = Repository + ":" + Version;
}
