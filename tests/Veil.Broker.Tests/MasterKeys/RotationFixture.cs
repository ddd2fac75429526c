using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Veil.Broker.KeyWrapping;
using Veil.Broker.Secrets;
using Veil.Broker.Storage;
using Veil.Broker.Tests.EndToEnd;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;

namespace Veil.Broker.Tests.MasterKeys;

/// <summary>Stored rows for the rotation tests: values, the key id each row names, format 1 rows as an old broker wrote them.</summary>
internal static class RotationFixture
{
    public static string Name(int i) => $"rot/model/k{i:D4}";

    /// <summary>Format 1: 01 | nonce | tag | ciphertext under the file key itself, as brokers before envelopes stored it.</summary>
    public static byte[] SealFormat1(byte[] fileKey, byte[] value, string name)
    {
        var output = new byte[1 + 12 + 16 + value.Length];
        output[0] = 1;
        RandomNumberGenerator.Fill(output.AsSpan(1, 12));
        using var gcm = new AesGcm(fileKey, 16);
        gcm.Encrypt(output.AsSpan(1, 12), value, output.AsSpan(29), output.AsSpan(13, 16), Encoding.UTF8.GetBytes(name));
        return output;
    }

    public static async Task<Dictionary<string, string?>> KeyIdsAsync(IBrokerStore store, int count)
    {
        var ids = new Dictionary<string, string?>();
        for (var i = 0; i < count; i++)
        {
            var row = await store.GetResourceAsync(Name(i), CancellationToken.None);
            ids[Name(i)] = Envelope.Read(row!, Name(i))?.KeyId;
        }

        return ids;
    }

    /// <summary>Every row opens under <paramref name="keys"/> to its original value; returns the data keys seen (for the disk scan).</summary>
    public static async Task<List<byte[]>> AssertAllOpenAsync(IBrokerStore store, MasterKey keys, byte[][] values)
    {
        var dataKeys = new List<byte[]>();
        for (var i = 0; i < values.Length; i++)
        {
            var row = (await store.GetResourceAsync(Name(i), CancellationToken.None))!;
            using (var opened = await keys.OpenAsync(row, Name(i), CancellationToken.None))
            {
                Assert.Equal(values[i], opened.ToArray());
            }

            if (Envelope.Read(row, Name(i)) is { } envelope)
            {
                var wrapper = keys.Primary.KeyId == envelope.KeyId ? keys.Primary : null;
                if (wrapper is not null)
                {
                    using var dk = await wrapper.UnwrapAsync(envelope.WrappedKey, Encoding.UTF8.GetBytes(Name(i)), CancellationToken.None);
                    dataKeys.Add(dk.ToArray());
                }
            }
        }

        return dataKeys;
    }

    /// <summary>Releases every resource through one attested session of a running broker, each to its original value.</summary>
    public static async Task AssertAllReleaseAsync(TestBroker broker, byte[][] values)
    {
        using var http = broker.NewHttpClient();
        var client = new KbsClient(http);
        using var key = TeeKey.CreateEc();
        await Handshake.SampleAsync(client, key);
        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal(values[i], key.Decrypt(await client.GetResourceAsync(Name(i))));
        }
    }

    /// <summary>Where any of <paramref name="secrets"/> (each at least 8 bytes) occurs in the files under <paramref name="dirs"/>.</summary>
    public static List<string> Scan(IEnumerable<string> dirs, IReadOnlyList<byte[]> secrets)
    {
        var byPrefix = secrets.GroupBy(s => BinaryPrimitives.ReadUInt64LittleEndian(s)).ToDictionary(g => g.Key, g => g.ToList());
        var found = new List<string>();
        foreach (var file in dirs.Where(Directory.Exists).SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories)))
        {
            // A running SQLite broker holds its lock file exclusively (it stays empty: DataDirectoryOwnershipTests).
            if (Path.GetFileName(file) == Veil.Broker.Hosting.DataDirectoryLock.FileName && new FileInfo(file).Length == 0)
            {
                continue;
            }

            byte[] bytes;
            using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            {
                bytes = new byte[stream.Length];
                stream.ReadExactly(bytes);
            }

            for (var at = 0; at + 8 <= bytes.Length; at++)
            {
                if (byPrefix.TryGetValue(BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at)), out var candidates)
                    && candidates.Any(c => at + c.Length <= bytes.Length && bytes.AsSpan(at, c.Length).SequenceEqual(c)))
                {
                    found.Add($"{file} at {at}");
                }
            }
        }

        return found;
    }
}
