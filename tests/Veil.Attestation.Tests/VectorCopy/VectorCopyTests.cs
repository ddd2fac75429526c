using System.Security.Cryptography;
using Veil.Tests.Shared;
using Xunit;

namespace Veil.Attestation.Tests.VectorCopy;

/// <summary>
/// shared/vectors beside the checkout is where new upstream vectors arrive; testdata/vectors is the
/// repository's copy that the tests read. This keeps the two from drifting apart unnoticed.
/// </summary>
public sealed class VectorCopyTests
{
    private static readonly string Upstream = Path.GetFullPath(Path.Combine(Vectors.RepoRoot, "..", "shared", "vectors"));

    /// <summary>
    /// testdata/vectors/SHA256SUMS records each upstream file's digest (sha256sum format). Everywhere, the repository
    /// copy must match it: a clone with nothing beside it still proves its vectors are the upstream bytes (a checkout
    /// that rewrote line endings, or a file lost in a move, fails here). Where shared/vectors is beside the checkout,
    /// the list must also be exactly upstream's files and digests, so a newly arrived vector fails until it is copied
    /// and listed (the commands are in testdata/vectors/THIRD-PARTY.md).
    /// </summary>
    [Fact]
    public void The_repository_copy_is_the_upstream_vectors_byte_for_byte()
    {
        var recorded = Recorded();
        Assert.True(recorded.Count > 200, $"only {recorded.Count} entries in SHA256SUMS");
        var wrong = recorded.Where(r => !File.Exists(Path.Combine(Vectors.Root, r.Key)) || Digest(Path.Combine(Vectors.Root, r.Key)) != r.Value).Select(r => r.Key).ToList();
        Assert.True(wrong.Count == 0, "testdata/vectors differs from SHA256SUMS: " + string.Join(", ", wrong));

        if (!File.Exists(Path.Combine(Upstream, "README.md")))
        {
            return; // No upstream beside this checkout: the recorded digests are the comparison.
        }

        var upstream = Directory.GetFiles(Upstream, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(Upstream, f).Replace('\\', '/'), Digest, StringComparer.Ordinal);
        var missing = upstream.Keys.Where(k => !recorded.ContainsKey(k)).ToList();
        var different = upstream.Where(u => recorded.TryGetValue(u.Key, out var d) && d != u.Value).Select(u => u.Key).ToList();
        var gone = recorded.Keys.Where(k => !upstream.ContainsKey(k)).ToList();
        Assert.True(missing.Count == 0 && different.Count == 0 && gone.Count == 0,
            "testdata/vectors is behind shared/vectors (cp -a ../shared/vectors/. testdata/vectors/ and regenerate SHA256SUMS): new " +
            string.Join(", ", missing) + "; changed " + string.Join(", ", different) + "; no longer upstream " + string.Join(", ", gone));
    }

    private static Dictionary<string, string> Recorded() =>
        File.ReadAllLines(Vectors.Path("SHA256SUMS"))
            .Where(l => l.Length > 66 && !l.StartsWith('#'))
            .ToDictionary(l => l[66..], l => l[..64], StringComparer.Ordinal);

    private static string Digest(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));

    [Fact]
    public void Every_vector_folder_keeps_its_manifest_and_names_a_licence_text()
    {
        var notice = Vectors.Text("THIRD-PARTY.md");
        foreach (var dir in Directory.GetDirectories(Vectors.Root).Where(d => Path.GetFileName(d) != "LICENSES"))
        {
            var name = Path.GetFileName(dir);
            Assert.True(File.Exists(Path.Combine(dir, "MANIFEST.md")), name + " has no MANIFEST.md");
            Assert.Contains("`" + name + "/`", notice, StringComparison.Ordinal);
        }

        foreach (var licence in new[] { "Apache-2.0.txt", "BSD-3-Clause-NVIDIA-nvtrust.txt", "MIT-Phala-Network-dcap-qvl.txt", "MIT-microsoft-TEE-Attestation-Verification.txt" })
        {
            Assert.True(new FileInfo(Vectors.Path("LICENSES", licence)).Length > 900, licence);
        }
    }
}
