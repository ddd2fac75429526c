using System.Security.Cryptography;
using Veil.Tests.Shared;
using Veil.Topology.Planning;
using Veil.Topology.Sysfs;
using Veil.Topology.Tests.Fixtures;

namespace Veil.Topology.Tests.Testdata;

/// <summary>
/// testdata/topology/hgx-h100-8gpu is the tree <see cref="Topologies.HgxH100Spr"/> writes, kept in the repository so
/// that a user can try `veil topology` on it (README). It must stay exactly that tree: entry for entry, file bytes,
/// link targets.
/// </summary>
public sealed class CommittedTreeTests
{
    public static string Root => Path.Combine(Vectors.RepoRoot, "testdata", "topology", "hgx-h100-8gpu");

    /// <summary>Every entry under <paramref name="root"/>: relative path → "dir", "link → target" or "file sha256".</summary>
    internal static SortedDictionary<string, string> Listing(string root)
    {
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var pending = new Stack<string>([root]);
        while (pending.TryPop(out var dir))
        {
            foreach (var path in Directory.EnumerateFileSystemEntries(dir))
            {
                var rel = Path.GetRelativePath(root, path);
                var info = new FileInfo(path);
                if (info.LinkTarget is { } target)
                {
                    entries[rel] = "link → " + target;
                }
                else if (Directory.Exists(path))
                {
                    entries[rel] = "dir";
                    pending.Push(path);
                }
                else
                {
                    entries[rel] = "file " + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
                }
            }
        }

        return entries;
    }

    [Fact]
    public void The_committed_tree_is_what_the_description_writes()
    {
        var fresh = Path.Combine(Path.GetTempPath(), "veil-tree-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            SysfsFixture.WriteTree(Topologies.HgxH100Spr, fresh);
            var expected = Listing(fresh);
            var committed = Listing(Root);
            var differ = expected.Keys.Union(committed.Keys).Where(k => expected.GetValueOrDefault(k) != committed.GetValueOrDefault(k)).Take(10).ToList();
            Assert.True(differ.Count == 0,
                "testdata/topology/hgx-h100-8gpu differs from Topologies.HgxH100Spr (rewrite it as its README says): "
                + string.Join("; ", differ.Select(k => $"{k}: expected {expected.GetValueOrDefault(k) ?? "nothing"}, committed {committed.GetValueOrDefault(k) ?? "nothing"}")));
            Assert.True(expected.Count > 1000);
        }
        finally
        {
            if (Directory.Exists(fresh))
            {
                Directory.Delete(fresh, recursive: true);
            }
        }
    }

    [Fact]
    public void A_changed_file_or_link_shows_in_the_listing()
    {
        var copy = Path.Combine(Path.GetTempPath(), "veil-tree-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            SysfsFixture.WriteTree(Topologies.HgxH100Spr, copy);
            var before = Listing(copy);
            var device = Path.Combine(copy, "bus", "pci", "devices", "0000:18:00.0");
            var dir = new DirectoryInfo(device).ResolveLinkTarget(true)!.FullName;
            File.WriteAllText(Path.Combine(dir, "numa_node"), "1\n");
            File.Delete(Path.Combine(dir, "driver"));
            File.CreateSymbolicLink(Path.Combine(dir, "driver"), "../../../../bus/pci/drivers/nvidia");
            var after = Listing(copy);
            Assert.Equal(2, before.Keys.Count(k => before[k] != after[k]));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public void Lspci_reads_it_as_the_same_machine()
    {
        var inventory = SysfsScanner.Scan(Root);
        var lspci = Pciutils.Lspci.Verbose(Root);
        Assert.Equal(inventory.Functions.Select(f => f.Address.ToString()).Order(StringComparer.Ordinal), lspci.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(8, lspci.Values.Count(l => l.Driver == "vfio-pci" && inventory.Functions.Single(f => f.Address.ToString() == l.Address).DeviceId == 0x2330));
    }

    [Fact]
    public void It_scans_as_an_hgx_h100_8_gpu_host_and_plans_all_eight_gpus()
    {
        var inventory = SysfsScanner.Scan(Root);
        Assert.Equal(8, inventory.Functions.Count(f => f.DeviceId == 0x2330));
        Assert.Equal(4, inventory.Functions.Count(f => f.DeviceId == 0x22a3));
        Assert.Empty(inventory.Warnings);
        var plan = Planner.Create(inventory, new PlanRequest(GpuSelection.Parse("all"), PlacementMode.Replicate, WithNics: false, WithNvSwitch: true, Cvm: CvmKind.Snp));
        Assert.Equal(8, plan.Devices.Count(d => d.Role == PassRole.Gpu));
        Assert.Equal(4, plan.Devices.Count(d => d.Role == PassRole.NvSwitch));
        Assert.Equal(9, plan.Layout.Switches.Count); // one per GPU switch, one for the NVSwitches
        Assert.False(plan.HasErrors, string.Join("; ", plan.Diagnostics.Select(d => d.Code)));

        // With the eight NICs too, the guest needs 20 switch ports: more than QEMU/Kata's 16.
        var withNics = Planner.Create(inventory, new PlanRequest(GpuSelection.Parse("all"), PlacementMode.Replicate, WithNics: true, WithNvSwitch: true, Cvm: CvmKind.Snp));
        Assert.Contains(withNics.Diagnostics, d => d.Code == "port-count-over-16" && d.Severity == Severity.Error);
    }
}
