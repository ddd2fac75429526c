using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Veil.Sealing;

// unseal-bench seal <plain> <sealed> <kek-file>
// unseal-bench unseal <sealed> <out> <kek-file> <threads>   → "seconds=<s> bytes=<n>"
// unseal-bench floors <out> <mib>   → the two costs any unseal into <out>'s filesystem pays, measured alone on 1 thread:
//   "write_gbps=<pwrite of a cache-hot 256 KiB buffer into a new file> aes_gbps=<AesGcm decrypt of 256 KiB in cache>"
if (args.Length >= 3 && args[0] == "floors")
{
    var mib = int.Parse(args[2], CultureInfo.InvariantCulture);
    Console.WriteLine(FormattableString.Invariant($"write_gbps={WriteFloor(args[1], mib):F3} aes_gbps={AesFloor(mib):F3}"));
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

// Output side alone: new pages of the destination filesystem filled from a buffer that stays in cache.
static double WriteFloor(string path, int mib)
{
    const int Block = SealedHeader.DefaultChunkSize;
    var buffer = new byte[Block];
    RandomNumberGenerator.Fill(buffer);
    var clock = Stopwatch.StartNew();
    using (var output = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write))
    {
        for (long offset = 0; offset < (long)mib << 20; offset += Block)
        {
            RandomAccess.Write(output, buffer, offset);
        }
    }

    var seconds = clock.Elapsed.TotalSeconds;
    File.Delete(path);
    return ((long)mib << 20) / seconds / 1e9;
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
