namespace Veil.Sealing;

/// <summary>
/// Runs one action per chunk index on a fixed number of workers, each with its own state (cipher and buffers),
/// so memory stays bounded by the worker count whatever the file size. Stops at the first failure and rethrows it
/// unwrapped, so callers see the named <see cref="SealingException"/> rather than an AggregateException.
/// </summary>
internal static class ChunkWorkers
{
    public static void Run<TState>(long count, int threads, Func<TState> create, Action<long, TState> body)
        where TState : IDisposable
    {
        if (threads == 1 || count == 1)
        {
            using var state = create();
            for (long i = 0; i < count; i++)
            {
                body(i, state);
            }

            return;
        }

        long next = -1;
        Exception? failure = null;
        var workers = new Thread[(int)Math.Min(threads, count)];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = new Thread(() =>
            {
                try
                {
                    using var state = create();
                    long i;
                    while (Volatile.Read(ref failure) is null && (i = Interlocked.Increment(ref next)) < count)
                    {
                        body(i, state);
                    }
                }
#pragma warning disable CA1031 // Captured and rethrown on the calling thread below.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                }
            })
            {
                IsBackground = true,
                Name = "veil-seal-" + w,
            };
            workers[w].Start();
        }

        foreach (var t in workers)
        {
            t.Join();
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }
    }
}
