using System.Text.Json;
using System.Text.Json.Serialization;
using Veil.Topology.Inventory;
using Veil.Topology.Planning;
using Veil.Topology.Sysfs;

namespace Veil.Topology.Output;

/// <summary>JSON for scans and plans: camelCase, enums as strings, PCI addresses as <c>DDDD:BB:DD.F</c>.</summary>
public static class TopologyJson
{
    // Source-generated metadata: no reflection on the first call, which dominated a cold CLI run.
    private static readonly JsonSerializerOptions Options = new()
    {
        TypeInfoResolver = TopologyJsonContext.Default,
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower), new AddressConverter() },
    };

    public static string Serialize(HostInventory inventory) => JsonSerializer.Serialize(inventory, Options) + "\n";

    public static string Serialize(Plan plan) => JsonSerializer.Serialize(plan, Options) + "\n";

    private sealed class AddressConverter : JsonConverter<PciAddress>
    {
        public override PciAddress Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            PciAddress.Parse(reader.GetString() ?? string.Empty);

        public override void Write(Utf8JsonWriter writer, PciAddress value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToString());
    }
}

[JsonSerializable(typeof(HostInventory))]
[JsonSerializable(typeof(Plan))]
internal sealed partial class TopologyJsonContext : JsonSerializerContext;
