using Veil.Topology.Output;
using Veil.Topology.Sysfs;
using Veil.Topology.Tests.Fixtures;

namespace Veil.Topology.Tests.Inventory;

/// <summary>
/// The directory-handle reader (Linux) and the path reader (elsewhere) must see the same host: the same
/// inventory on intact trees, and the same named warnings on broken ones.
/// </summary>
public class SysfsBackendTests
{
    private const string Gpu = "0000:06:00.0";

    [Theory]
    [InlineData(nameof(Topologies.HgxH100))]
    [InlineData(nameof(Topologies.Lenovo4Gpu))]
    [InlineData(nameof(Topologies.SingleGpu))]
    public void Both_readers_build_the_same_inventory(string topology)
    {
        var description = (string)typeof(Topologies).GetField(topology)!.GetValue(null)!;
        using var fx = SysfsFixture.Build(description);
        var native = SysfsScanner.Scan(fx.Root, SysfsBackend.Native);
        var managed = SysfsScanner.Scan(fx.Root, SysfsBackend.Managed);

        Assert.Empty(native.Warnings);
        Assert.Equal(TopologyJson.Serialize(managed), TopologyJson.Serialize(native));
        Assert.Contains(native.Functions, f => f.VfioDevice is not null);
    }

    public static TheoryData<string> Breakages => ["dangling-driver", "deleted-device", "group-loop", "entry-loop", "no-vendor", "entry-not-a-link", "class-is-a-directory", "config-is-a-directory"];

    [Theory]
    [MemberData(nameof(Breakages))]
    public void Both_readers_name_the_same_defects(string breakage)
    {
        using var fx = SysfsFixture.Build(Topologies.Lenovo4Gpu);
        Break(fx, breakage);
        var native = SysfsScanner.Scan(fx.Root, SysfsBackend.Native);
        var managed = SysfsScanner.Scan(fx.Root, SysfsBackend.Managed);

        var codes = native.Warnings.Select(w => (w.Code, w.Device)).Order().ToList();
        Assert.NotEmpty(codes);
        Assert.Contains(codes, c => c.Device == Gpu);
        Assert.Equal(managed.Warnings.Select(w => (w.Code, w.Device)).Order(), codes);
        Assert.Equal(managed.Functions.Count, native.Functions.Count);
    }

    private static void Break(SysfsFixture fx, string breakage)
    {
        var dir = fx.DeviceDir(Gpu);
        var entry = Path.Combine(fx.PciBus, "devices", Gpu);
        switch (breakage)
        {
            case "dangling-driver":
                Directory.Delete(Path.Combine(fx.PciBus, "drivers", "vfio-pci"), recursive: true);
                break;
            case "deleted-device":
                Directory.Delete(dir, recursive: true);
                break;
            case "group-loop":
                File.Delete(Path.Combine(dir, "iommu_group"));
                File.CreateSymbolicLink(Path.Combine(dir, "iommu_group"), "iommu_group");
                break;
            case "entry-loop":
                File.Delete(entry);
                File.CreateSymbolicLink(entry, Gpu);
                break;
            case "no-vendor":
                File.Delete(Path.Combine(dir, "vendor"));
                break;
            case "entry-not-a-link":
                // A copied tree (cp -r without -P) holds directories where sysfs has links.
                File.Delete(entry);
                Directory.CreateDirectory(entry);
                foreach (var f in Directory.EnumerateFiles(dir).Where(f => new FileInfo(f).LinkTarget is null))
                {
                    File.Copy(f, Path.Combine(entry, Path.GetFileName(f)));
                }

                break;
            case "class-is-a-directory":
                File.Delete(Path.Combine(dir, "class"));
                Directory.CreateDirectory(Path.Combine(dir, "class"));
                break;
            case "config-is-a-directory":
                File.Delete(Path.Combine(dir, "config"));
                Directory.CreateDirectory(Path.Combine(dir, "config"));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(breakage), breakage, null);
        }
    }
}
