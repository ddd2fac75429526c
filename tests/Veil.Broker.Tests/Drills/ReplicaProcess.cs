using System.Diagnostics;

namespace Veil.Broker.Tests.Drills;

/// <summary>
/// One <c>veil broker serve</c> replica as its own process on a fixed loopback port (so a restart comes back where the
/// load balancer expects it). The store URL goes in through VEIL_BROKER_STORE, never the command line.
/// </summary>
internal sealed class ReplicaProcess : IDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lastLines = new();

    private ReplicaProcess(Process process)
    {
        _process = process;
    }

    /// <param name="configFile">A broker settings file (<c>--config</c>), e.g. the drill's raised per-client limits.</param>
    public static ReplicaProcess Start(string veilDll, string dataDir, int port, string storeUrl, Action<string> log, string? configFile = null)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { veilDll, "broker", "serve", "--data-dir", dataDir, "--urls", $"http://127.0.0.1:{port}", "--allow-sample", "--policy", "sample" })
        {
            psi.ArgumentList.Add(a);
        }

        if (configFile is not null)
        {
            psi.ArgumentList.Add("--config");
            psi.ArgumentList.Add(configFile);
        }

        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment[Veil.Broker.Storage.StoreLocation.EnvironmentVariable] = storeUrl;
        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var rp = new ReplicaProcess(p);
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            log($"[replica :{port}] {line}");
            rp._lastLines.Enqueue(line);
            while (rp._lastLines.Count > 12 && rp._lastLines.TryDequeue(out _))
            {
            }

            if (line.Contains("veil broker listening on", StringComparison.Ordinal))
            {
                rp._listening.TrySetResult();
            }
        }

        p.OutputDataReceived += (_, e) => OnLine(e.Data);
        p.ErrorDataReceived += (_, e) => OnLine(e.Data);
        p.Exited += (_, _) =>
        {
            p.WaitForExit(); // drains the output first
            rp._listening.TrySetException(new InvalidOperationException($"replica on port {port} exited before listening: {string.Join(" | ", rp._lastLines)}"));
        };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return rp;
    }

    public Task ListeningAsync() => _listening.Task.WaitAsync(TimeSpan.FromSeconds(120));

    /// <summary>SIGKILL: no shutdown code runs, requests in flight are cut.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }

        _process.WaitForExit();
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }
}
