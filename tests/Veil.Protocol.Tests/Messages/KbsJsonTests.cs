using System.Text;
using System.Text.Json;
using Veil.Protocol.Messages;

namespace Veil.Protocol.Tests.Messages;

/// <summary>KbsJson reuses one buffer and writer per thread: each message must still come out whole and alone.</summary>
public class KbsJsonTests
{
    private static string Text(byte[] utf8) => Encoding.UTF8.GetString(utf8);

    [Fact]
    public void A_short_message_after_a_long_one_carries_nothing_of_it()
    {
        var longValue = new string('x', 12_000);
        var first = KbsJson.Serialize(w => { w.WriteStartObject(); w.WriteString("token", longValue); w.WriteEndObject(); });
        var second = KbsJson.Serialize(w => { w.WriteStartObject(); w.WriteString("a", "b"); w.WriteEndObject(); });

        Assert.Equal("{\"token\":\"" + longValue + "\"}", Text(first));
        Assert.Equal("{\"a\":\"b\"}", Text(second));
    }

    [Fact]
    public void A_message_larger_than_the_kept_buffer_is_whole_and_the_next_one_too()
    {
        var big = new string('y', 100_000);
        var first = KbsJson.Serialize(w => { w.WriteStartObject(); w.WriteString("v", big); w.WriteEndObject(); });
        var next = KbsJson.Serialize(w => { w.WriteStartArray(); w.WriteNumberValue(1); w.WriteEndArray(); });

        Assert.Equal(100_008, first.Length);
        Assert.Equal("[1]", Text(next));
    }

    [Fact]
    public void A_serialization_nested_in_another_gets_its_own_writer()
    {
        var outer = KbsJson.Serialize(w =>
        {
            w.WriteStartObject();
            w.WriteString("before", "1");
            var inner = KbsJson.Serialize(i => { i.WriteStartObject(); i.WriteString("inner", "2"); i.WriteEndObject(); });
            w.WriteString("nested", Text(inner));
            w.WriteString("after", "3");
            w.WriteEndObject();
        });

        Assert.Equal("{\"before\":\"1\",\"nested\":\"{\\\"inner\\\":\\\"2\\\"}\",\"after\":\"3\"}", Text(outer));
    }

    [Fact]
    public void A_writer_that_throws_leaves_no_half_message_for_the_next_call()
    {
        Assert.Throws<InvalidOperationException>(() => KbsJson.Serialize(w =>
        {
            w.WriteStartObject();
            w.WriteString("secret-ish", "partial");
            throw new InvalidOperationException("writer failed");
        }));

        var next = KbsJson.Serialize(w => { w.WriteStartObject(); w.WriteString("ok", "yes"); w.WriteEndObject(); });
        Assert.Equal("{\"ok\":\"yes\"}", Text(next));
        using var doc = JsonDocument.Parse(next);
        Assert.Equal("yes", doc.RootElement.GetProperty("ok").GetString());
    }
}
