using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Veil.Sealing;

// unseal-bench seal <plain> <sealed> <kek-file>
// unseal-bench unseal <sealed> <out> <kek-file> <threads>   → "seconds=<s> bytes=<n>"
// unseal-bench floors <out> <mib>   → the two costs any unseal into <out>'s filesystem pays, measured alone:
//   "write_gbps=<1 thread: pwrite of a cache-hot 256 KiB buffer into a new file> write2_gbps=<the same by 2 threads
//   into one file, interleaved by 256 KiB as unseal's workers write> aes_gbps=<1 thread: AesGcm decrypt of 256 KiB in cache>"
if (args.Length >= 3 && args[0] == "floors")
{
    var mib = int.Parse(args[2], CultureInfo.InvariantCulture);
    var one = WriteFloor(args[1], mib, 1);
    var two = WriteFloor(args[1], mib, 2);
    Console.WriteLine(FormattableString.Invariant($"write_gbps={one:F3} write2_gbps={two:F3} aes_gbps={AesFloor(mib):F3}"));
    return 0;
}

if (args.Length < 4)
{
    Console.Error.WriteLine("usage: unseal-bench seal <plain> <sealed> <kek> | unseal <sealed> <out> <kek> <threads> | floors <out> <mib>");
    return 2;
}

using var kek = KeyEncryptionKey.FromFile(args[3]);
var clock = Stopwatch.StartNew();
SealedHeader h = args[0] switch
{
    "seal" => SealedFile.Seal(args[1], args[2], kek, "bench/model/kek"),
    "unseal" => SealedFile.Unseal(args[1], args[2], kek, new SealOptions { Threads = int.Parse(args[4], CultureInfo.InvariantCulture) }),
    _ => throw new ArgumentException("seal or unseal"),
};
Console.WriteLine($"seconds={clock.Elapsed.TotalSeconds:F4} bytes={h.PlaintextLength}");
return 0;

// Output side alone: new pages of the destination filesystem filled from a buffer that stays in cache, by
// `threads` writers taking alternate 256 KiB blocks of one file.
static double WriteFloor(string path, int mib, int threads)
{
    const int Block = SealedHeader.DefaultChunkSize;
    var total = (long)mib << 20;
    var clock = Stopwatch.StartNew();
    using (var output = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write))
    {
        var writers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var buffer = new byte[Block];
            RandomNumberGenerator.Fill(buffer);
            for (long offset = (long)t * Block; offset < total; offset += (long)threads * Block)
            {
                RandomAccess.Write(output, buffer, offset);
            }
        })).ToList();
        writers.ForEach(w => w.Start());
        writers.ForEach(w => w.Join());
    }

    var seconds = clock.Elapsed.TotalSeconds;
    File.Delete(path);
    return total / seconds / 1e9;
}

// Crypto alone: .NET's AesGcm (OpenSSL underneath) on the default chunk, ciphertext and plaintext in cache.
static double AesFloor(int mib)
{
    const int Block = SealedHeader.DefaultChunkSize;
    using var gcm = new AesGcm(RandomNumberGenerator.GetBytes(32), 16);
    var nonce = new byte[12];
    var plain = new byte[Block];
    var cipher = new byte[Block];
    var tag = new byte[16];
    gcm.Encrypt(nonce, plain, cipher, tag);
    var clock = Stopwatch.StartNew();
    for (long done = 0; done < (long)mib << 20; done += Block)
    {
        gcm.Decrypt(nonce, cipher, tag, plain);
    }

    return ((long)mib << 20) / clock.Elapsed.TotalSeconds / 1e9;
}
