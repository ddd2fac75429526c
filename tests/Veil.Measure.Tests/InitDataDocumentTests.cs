using System.Text;
using Veil.Measure.InitData;

namespace Veil.Measure.Tests;

public class InitDataDocumentTests
{
    private static IReadOnlyDictionary<string, string> Parse(string toml) => InitDataDocument.ParseData(Encoding.UTF8.GetBytes(toml));

    [Fact]
    public void Reads_the_data_table_in_the_shape_kata_and_coco_write()
    {
        var d = Parse("""
            algorithm = "sha384"
            version = "0.1.0"

            [data]
            "aa.toml" = '''
            [token_configs]
            [token_configs.kbs]
            url = 'https://kbs.example:8080'
            '''
            image_digest = "sha256:1111"  # the model server image
            'policy.rego' = "package agent_policy\ndefault AllowRequestsFailingPolicy := false\n"
            quoted = "a \"b\" \\ \u00e9"
            """);
        Assert.Equal(["aa.toml", "image_digest", "policy.rego", "quoted"], d.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("[token_configs]\n[token_configs.kbs]\nurl = 'https://kbs.example:8080'\n", d["aa.toml"]);
        Assert.Equal("sha256:1111", d["image_digest"]);
        Assert.StartsWith("package agent_policy\ndefault", d["policy.rego"], StringComparison.Ordinal);
        Assert.Equal("a \"b\" \\ é", d["quoted"]);
    }

    [Fact]
    public void Keys_outside_data_are_not_claims()
    {
        var d = Parse("algorithm = \"sha256\"\nversion = \"0.1.0\"\n[other]\nx = \"1\"\n[data]\ny = \"2\"\n");
        Assert.Equal(["y"], d.Keys);
    }

    [Theory]
    [InlineData("[data]\nx = 1\n", "must be a string")]
    [InlineData("[data]\nx = \"open\n", "unterminated string")]
    [InlineData("[data]\nx = '''open\n", "unterminated multi-line string")]
    [InlineData("[data]\nx = \"a\"\nx = \"b\"\n", "duplicate key 'x'")]
    [InlineData("[data]\nx \"a\"\n", "expected '='")]
    [InlineData("[data]\nx = \"\\q\"\n", "unknown escape")]
    [InlineData("[data]\nx = \"\\uD800\"\n", "bad \\u escape")]
    [InlineData("[data]\nx = \"a\" b\n", "unexpected text")]
    public void Malformed_data_is_a_named_error_with_its_line(string toml, string reason)
    {
        var e = Assert.Throws<MeasureException>(() => Parse(toml));
        Assert.Contains(reason, e.Reason);
        Assert.StartsWith("initdata:", e.Field, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_text_never_escapes_as_an_unexpected_exception()
    {
        var rng = new Random(11);
        const string alphabet = "[]=\"'\\\n #abcu0{}.\t";
        for (var n = 0; n < 20_000; n++)
        {
            var chars = new char[rng.Next(60)];
            for (var k = 0; k < chars.Length; k++)
            {
                chars[k] = alphabet[rng.Next(alphabet.Length)];
            }

            try
            {
                Parse("[data]\n" + new string(chars));
            }
            catch (MeasureException)
            {
            }
        }
    }

    /// <summary>Tomlyn's model would keep the last of two definitions; the document is refused instead, as Kata refuses it.</summary>
    [Theory]
    [InlineData("[data]\nx = \"a\"\n[data]\ny = \"b\"\n", "initdata:3", "table or key defined twice")]
    [InlineData("data.x = \"a\"\n[data]\nx = \"b\"\n", "initdata:2", "defined")]
    [InlineData("[data]\n\"a.toml\" = \"a\"\n'a.toml' = \"b\"\n", "initdata:3", "duplicate key 'a.toml'")]
    [InlineData("[data]\nx = \"a\"\n[data.x]\n", "initdata:3", "defined")]
    public void A_key_or_table_defined_twice_is_refused_with_its_line(string toml, string field, string reason)
    {
        var e = Assert.Throws<MeasureException>(() => Parse(toml));
        Assert.Equal(field, e.Field);
        Assert.Contains(reason, e.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[data]\nx = \"\\", "initdata:2")]
    [InlineData("[data]\nu\".u\\", "initdata:2")]
    public void A_document_ending_inside_an_escape_is_a_named_error_not_a_library_crash(string toml, string field)
    {
        var e = Assert.Throws<MeasureException>(() => Parse(toml));
        Assert.Equal(field, e.Field);
        Assert.Contains("unterminated string", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_given_as_dotted_keys_or_an_inline_table_reads_as_the_data_table_does()
    {
        Assert.Equal("1", Parse("data.x = \"1\"\n")["x"]);
        Assert.Equal("2", Parse("data = { y = \"2\" }\n")["y"]);
        var e = Assert.Throws<MeasureException>(() => Parse("data = \"not a table\"\n"));
        Assert.Equal("initdata:1", e.Field);
        e = Assert.Throws<MeasureException>(() => Parse("[data]\nnested = { a = \"b\" }\n"));
        Assert.Equal("initdata:2", e.Field);
        Assert.Contains("must be a string", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Crlf_documents_give_lf_claims()
    {
        Assert.Equal("a\nb\n", Parse("[data]\r\nx = '''\r\na\r\nb\r\n'''\r\n")["x"]);
    }
}
