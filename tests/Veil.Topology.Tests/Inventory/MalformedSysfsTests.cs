using Veil.Topology.Inventory;
using Veil.Topology.Planning;
using Veil.Topology.Sysfs;
using Veil.Topology.Tests.Fixtures;

namespace Veil.Topology.Tests.Inventory;

/// <summary>Broken sysfs: each defect gives a named warning for that device, and the rest of the host still plans.</summary>
public class MalformedSysfsTests
{
    private const string Gpu = "0000:06:00.0";

    private static (HostInventory Inv, List<ScanWarning> Mine) ScanWith(Action<SysfsFixture> breakIt, string device = Gpu)
    {
        using var fx = SysfsFixture.Build(Topologies.Lenovo4Gpu);
        breakIt(fx);
        var inv = SysfsScanner.Scan(fx.Root);
        var plan = Planner.Create(inv, new PlanRequest(GpuSelection.Parse("0000:26:00.0,0000:a6:00.0"), PlacementMode.Replicate, WithNics: true));
        Assert.Equal(2, plan.Gpus.Count()); // the intact part of the host still plans
        return (inv, inv.Warnings.Where(w => w.Device == device).ToList());
    }

    [Fact]
    public void Missing_vendor_file_is_named_and_the_function_kept()
    {
        var (inv, mine) = ScanWith(fx => File.Delete(Path.Combine(fx.DeviceDir(Gpu), "vendor")));
        Assert.Contains(mine, w => w.Code == "missing-file" && w.Message.Contains("vendor", StringComparison.Ordinal));
        var f = inv.Find(PciAddress.Parse(Gpu))!;
        Assert.Equal(0x030200u, f.ClassCode);
        Assert.Equal("vfio-pci", f.Driver);
    }

    [Fact]
    public void Dangling_driver_link_keeps_the_driver_name_and_warns()
    {
        var (inv, mine) = ScanWith(fx => Directory.Delete(Path.Combine(fx.PciBus, "drivers", "vfio-pci"), recursive: true));
        Assert.Contains(mine, w => w.Code == "dangling-link" && w.Message.StartsWith("driver", StringComparison.Ordinal));
        Assert.Equal("vfio-pci", inv.Find(PciAddress.Parse(Gpu))!.Driver);
    }

    [Fact]
    public void Dangling_device_link_is_named_and_the_rest_scanned()
    {
        var (inv, mine) = ScanWith(fx => Directory.Delete(fx.DeviceDir(Gpu), recursive: true));
        Assert.Contains(mine, w => w.Code == "dangling-link");
        Assert.Equal(3, inv.Functions.Count(f => f.Kind == DeviceKind.Gpu));
    }

    [Fact]
    public void Truncated_config_space_is_named_and_sysfs_identity_still_used()
    {
        var (inv, mine) = ScanWith(fx =>
        {
            var path = Path.Combine(fx.DeviceDir(Gpu), "config");
            File.WriteAllBytes(path, File.ReadAllBytes(path)[..100]);
        });
        Assert.Contains(mine, w => w.Code == "truncated-config");
        var f = inv.Find(PciAddress.Parse(Gpu))!;
        Assert.Equal(DeviceKind.Gpu, f.Kind);
        Assert.Null(f.PortType);
    }

    [Fact]
    public void Header_only_config_from_an_unprivileged_read_is_named()
    {
        var (_, mine) = ScanWith(fx =>
        {
            var path = Path.Combine(fx.DeviceDir(Gpu), "config");
            File.WriteAllBytes(path, File.ReadAllBytes(path)[..64]);
        });
        Assert.Contains(mine, w => w.Code == "config-header-only");
    }

    [Fact]
    public void Oversized_config_is_cut_at_4096_and_named()
    {
        var (inv, mine) = ScanWith(fx =>
        {
            var path = Path.Combine(fx.DeviceDir(Gpu), "config");
            File.WriteAllBytes(path, [.. File.ReadAllBytes(path), .. new byte[4096]]);
        });
        Assert.Contains(mine, w => w.Code == "oversized-config");
        Assert.Equal(4096, inv.Find(PciAddress.Parse(Gpu))!.Config!.Length);
    }

    [Fact]
    public void Symlink_loop_on_iommu_group_is_named()
    {
        var (inv, mine) = ScanWith(fx =>
        {
            var link = Path.Combine(fx.DeviceDir(Gpu), "iommu_group");
            File.Delete(link);
            File.CreateSymbolicLink(link, "iommu_group");
        });
        Assert.Contains(mine, w => w.Code is "link-loop" or "dangling-link");
        Assert.Null(inv.Find(PciAddress.Parse(Gpu))!.IommuGroup);
    }

    [Fact]
    public void Symlink_loop_on_the_device_entry_is_named()
    {
        var (_, mine) = ScanWith(fx =>
        {
            var link = Path.Combine(fx.PciBus, "devices", Gpu);
            File.Delete(link);
            File.CreateSymbolicLink(link, Gpu);
        });
        Assert.Contains(mine, w => w.Code is "link-loop");
    }

    [Fact]
    public void Capability_chain_loop_in_config_is_named()
    {
        var (inv, mine) = ScanWith(fx =>
        {
            var path = Path.Combine(fx.DeviceDir(Gpu), "config");
            var c = File.ReadAllBytes(path);
            c[0x41] = 0x40; // PM capability's next pointer back to itself
            c[0x102] = 0x00;
            c[0x103] = 0x10; // AER's next = 0x100 (itself)
            File.WriteAllBytes(path, c);
        });
        Assert.Contains(mine, w => w.Code == "config-capability" && w.Message.Contains("loops", StringComparison.Ordinal));
        Assert.Equal(DeviceKind.Gpu, inv.Find(PciAddress.Parse(Gpu))!.Kind);
    }

    [Fact]
    public void Garbage_in_resource_and_class_is_a_bad_value()
    {
        var (_, mine) = ScanWith(fx =>
        {
            File.WriteAllText(Path.Combine(fx.DeviceDir(Gpu), "resource"), "not a resource line\n");
            File.WriteAllText(Path.Combine(fx.DeviceDir(Gpu), "class"), "0xZZZZ\n");
        });
        Assert.Equal(2, mine.Count(w => w.Code == "bad-value"));
    }

    [Fact]
    public void Unparsable_entry_and_missing_iommu_groups_are_named()
    {
        using var fx = SysfsFixture.Build(Topologies.SingleGpu);
        Directory.CreateDirectory(Path.Combine(fx.PciBus, "devices", "not-a-bdf"));
        Directory.Delete(Path.Combine(fx.Root, "kernel", "iommu_groups"), recursive: true);
        var inv = SysfsScanner.Scan(fx.Root);
        Assert.Contains(inv.Warnings, w => w.Code == "unparsable-name" && w.Device == "not-a-bdf");
        Assert.Contains(inv.Warnings, w => w.Code == "no-iommu-groups");
        var plan = Planner.Create(inv, new PlanRequest(GpuSelection.Parse("all"), PlacementMode.Flatten));
        Assert.Empty(plan.Blockers);
        Assert.Single(plan.Gpus);
    }

    [Fact]
    public void Every_file_of_a_function_deleted_one_at_a_time_never_throws()
    {
        using var fx = SysfsFixture.Build(Topologies.SingleGpu);
        var dir = fx.DeviceDir("0000:01:00.0");
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir).ToList())
        {
            var backup = Path.Combine(Path.GetDirectoryName(fx.Root)!, "bak");
            var link = new FileInfo(entry).LinkTarget;
            if (link is not null)
            {
                if (Directory.Exists(entry))
                {
                    Directory.Delete(entry);
                }
                else
                {
                    File.Delete(entry);
                }
            }
            else if (Directory.Exists(entry))
            {
                Directory.Move(entry, backup);
            }
            else
            {
                File.Move(entry, backup);
            }

            var inv = SysfsScanner.Scan(fx.Root);
            Assert.NotNull(inv.Find(PciAddress.Parse("0000:01:00.0")));
            if (link is not null)
            {
                File.CreateSymbolicLink(entry, link);
            }
            else if (Directory.Exists(backup))
            {
                Directory.Move(backup, entry);
            }
            else
            {
                File.Move(backup, entry);
            }
        }
    }
}
