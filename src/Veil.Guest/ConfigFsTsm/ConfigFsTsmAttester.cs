using System.Globalization;
using System.Security.Cryptography;
using Veil.Abi.Tee;

namespace Veil.Guest;

/// <summary>
/// The kernel's common attestation ABI (Documentation/ABI/testing/configfs-tsm-report, Linux ≥ 6.7):
/// mkdir an entry under <c>/sys/kernel/config/tsm/report</c>, write <c>inblob</c> (≤ 64 bytes; SNP optionally
/// <c>privlevel</c> first), read <c>outblob</c>, <c>auxblob</c> and <c>provider</c>, then check <c>generation</c>:
/// a fresh entry starts at 0 and each attribute write increments it, so any other value means another writer
/// changed the inputs while we read, and the report is discarded. The entry is removed afterwards.
/// Providers: <c>sev_guest</c> (SNP), <c>tdx_guest</c> (TDX), and <c>sample</c>, which no kernel ships: it stands for a
/// test or development TSM whose outblob is KBS sample evidence, so the agent's whole configfs path runs without
/// hardware (brokers refuse the sample TEE unless started with --allow-sample).
/// </summary>
public sealed class ConfigFsTsmAttester : ICpuAttester
{
    public const string DefaultRoot = "/sys/kernel/config/tsm/report";
    private const string Source = "configfs-tsm";
    private const int MaxOutBlob = 32 * 1024;

    private readonly string root;
    private readonly int? privLevel;
    private readonly Func<string> entryName;

    /// <param name="root">The report folder (tests: a temporary folder laid out like configfs-tsm).</param>
    /// <param name="privLevel">SNP VMPL to request (0..3); null leaves the kernel default.</param>
    /// <param name="entryName">Name of the report entry; random by default so concurrent agents do not share one.</param>
    public ConfigFsTsmAttester(string root = DefaultRoot, int? privLevel = null, Func<string>? entryName = null)
    {
        if (privLevel is < 0 or > 3)
        {
            throw new ArgumentOutOfRangeException(nameof(privLevel), "privlevel must be 0..3 (TSM_REPORT_PRIVLEVEL_MAX)");
        }

        this.root = root;
        this.privLevel = privLevel;
        this.entryName = entryName ?? (() => "veil-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)));
    }

    public string Name => "configfs-tsm";

    public static bool IsPresent(string root = DefaultRoot) => Directory.Exists(root);

    /// <summary>
    /// The kernel provider behind configfs-tsm (<c>sev_guest</c>, <c>tdx_guest</c>), read from a fresh entry
    /// without requesting a report: the KBS tee must be named in <c>/auth</c> before any evidence exists.
    /// </summary>
    public string Provider()
    {
        if (!Directory.Exists(root))
        {
            throw new AttesterException(Source, $"{root}: not present (kernel without CONFIG_TSM_REPORTS, or configfs not mounted)");
        }

        var entry = Path.Combine(root, entryName());
        try
        {
            Directory.CreateDirectory(entry);
            return ReadOptionalText(entry, "provider") ?? throw new AttesterException(Source, "provider: missing");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AttesterException(Source, $"provider: cannot be read ({e.GetType().Name}: no TSM provider loaded, or not root?)", e);
        }
        finally
        {
            TryRemove(entry);
        }
    }

    public CpuEvidence Collect(ReadOnlySpan<byte> reportData)
    {
        if (reportData.Length is 0 or > 64)
        {
            throw new AttesterException(Source, $"inblob: {reportData.Length} bytes; must be 1..64");
        }

        if (!Directory.Exists(root))
        {
            throw new AttesterException(Source, $"{root}: not present (kernel without CONFIG_TSM_REPORTS, or configfs not mounted)");
        }

        var entry = Path.Combine(root, entryName());
        Directory.CreateDirectory(entry);
        try
        {
            var writes = 0;
            if (privLevel is { } level)
            {
                var floor = ReadOptionalText(entry, "privlevel_floor");
                if (floor is not null && int.TryParse(floor, NumberStyles.None, CultureInfo.InvariantCulture, out var f) && level < f)
                {
                    throw new AttesterException(Source, $"privlevel: {level} is below privlevel_floor {f}");
                }

                WriteAttribute(entry, "privlevel", System.Text.Encoding.ASCII.GetBytes(level.ToString(CultureInfo.InvariantCulture)));
                writes++;
            }

            WriteAttribute(entry, "inblob", reportData);
            writes++;

            var outblob = ReadAttribute(entry, "outblob", MaxOutBlob);
            var auxblob = File.Exists(Path.Combine(entry, "auxblob")) ? ReadAttribute(entry, "auxblob", MaxOutBlob) : [];
            var provider = ReadOptionalText(entry, "provider")
                ?? throw new AttesterException(Source, "provider: missing");
            var generation = ReadOptionalText(entry, "generation")
                ?? throw new AttesterException(Source, "generation: missing");
            if (!ulong.TryParse(generation, NumberStyles.None, CultureInfo.InvariantCulture, out var g))
            {
                throw new AttesterException(Source, $"generation: '{generation}' is not a number");
            }

            if (g != (ulong)writes)
            {
                throw new AttesterException(Source, $"generation: is {g}, expected {writes}: another writer changed this report entry while it was read");
            }

            if (outblob.Length == 0)
            {
                throw new AttesterException(Source, "outblob: empty");
            }

            var tee = provider switch
            {
                "sev_guest" => TeeNames.Snp,
                "tdx_guest" => TeeNames.Tdx,
                SampleReport.Provider => TeeNames.Sample,
                _ => throw new AttesterException(Source, $"provider: '{provider}' is not supported (sev_guest, tdx_guest, {SampleReport.Provider})"),
            };
            if (tee == TeeNames.Snp)
            {
                SnpReportCheck.CheckReportData(Source, outblob, reportData);
            }
            else if (tee == TeeNames.Sample)
            {
                SampleReport.CheckReportData(Source, outblob, reportData);
            }

            return new CpuEvidence(tee, provider, outblob, auxblob);
        }
        finally
        {
            TryRemove(entry);
        }
    }

    private static void WriteAttribute(string entry, string name, ReadOnlySpan<byte> value)
    {
        // One write() call: configfs binary attributes take the whole value at once.
        using var f = new FileStream(Path.Combine(entry, name), FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        f.Write(value);
    }

    private static byte[] ReadAttribute(string entry, string name, int max)
    {
        var path = Path.Combine(entry, name);
        if (!File.Exists(path))
        {
            throw new AttesterException(Source, $"{name}: missing");
        }

        // configfs reports size 4096 for every attribute, so read to the end rather than trusting the length.
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        var buffer = new byte[max + 1];
        var n = 0;
        int r;
        while (n < buffer.Length && (r = f.Read(buffer, n, buffer.Length - n)) > 0)
        {
            n += r;
        }

        if (n > max)
        {
            throw new AttesterException(Source, $"{name}: larger than {max} bytes");
        }

        return buffer[..n];
    }

    private static string? ReadOptionalText(string entry, string name)
    {
        var path = Path.Combine(entry, name);
        return File.Exists(path) ? System.Text.Encoding.ASCII.GetString(ReadAttribute(entry, name, 4096)).Trim() : null;
    }

    private static void TryRemove(string entry)
    {
        try
        {
            // On configfs, rmdir removes the entry with its attributes; a plain folder (tests) is left for its owner.
            Directory.Delete(entry);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
