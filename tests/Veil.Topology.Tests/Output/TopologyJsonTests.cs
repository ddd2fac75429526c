using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Veil.Topology.Output;
using Veil.Topology.Planning;
using Veil.Topology.Sysfs;
using Veil.Topology.Tests.Fixtures;
using Veil.Topology.Tests.Planning;

namespace Veil.Topology.Tests.Output;

/// <summary>
/// The hand-written JSON writer must produce what System.Text.Json's serializer writes for the same records with
/// the documented options (camelCase, nulls left out, kebab-case enums, addresses as strings), byte for byte.
/// </summary>
public class TopologyJsonTests
{
    private static readonly JsonSerializerOptions Reference = new()
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower), new AddressConverter() },
    };

    public static TheoryData<string> Fixtures => [nameof(Topologies.HgxH100), nameof(Topologies.Lenovo4Gpu), nameof(Topologies.SingleGpu)];

    private static string Description(string name) => (string)typeof(Topologies).GetField(name)!.GetValue(null)!;

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Inventory_json_matches_the_serializer(string fixture)
    {
        using var fx = SysfsFixture.Build(Description(fixture));
        var inv = SysfsScanner.Scan(fx.Root);
        Assert.Equal(JsonSerializer.Serialize(inv, Reference) + "\n", TopologyJson.Serialize(inv));
    }

    [Fact]
    public void Inventory_json_with_warnings_and_a_broken_function_matches_the_serializer()
    {
        using var fx = SysfsFixture.Build(Topologies.Lenovo4Gpu);
        var dir = fx.DeviceDir("0000:06:00.0");
        File.WriteAllBytes(Path.Combine(dir, "config"), File.ReadAllBytes(Path.Combine(dir, "config"))[..100]);
        File.Delete(Path.Combine(dir, "vendor"));
        File.WriteAllText(Path.Combine(dir, "numa_node"), "-1\n");
        var inv = SysfsScanner.Scan(fx.Root);
        Assert.NotEmpty(inv.Warnings);
        Assert.Equal(JsonSerializer.Serialize(inv, Reference) + "\n", TopologyJson.Serialize(inv));
    }

    public static TheoryData<string, string, bool, bool, bool, CvmKind> Plans => new()
    {
        { nameof(Topologies.HgxH100), "all", true, true, true, CvmKind.Snp },
        { nameof(Topologies.HgxH100), "2", false, true, false, CvmKind.None },
        { nameof(Topologies.HgxH100), "0000:1b:00.0,0000:9d:00.0", true, false, true, CvmKind.Tdx },
        { nameof(Topologies.Lenovo4Gpu), "all", true, true, false, CvmKind.None },
        { nameof(Topologies.SingleGpu), "all", false, false, false, CvmKind.Snp },
    };

    [Theory]
    [MemberData(nameof(Plans))]
    public void Plan_json_matches_the_serializer(string fixture, string gpus, bool replicate, bool nics, bool nvswitch, CvmKind cvm)
    {
        var plan = PlanTests.PlanFor(Description(fixture), gpus, replicate ? PlacementMode.Replicate : PlacementMode.Flatten, nics, nvswitch, cvm);
        Assert.Equal(JsonSerializer.Serialize(plan, Reference) + "\n", TopologyJson.Serialize(plan));
    }

    [Fact]
    public void Plan_json_with_group_members_and_blockers_matches_the_serializer()
    {
        var group = PlanTests.Scan(Topologies.HgxH100).Find(PciAddress.Parse("0000:1b:00.0"))!.IommuGroup;
        var shared = SysfsFixture.ChangeLine(Topologies.HgxH100, "0000:81:00.0", $"0000:81:00.0 0000:80:01.0 ep 144d:a80a class=0x010802 drv=nvme link=4/4 bar=0:16K:m64 group={group}");
        var plan = PlanTests.PlanFor(shared, "all", PlacementMode.Replicate, nics: true, nvswitch: true);
        Assert.NotEmpty(plan.Blockers);
        Assert.Contains(plan.Devices, d => d.Role == PassRole.GroupMember);
        Assert.Equal(JsonSerializer.Serialize(plan, Reference) + "\n", TopologyJson.Serialize(plan));
    }

    private sealed class AddressConverter : JsonConverter<PciAddress>
    {
        public override PciAddress Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            PciAddress.Parse(reader.GetString() ?? string.Empty);

        public override void Write(Utf8JsonWriter writer, PciAddress value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToString());
    }
}
