using Veil.Policy.Model;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Veil.Policy.Loading;

/// <summary>
/// Reads a YAML or JSON document (JSON is parsed as YAML flow syntax) into nodes that keep their line
/// numbers, and offers typed accessors that fail with <see cref="PolicyLoadException"/> at the right line.
/// </summary>
internal sealed class PolicyYaml
{
    private PolicyYaml(string file, YamlMappingNode root)
    {
        File = file;
        Root = root;
    }

    public string File { get; }

    public YamlMappingNode Root { get; }

    /// <summary>Documents larger than this are refused before parsing (policies are hand-written text).</summary>
    public const int MaxLength = 1 << 20;

    /// <summary>Deeper flow nesting than this is refused: the node builder recurses and must not exhaust the stack.</summary>
    public const int MaxFlowDepth = 64;

    public static PolicyYaml Parse(string text, string file)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxLength)
        {
            throw new PolicyLoadException(new SourceLocation(file, 1), $"document of {text.Length} characters is larger than the {MaxLength} allowed");
        }

        CheckFlowDepth(text, file);
        CheckSyntax(text, file);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            var reason = e.InnerException is YamlException inner ? inner.Message : e.Message;
            throw new PolicyLoadException(new SourceLocation(file, (int)e.Start.Line), $"not valid YAML/JSON: {reason}");
        }

        if (stream.Documents.Count != 1)
        {
            throw new PolicyLoadException(new SourceLocation(file, 1), $"expected exactly one document, found {stream.Documents.Count}");
        }

        var doc = new PolicyYaml(file, new YamlMappingNode());
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new PolicyLoadException(doc.At(stream.Documents[0].RootNode), "the document must be a mapping (key: value pairs)");
        }

        doc = new PolicyYaml(file, root);
        doc.CheckDuplicates(root);
        return doc;
    }

    public SourceLocation At(YamlNode node) => new(File, Math.Max(1, (int)node.Start.Line));

    public PolicyLoadException Error(YamlNode node, string reason) => new(At(node), reason);

    /// <summary>Rejects keys that are not in <paramref name="allowed"/>, so misspelled fields are not silently ignored.</summary>
    public void AllowOnly(YamlMappingNode map, string context, params string[] allowed)
    {
        foreach (var key in map.Children.Keys)
        {
            var k = ((YamlScalarNode)key).Value ?? "";
            if (!allowed.Contains(k, StringComparer.Ordinal))
            {
                throw Error(key, $"unknown field '{k}' in {context} (allowed: {string.Join(", ", allowed)})");
            }
        }
    }

    public static YamlNode? Get(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    public string String(YamlMappingNode map, string key, string context)
    {
        var node = Get(map, key) ?? throw Error(map, $"{context}: missing '{key}'");
        return Scalar(node, $"{context}.{key}");
    }

    public string? OptionalString(YamlMappingNode map, string key, string context) =>
        Get(map, key) is { } node ? Scalar(node, $"{context}.{key}") : null;

    public string Scalar(YamlNode node, string what) =>
        node is YamlScalarNode s && s.Value is not null
            ? s.Value
            : throw Error(node, $"{what} must be a single value");

    public YamlMappingNode Mapping(YamlNode node, string what) =>
        node as YamlMappingNode ?? throw Error(node, $"{what} must be a mapping (key: value pairs)");

    public YamlSequenceNode Sequence(YamlNode node, string what) =>
        node as YamlSequenceNode ?? throw Error(node, $"{what} must be a list");

    /// <summary>True when the scalar was written without quotes (so it may be a number or boolean).</summary>
    public static bool IsPlain(YamlNode node) => node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any };

    public void RequireHeader(string kind)
    {
        var api = String(Root, "apiVersion", "document");
        if (api != "veil.dev/v1")
        {
            throw Error(Get(Root, "apiVersion")!, $"apiVersion '{api}' is not supported (expected veil.dev/v1)");
        }

        var k = String(Root, "kind", "document");
        if (k != kind)
        {
            throw Error(Get(Root, "kind")!, $"kind '{k}' is not {kind}");
        }
    }

    private static void CheckFlowDepth(string text, string file)
    {
        int depth = 0, line = 1;
        var quote = '\0';
        var comment = false;
        foreach (var ch in text)
        {
            if (ch == '\n')
            {
                line++;
                comment = false;
                continue;
            }

            if (comment)
            {
                continue;
            }

            if (quote != '\0')
            {
                quote = ch == quote ? '\0' : quote;
                continue;
            }

            switch (ch)
            {
                case '"' or '\'':
                    quote = ch;
                    break;
                case '#':
                    comment = true;
                    break;
                case '[' or '{':
                    if (++depth > MaxFlowDepth)
                    {
                        throw new PolicyLoadException(new SourceLocation(file, line), $"nesting deeper than {MaxFlowDepth} levels");
                    }

                    break;
                case ']' or '}':
                    depth = Math.Max(0, depth - 1);
                    break;
            }
        }
    }

    /// <summary>
    /// Walks the parser's events first: some malformed inputs make the node builder throw without a
    /// position, so the last well-formed event gives the line instead.
    /// </summary>
    private static void CheckSyntax(string text, string file)
    {
        var parser = new Parser(new StringReader(text));
        var line = 1L;
        try
        {
            while (parser.MoveNext())
            {
                line = parser.Current!.End.Line;
            }
        }
        catch (YamlException e)
        {
            var reason = e.InnerException is YamlException inner ? inner.Message : e.Message;
            throw new PolicyLoadException(new SourceLocation(file, (int)Math.Max(1, e.Start.Line)), $"not valid YAML/JSON: {reason}");
        }
        catch (InvalidOperationException e)
        {
            throw new PolicyLoadException(new SourceLocation(file, (int)line), $"not valid YAML/JSON after this line: {e.Message}");
        }
    }

    private void CheckDuplicates(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode map:
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (key, value) in map.Children)
                {
                    if (key is YamlScalarNode { Value: { } k } && !seen.Add(k))
                    {
                        throw Error(key, $"duplicate key '{k}'");
                    }

                    CheckDuplicates(value);
                }

                break;
            case YamlSequenceNode seq:
                foreach (var item in seq.Children)
                {
                    CheckDuplicates(item);
                }

                break;
        }
    }
}
