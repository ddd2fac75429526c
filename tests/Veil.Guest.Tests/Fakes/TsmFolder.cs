namespace Veil.Guest.Tests;

/// <summary>
/// A temporary folder laid out like /sys/kernel/config/tsm/report with one entry the "kernel" fills in advance:
/// like the real provider, it returns its fixed outblob whatever inblob is written.
/// </summary>
internal sealed class TsmFolder : IDisposable
{
    public const string Entry = "veil-agent-test";

    public TsmFolder(string provider, byte[] outblob, int generation = 1)
    {
        Directory.CreateDirectory(EntryDir);
        File.WriteAllBytes(Path.Combine(EntryDir, "outblob"), outblob);
        File.WriteAllText(Path.Combine(EntryDir, "provider"), provider + "\n");
        File.WriteAllText(Path.Combine(EntryDir, "generation"), generation + "\n");
    }

    public string Base { get; } = Path.Combine(Path.GetTempPath(), "veil-agent-" + Guid.NewGuid().ToString("N"));

    public string Root => Path.Combine(Base, "tsm", "report");

    public string EntryDir => Path.Combine(Root, Entry);

    /// <summary>Where the ACPI CCEL data would be; absent until a test writes it.</summary>
    public string CcelPath => Path.Combine(Base, "acpi", "tables", "data", "CCEL");

    public byte[] InBlob => File.ReadAllBytes(Path.Combine(EntryDir, "inblob"));

    public ConfigFsTsmAttester Attester() => new(Root, entryName: () => Entry);

    public void WriteCcel(byte[] data)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(CcelPath)!);
        File.WriteAllBytes(CcelPath, data);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Base, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
