using System.Diagnostics;
using Spectre.Console;
using Veil.Sealing;

namespace Veil.Cli.Commands;

/// <summary>
/// Progress for seal/unseal: a Spectre.Console bar with bytes/s on a terminal, plain lines otherwise (logs, CI,
/// pipes), and one summary line in both cases.
/// </summary>
internal static class SealProgress
{
    public static T Run<T>(TextWriter output, string verb, long totalBytes, SealOptions options, Func<SealOptions, T> work) =>
        RunAsync(output, verb, totalBytes, options, opt => Task.FromResult(work(opt))).GetAwaiter().GetResult();

    public static async Task<T> RunAsync<T>(TextWriter output, string verb, long totalBytes, SealOptions options, Func<SealOptions, Task<T>> work)
    {
        var clock = Stopwatch.StartNew();
        long done = 0;
        T result;
        if (IsTerminal(output))
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
            result = await console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(ctx =>
                {
                    var task = ctx.AddTask(verb, maxValue: Math.Max(1, totalBytes));
                    return work(options with
                    {
                        Progress = n =>
                        {
                            Interlocked.Add(ref done, n);
                            task.Increment(n);
                        },
                        FileStarted = (name, _) => task.Description = $"{verb} {Markup.Escape(name)}",
                    });
                }).ConfigureAwait(false);
        }
        else
        {
            result = await work(options with
            {
                Progress = n => Interlocked.Add(ref done, n),
                FileStarted = (name, size) => output.WriteLine($"{verb} {name} ({size} bytes)"),
            }).ConfigureAwait(false);
        }

        var seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-6);
        output.WriteLine($"{verb}: {done} bytes in {seconds:F2} s ({Rate(done / seconds)})");
        return result;
    }

    private static bool IsTerminal(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;

    private static string Rate(double bytesPerSecond) => bytesPerSecond switch
    {
        >= 1 << 30 => $"{bytesPerSecond / (1 << 30):F2} GiB/s",
        >= 1 << 20 => $"{bytesPerSecond / (1 << 20):F1} MiB/s",
        _ => $"{bytesPerSecond / 1024:F1} KiB/s",
    };
}
