using System.Text;
using Veil.Protocol.Json;

namespace Veil.Protocol.Tests.Json;

public class JcsTests
{
    private static string Canon(string json) => Encoding.UTF8.GetString(Jcs.Canonicalize(json));

    [Fact]
    public void Rfc8785_section_3_2_2_example()
    {
        const string input = """
            {
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """;
        Assert.Equal(
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}",
            Canon(input));
    }

    [Fact]
    public void Rfc8785_section_3_2_3_sorts_by_utf16_code_units()
    {
        const string input = """
            {
              "\u20ac": "Euro Sign",
              "\r": "Carriage Return",
              "\ufb33": "Hebrew Letter Dalet With Dagesh",
              "1": "One",
              "\ud83d\ude00": "Emoji: Grinning Face",
              "\u0080": "Control",
              "\u00f6": "Latin Small Letter O With Diaeresis"
            }
            """;
        Assert.Equal(
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
            Canon(input));
    }

    // RFC 8785 Appendix B: IEEE 754 bit patterns and their ECMAScript serialization.
    [Theory]
    [InlineData(0x0000000000000000UL, "0")]
    [InlineData(0x8000000000000000UL, "0")]
    [InlineData(0x0000000000000001UL, "5e-324")]
    [InlineData(0x8000000000000001UL, "-5e-324")]
    [InlineData(0x7fefffffffffffffUL, "1.7976931348623157e+308")]
    [InlineData(0xffefffffffffffffUL, "-1.7976931348623157e+308")]
    [InlineData(0x4340000000000000UL, "9007199254740992")]
    [InlineData(0xc340000000000000UL, "-9007199254740992")]
    [InlineData(0x4430000000000000UL, "295147905179352830000")]
    [InlineData(0x44b52d02c7e14af5UL, "9.999999999999997e+22")]
    [InlineData(0x44b52d02c7e14af6UL, "1e+23")]
    [InlineData(0x44b52d02c7e14af7UL, "1.0000000000000001e+23")]
    [InlineData(0x444b1ae4d6e2ef4eUL, "999999999999999700000")]
    [InlineData(0x444b1ae4d6e2ef4fUL, "999999999999999900000")]
    [InlineData(0x444b1ae4d6e2ef50UL, "1e+21")]
    [InlineData(0x3eb0c6f7a0b5ed8cUL, "9.999999999999997e-7")]
    [InlineData(0x3eb0c6f7a0b5ed8dUL, "0.000001")]
    [InlineData(0x41b3de4355555553UL, "333333333.3333332")]
    [InlineData(0x41b3de4355555554UL, "333333333.33333325")]
    [InlineData(0x41b3de4355555555UL, "333333333.3333333")]
    [InlineData(0x41b3de4355555556UL, "333333333.3333334")]
    [InlineData(0x41b3de4355555557UL, "333333333.33333343")]
    [InlineData(0xbecbf647612f3696UL, "-0.0000033333333333333333")]
    [InlineData(0x43143ff3c1cb0959UL, "1424953923781206.2")]
    public void Rfc8785_appendix_b_numbers(ulong bits, string expected)
    {
        Assert.Equal(expected, EcmaNumber.Format(BitConverter.UInt64BitsToDouble(bits)));
    }

    [Theory]
    [InlineData(0x7fffffffffffffffUL)]
    [InlineData(0x7ff0000000000000UL)]
    public void Rfc8785_appendix_b_nan_and_infinity_are_errors(ulong bits)
    {
        Assert.Throws<ProtocolFormatException>(() => EcmaNumber.Format(BitConverter.UInt64BitsToDouble(bits)));
    }

    [Fact]
    public void Trustee_attestation_service_binding_vector()
    {
        // attestation-service/src/lib.rs test parse_data_json_binding: SHA-384 over the JCS form.
        var digest = System.Security.Cryptography.SHA384.HashData(Jcs.Canonicalize("{\"b\": 1, \"a\": \"test\", \"c\": {\"d\": \"e\"}}"));
        Assert.Equal("e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3", Convert.ToHexStringLower(digest));
    }

    [Fact]
    public void Nested_objects_and_arrays_are_canonical()
    {
        Assert.Equal("{\"a\":[{\"x\":1,\"y\":2}],\"b\":{}}", Canon("{ \"b\" : { }, \"a\" : [ { \"y\" : 2.0, \"x\" : 1 } ] }"));
    }

    [Fact]
    public void Duplicate_member_names_are_refused()
    {
        var e = Assert.Throws<ProtocolFormatException>(() => Canon("{\"a\":1,\"a\":2}"));
        Assert.Contains("duplicate", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lone_surrogate_is_refused()
    {
        Assert.Throws<ProtocolFormatException>(() => Canon("{\"a\":\"\\ud800\"}"));
    }

    [Fact]
    public void Invalid_json_is_a_typed_error()
    {
        Assert.Throws<ProtocolFormatException>(() => Canon("{\"a\":"));
        Assert.Throws<ProtocolFormatException>(() => Canon("1e999"));
    }
}
