namespace Veil.Tests.Shared;

/// <summary>
/// Locates ../shared/vectors (real evidence from public projects). Vectors are read in place, never copied
/// into the repository. VEIL_VECTORS overrides the location.
/// </summary>
internal static class Vectors
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    public static string Root => RootPath.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public static byte[] Bytes(params string[] parts) => File.ReadAllBytes(Path(parts));

    public static string Text(params string[] parts) => File.ReadAllText(Path(parts));

    private static string FindRoot()
    {
        var env = Environment.GetEnvironmentVariable("VEIL_VECTORS");
        if (!string.IsNullOrEmpty(env))
        {
            return env;
        }

        var repo = typeof(Vectors).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "VeilRepoRoot")?.Value;
        if (repo is not null && File.Exists(System.IO.Path.Combine(repo, "..", "shared", "vectors", "README.md")))
        {
            return System.IO.Path.GetFullPath(System.IO.Path.Combine(repo, "..", "shared", "vectors"));
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "..", "shared", "vectors");
            if (File.Exists(System.IO.Path.Combine(candidate, "README.md")))
            {
                return System.IO.Path.GetFullPath(candidate);
            }
        }

        throw new DirectoryNotFoundException("../shared/vectors not found above " + AppContext.BaseDirectory + "; set VEIL_VECTORS");
    }
}
