using System.Security.Cryptography;
using Veil.Tests.Shared;

namespace Veil.Sealing.Tests;

/// <summary>
/// A sealed file comes from storage the guest does not trust: mutated sealed bytes (header, chunks, lengths) through the
/// header parser and the streaming unsealer give a <see cref="SealingException"/> and never plaintext, nothing else.
/// </summary>
public sealed class FuzzTests : IDisposable
{
    private readonly TempDir dir = new();
    private readonly KeyEncryptionKey kek = KeyEncryptionKey.Generate();

    [Fact]
    public void Mutated_sealed_files_only_ever_give_named_errors()
    {
        byte[][] seeds =
        [
            Seal(RandomNumberGenerator.GetBytes((3 * SealedHeader.MinChunkSize) + 17), "a"),
            Seal([], "b"),
            Seal(RandomNumberGenerator.GetBytes(SealedHeader.MinChunkSize), "c"),
        ];
        var unsealed = 0;
        var report = new MutationFuzzer(seeds, seed: 1729).Run(
            input =>
            {
                _ = SealedHeader.Parse(input);
                using var output = new MemoryStream();
                StreamUnsealer.Unseal(new MemoryStream(input), output, kek);
                if (!seeds.Any(s => s.AsSpan().SequenceEqual(input)))
                {
                    var seed = seeds.MinBy(s => Math.Abs(s.Length - input.Length))!;
                    var diff = Enumerable.Range(0, Math.Min(seed.Length, input.Length)).Where(i => seed[i] != input[i]).Take(5).ToList();
                    throw new InvalidOperationException($"unsealed a mutated file: {input.Length} bytes vs seed {seed.Length}, first differences at [{string.Join(",", diff)}]");
                }

                unsealed++;
            },
            e => e is SealingException,
            maxInputs: 50_000,
            budget: TimeSpan.FromSeconds(4));

        Assert.True(report.Inputs > 1_000, $"only {report.Inputs} inputs ran");
        Assert.True(report.CrashCount == 0, string.Join("\n", report.Crashes.Take(3).Select(c => $"{c.Exception.GetType().Name}: {c.Exception.Message} ({c.Input.Length} bytes)")));
        Assert.True(unsealed < report.Inputs / 2, $"{unsealed} inputs were the seeds themselves"); // a mutation may give a seed back unchanged
    }

    private byte[] Seal(byte[] plain, string name)
    {
        SealedFile.Seal(dir.Write(name, plain), dir[name + ".veil"], kek, "models/fuzz/key", new SealOptions { ChunkSize = SealedHeader.MinChunkSize });
        return File.ReadAllBytes(dir[name + ".veil"]);
    }

    public void Dispose()
    {
        kek.Dispose();
        dir.Dispose();
    }
}
