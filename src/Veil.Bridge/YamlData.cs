using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Veil.Bridge;

/// <summary>Reads our YAML data files strictly: unknown keys and malformed documents are typed errors naming the place.</summary>
internal static class YamlData
{
    /// <summary>Data files are small; anything larger is not one of ours.</summary>
    public const int MaxBytes = 1 << 20;

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithDuplicateKeyChecking()
        .Build();

    public static T Parse<T>(string text, string what)
    {
        if (text.Length > MaxBytes)
        {
            throw new BridgeInputException(what, $"larger than {MaxBytes} bytes");
        }

        try
        {
            return Deserializer.Deserialize<T>(text) ?? throw new BridgeInputException(what, "empty document");
        }
        catch (YamlException e)
        {
            var inner = e.InnerException is null ? string.Empty : $" ({e.InnerException.Message})";
            throw new BridgeInputException(what, $"line {e.Start.Line}, column {e.Start.Column}: {FirstLine(e.Message)}{inner}");
        }
    }

    public static string ReadFile(string path, string what)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new BridgeInputException(what, $"file not found: {path}");
        }

        if (info.Length > MaxBytes)
        {
            throw new BridgeInputException(what, $"{path} is larger than {MaxBytes} bytes");
        }

        return File.ReadAllText(path);
    }

    public static string Resource(string name)
    {
        using var s = typeof(YamlData).Assembly.GetManifestResourceStream("Veil.Bridge.Data." + name)
            ?? throw new InvalidOperationException($"embedded resource {name} missing");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    public static IEnumerable<string> ResourceNames(string folder)
    {
        var prefix = "Veil.Bridge.Data." + folder + "/";
        return typeof(YamlData).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Select(n => n[("Veil.Bridge.Data.".Length)..])
            .Order(StringComparer.Ordinal);
    }

    private static string FirstLine(string s)
    {
        var i = s.IndexOf('\n', StringComparison.Ordinal);
        return i < 0 ? s : s[..i];
    }
}
