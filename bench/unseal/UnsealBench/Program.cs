using System.Diagnostics;
using Veil.Sealing;

// unseal-bench seal <plain> <sealed> <kek-file>
// unseal-bench unseal <sealed> <out> <kek-file> <threads>   → prints "seconds=<s> bytes=<n>"
if (args.Length < 4)
{
    Console.Error.WriteLine("usage: unseal-bench seal <plain> <sealed> <kek> | unseal <sealed> <out> <kek> <threads>");
    return 2;
}

using var kek = KeyEncryptionKey.FromFile(args[3]);
var clock = Stopwatch.StartNew();
SealedHeader h = args[0] switch
{
    "seal" => SealedFile.Seal(args[1], args[2], kek, "bench/model/kek"),
    "unseal" => SealedFile.Unseal(args[1], args[2], kek, new SealOptions { Threads = int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) }),
    _ => throw new ArgumentException("seal or unseal"),
};
Console.WriteLine($"seconds={clock.Elapsed.TotalSeconds:F4} bytes={h.PlaintextLength}");
return 0;
