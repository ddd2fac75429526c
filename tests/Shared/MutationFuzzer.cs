namespace Veil.Tests.Shared;

/// <summary>
/// A small seeded mutation fuzzer (SharpFuzz and libFuzzer bindings are not available for .NET here).
/// It mutates real inputs (bit flips, interesting bytes, truncation, extension, deletion, duplication,
/// splicing between seeds) and hands each to a target; any exception the target is not allowed to throw is
/// recorded with the input that caused it. Same seed, same inputs.
/// </summary>
internal sealed class MutationFuzzer(IReadOnlyList<byte[]> seeds, int seed)
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xFF, (byte)'{', (byte)'"', (byte)'[', (byte)'-', (byte)'0'];
    private readonly Random random = new(seed);

    public sealed record Crash(byte[] Input, Exception Exception);

    public sealed record Report(long Inputs, long CrashCount, IReadOnlyList<Crash> Crashes);

    /// <summary>Runs until <paramref name="maxInputs"/> inputs or <paramref name="budget"/> elapsed, whichever first.</summary>
    public Report Run(Action<byte[]> target, Func<Exception, bool> allowed, long maxInputs, TimeSpan budget)
    {
        var crashes = new List<Crash>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long n = 0, crashCount = 0;
        for (; n < maxInputs && clock.Elapsed < budget; n++)
        {
            var input = Next();
            try
            {
                target(input);
            }
#pragma warning disable CA1031 // The point is to catch everything the target throws.
            catch (Exception e)
#pragma warning restore CA1031
            {
                // A typed, named rejection is the expected outcome for most mutated inputs.
                if (!allowed(e))
                {
                    crashCount++;
                    if (crashes.Count < 20)
                    {
                        crashes.Add(new Crash(input, e));
                    }
                }
            }
        }

        return new Report(n, crashCount, crashes);
    }

    public byte[] Next()
    {
        var data = (byte[])seeds[random.Next(seeds.Count)].Clone();
        var rounds = 1 + random.Next(4);
        for (var i = 0; i < rounds; i++)
        {
            data = Mutate(data);
        }

        return data;
    }

    private byte[] Mutate(byte[] d)
    {
        if (d.Length == 0)
        {
            return [Interesting[random.Next(Interesting.Length)]];
        }

        switch (random.Next(8))
        {
            case 0:
                d[random.Next(d.Length)] ^= (byte)(1 << random.Next(8));
                return d;
            case 1:
                d[random.Next(d.Length)] = Interesting[random.Next(Interesting.Length)];
                return d;
            case 2:
                return d[..random.Next(d.Length)];
            case 3:
                {
                    var extra = new byte[1 + random.Next(64)];
                    random.NextBytes(extra);
                    return [.. d, .. extra];
                }

            case 4:
                {
                    var at = random.Next(d.Length);
                    var len = Math.Min(d.Length - at, 1 + random.Next(32));
                    return [.. d[..at], .. d[(at + len)..]];
                }

            case 5:
                {
                    var at = random.Next(d.Length);
                    var len = Math.Min(d.Length - at, 1 + random.Next(32));
                    return [.. d[..(at + len)], .. d[at..]];
                }

            case 6:
                {
                    var other = seeds[random.Next(seeds.Count)];
                    var cut = random.Next(Math.Min(d.Length, other.Length) + 1);
                    return [.. d[..Math.Min(cut, d.Length)], .. other[Math.Min(cut, other.Length)..]];
                }

            default:
                {
                    var at = random.Next(d.Length);
                    var len = Math.Min(d.Length - at, 1 + random.Next(16));
                    random.NextBytes(d.AsSpan(at, len));
                    return d;
                }
        }
    }
}
