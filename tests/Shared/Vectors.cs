namespace Veil.Tests.Shared;

/// <summary>
/// Locates testdata/vectors, the repository's own byte-for-byte copy of the real evidence from public projects
/// (see testdata/vectors/THIRD-PARTY.md). Tests read only this copy, so a clone with nothing beside it passes.
/// </summary>
internal static class Vectors
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    public static string Root => RootPath.Value;

    /// <summary>The repository root, as the build that compiled the tests saw it.</summary>
    public static string RepoRoot => typeof(Vectors).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
        .Cast<System.Reflection.AssemblyMetadataAttribute>()
        .First(a => a.Key == "VeilRepoRoot").Value!;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public static byte[] Bytes(params string[] parts) => File.ReadAllBytes(Path(parts));

    public static string Text(params string[] parts) => File.ReadAllText(Path(parts));

    private static string FindRoot()
    {
        var root = System.IO.Path.Combine(RepoRoot, "testdata", "vectors");
        if (!File.Exists(System.IO.Path.Combine(root, "README.md")))
        {
            throw new DirectoryNotFoundException("testdata/vectors/README.md not found under " + RepoRoot + " (the repository's vector copy)");
        }

        return root;
    }
}
