using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Veil.Measure.InitData;

/// <summary>An init-data document read with Tomlyn: the model, and the syntax tree for line numbers in errors.</summary>
internal sealed record InitDataToml(TomlTable Model, DocumentSyntax Syntax)
{
    /// <summary>
    /// Parses the whole document. Tomlyn's syntax parser goes first because its model deserializer lets a key or
    /// table be defined twice (the last one wins), which Kata's parser refuses and which would let a claim differ
    /// from what the guest reads; any diagnostic refuses the document, with its line.
    /// </summary>
    public static InitDataToml Read(string text)
    {
        // Claims read LF line ends whatever the file has; the digest is over the raw bytes, never over this text.
        text = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        DocumentSyntax syntax;
        try
        {
            syntax = SyntaxParser.Parse(text, "initdata");
        }
        catch (ArgumentOutOfRangeException)
        {
            // Tomlyn 2.11.1: a basic string cut off right after a backslash at the very end of the input makes the
            // lexer throw while formatting its own diagnostic (it converts the end-of-input marker to a character).
            throw new MeasureException($"initdata:{text.Count(c => c == '\n') + 1}", "unterminated string (the document ends in an escape)");
        }

        if (syntax.Diagnostics.FirstOrDefault(d => d.Kind == DiagnosticMessageKind.Error) is { } error)
        {
            throw new MeasureException($"initdata:{error.Span.Start.Line + 1}", Reason(syntax, error));
        }

        try
        {
            return new InitDataToml(TomlSerializer.Deserialize<TomlTable>(text) ?? [], syntax);
        }
        catch (TomlException e)
        {
            throw new MeasureException("initdata", "not valid TOML: " + e.Message);
        }
    }

    /// <summary>The line (1-based) of <paramref name="key"/> under the <c>[table]</c> header, when written that way.</summary>
    public int? LineOf(string table, string key)
    {
        var items = table.Length == 0
            ? Syntax.KeyValues
            : Syntax.Tables.OfType<TableSyntax>().FirstOrDefault(t => t.Name is { } n && KeyText(n) == table)?.Items;
        return items?.FirstOrDefault(kv => kv.Key is { } k && KeyText(k) == key)?.Span.Start.Line + 1;
    }

    /// <summary>
    /// The reason in the words init-data errors have always used (tests and operators rely on them), followed by
    /// Tomlyn's own message. Tomlyn's diagnostics carry no code, only text, so the few kinds with a name of their own
    /// are recognised by their wording in the pinned version; anything else is Tomlyn's message as it is.
    /// </summary>
    private static string Reason(DocumentSyntax syntax, DiagnosticMessage error)
    {
        var m = error.Message;
        string? ours = m switch
        {
            _ when m.StartsWith("Invalid newline in a string", StringComparison.Ordinal)
                || m.StartsWith("Invalid End-Of-File found on string", StringComparison.Ordinal) => "unterminated string",
            _ when m.Contains("End-Of-File found for multi-line", StringComparison.Ordinal) => "unterminated multi-line string",
            _ when m.StartsWith("Expecting `=`", StringComparison.Ordinal) => "expected '=' after the key",
            _ when m.StartsWith("Unexpected escape character", StringComparison.Ordinal) => "unknown escape",
            _ when m.StartsWith("Invalid Unicode scalar value", StringComparison.Ordinal) => "bad \\u escape",
            _ when m.StartsWith("Unexpected token found", StringComparison.Ordinal) && m.Contains("expecting token `newline`", StringComparison.Ordinal) => "unexpected text after the value",
            _ when m.Contains("is already defined", StringComparison.Ordinal) => Redefined(syntax, error.Span.Start),
            _ => null,
        };
        return ours is null ? m : $"{ours} ({m})";
    }

    private static string Redefined(DocumentSyntax syntax, TextPosition at)
    {
        var key = syntax.KeyValues.Concat(syntax.Tables.SelectMany(t => t.Items))
            .FirstOrDefault(kv => kv.Span.Start.Line == at.Line && kv.Span.Start.Column == at.Column)?.Key;
        return key is null ? "table or key defined twice" : $"duplicate key '{KeyText(key)}'";
    }

    private static string KeyText(KeySyntax key) =>
        string.Join('.', new[] { key.Key }.Concat(key.DotKeys.Select(d => d.Key)).Select(Part));

    private static string Part(BareKeyOrStringValueSyntax? part) => part switch
    {
        BareKeySyntax bare => bare.Key?.Text ?? "",
        StringValueSyntax quoted => quoted.Value ?? "",
        _ => "",
    };
}
