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

    [SharedVectorsFact]
    public void Every_upstream_vector_is_in_the_repository_copy_byte_for_byte()
    {
        var missing = new List<string>();
        var different = new List<string>();
        var files = Directory.GetFiles(Upstream, "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var relative = Path.GetRelativePath(Upstream, file);
            var copy = Path.Combine(Vectors.Root, relative);
            if (!File.Exists(copy))
            {
                missing.Add(relative);
            }
            else if (!SHA256.HashData(File.ReadAllBytes(file)).AsSpan().SequenceEqual(SHA256.HashData(File.ReadAllBytes(copy))))
            {
                different.Add(relative);
            }
        }

        Assert.True(missing.Count == 0 && different.Count == 0,
            "testdata/vectors is behind shared/vectors (cp -a ../shared/vectors/. testdata/vectors/): missing " +
            string.Join(", ", missing) + "; different " + string.Join(", ", different));
    }

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

    /// <summary>Runs only where the workspace's shared/vectors is beside the checkout; says why otherwise.</summary>
    private sealed class SharedVectorsFactAttribute : FactAttribute
    {
        public SharedVectorsFactAttribute()
        {
            if (!File.Exists(Path.Combine(Upstream, "README.md")))
            {
                Skip = "no shared/vectors beside this checkout (" + Upstream + "): nothing upstream to compare the repository copy with";
            }
        }
    }
}
