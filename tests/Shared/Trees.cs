using System.Diagnostics;

namespace Veil.Tests.Shared;

/// <summary>Compares two folder trees as <c>diff -r</c> would: the same entries, files byte for byte.</summary>
internal static class Trees
{
    /// <summary>Every entry under <paramref name="root"/> (hidden ones included) as sorted relative paths, folders ending in '/'.</summary>
    public static List<string> Entries(string root) =>
    [
        .. Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(p => Path.GetRelativePath(root, p).Replace(Path.DirectorySeparatorChar, '/') + (Directory.Exists(p) ? "/" : ""))
            .Order(StringComparer.Ordinal),
    ];

    /// <summary>Fails naming the first entry that differs, or the first file whose bytes differ.</summary>
    public static void AssertEqual(string expected, string actual)
    {
        var want = Entries(expected);
        var got = Entries(actual);
        Xunit.Assert.Equal(want, got);
        foreach (var file in want.Where(e => !e.EndsWith('/')))
        {
            var a = File.ReadAllBytes(Path.Combine(expected, file));
            var b = File.ReadAllBytes(Path.Combine(actual, file));
            Xunit.Assert.True(a.AsSpan().SequenceEqual(b), $"{file}: bytes differ");
        }
    }

    /// <summary>Runs the system's <c>diff -r</c> (diffutils; Essential in Debian) and returns its exit code and output.</summary>
    public static (int Exit, string Output) DiffR(string a, string b)
    {
        var psi = new ProcessStartInfo("diff") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-r");
        psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(b);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("diff did not start");
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }
}
