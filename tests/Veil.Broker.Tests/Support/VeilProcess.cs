using System.Diagnostics;

namespace Veil.Broker.Tests.Support;

/// <summary>Runs the built <c>veil</c> CLI (veil.dll) as a child process, capturing its output into the suite's logs.</summary>
internal sealed class VeilProcess : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    private VeilProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    /// <summary>Every line the process wrote so far, stdout and stderr interleaved as received.</summary>
    public IReadOnlyCollection<string> Lines => _lines;

    public static VeilProcess Start(params string[] args) => StartWith(new Dictionary<string, string?>(), args);

    /// <summary>As <see cref="Start"/>, with variables set (or, when null, removed) in the child's environment.</summary>
    public static VeilProcess StartWith(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(FindVeilDll());
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment)
        {
            psi.Environment[name] = value;
        }

        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var vp = new VeilProcess(p);
        p.OutputDataReceived += (_, e) => vp.OnLine(e.Data);
        p.ErrorDataReceived += (_, e) => vp.OnLine(e.Data);
        p.Exited += (_, _) => vp._listening.TrySetException(new InvalidOperationException("veil exited before listening"));
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return vp;
    }

    /// <summary>Waits for the process to end (a broker that refused to start) and returns its exit code.</summary>
    public async Task<int> ExitAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        _process.WaitForExit(); // drains the redirected output into Lines
        return _process.ExitCode;
    }

    public Task<Uri> ListeningAsync() => _listening.Task.WaitAsync(TimeSpan.FromSeconds(60));

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void KillHard()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            KillHard();
        }

        _process.Dispose();
    }

    /// <summary>The built veil.dll next to this test assembly's build.</summary>
    public static string VeilDll => FindVeilDll();

    private static string FindVeilDll()
    {
        var baseDir = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var leaf = Path.GetFileName(baseDir);
        var candidates = new List<string>
        {
            // --artifacts-path layout: <artifacts>/bin/<Project>/<config>/
            Path.Combine(baseDir, "..", "..", "Veil.Cli", leaf, "veil.dll"),
        };
        // Default layout: tests/<Project>/bin/<Config>/<tfm>/ → src/Veil.Cli/bin/<Config>/<tfm>/
        var config = Path.GetFileName(Path.GetDirectoryName(baseDir)!);
        candidates.Add(Path.Combine(baseDir, "..", "..", "..", "..", "..", "src", "Veil.Cli", "bin", config, leaf, "veil.dll"));
        return candidates.Select(Path.GetFullPath).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("veil.dll not found; looked in " + string.Join(", ", candidates.Select(Path.GetFullPath)));
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        LogCapture.Shared.Add("[veil " + _process.Id + "] " + line);
        _lines.Enqueue(line);
        const string marker = "veil broker listening on ";
        var i = line.IndexOf(marker, StringComparison.Ordinal);
        if (i >= 0)
        {
            _listening.TrySetResult(new Uri(line[(i + marker.Length)..].Split(' ')[0]));
        }
    }
}
