using Net.Pkcs11Interop.Common;
using Veil.Broker.Secrets;

namespace Veil.Broker.KeyWrapping;

/// <summary>
/// An RFC 7512 URI naming the master key in a PKCS#11 token: <c>pkcs11:token=…;object=…[;id=…]</c> with the query
/// attributes <c>module-path</c> (else <see cref="ModuleVariable"/>) and <c>pin-source=file:…</c> or
/// <c>pin-source=env:NAME</c> (else <see cref="PinVariable"/>). <c>pin-value</c> is refused: a PIN in a URI ends up
/// in the process list, shell history and config dumps. Every error names the attribute, never its value when
/// that could be a secret.
/// </summary>
internal sealed record Pkcs11KeyUri(string Token, string Object, byte[]? Id, string ModulePath, string? PinSource)
{
    public const string ModuleVariable = "VEIL_PKCS11_MODULE";
    public const string PinVariable = "VEIL_PKCS11_PIN";
    private static readonly string[] PathAttributes = ["token", "object", "id", "type", "serial", "manufacturer", "model"];
    private static readonly string[] QueryAttributes = ["module-path", "pin-source", "pin-value"];

    /// <summary>The key's stable name: token and object (and id), without module path or PIN source.</summary>
    public string KeyId => $"pkcs11:token={Token};object={Object}" + (Id is null ? "" : ";id=" + Convert.ToHexStringLower(Id));

    public static Pkcs11KeyUri Parse(string text, string field, Func<string, string?> environment)
    {
        if (!text.StartsWith("pkcs11:", StringComparison.Ordinal))
        {
            throw Bad(field, "not a PKCS#11 URI (must start with pkcs11:)");
        }

        var rest = text["pkcs11:".Length..];
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        CheckNames(field, q < 0 ? rest : rest[..q], ';', PathAttributes, "path");
        if (q >= 0)
        {
            CheckNames(field, rest[(q + 1)..], '&', QueryAttributes, "query");
        }

        Pkcs11Uri uri;
        try
        {
            uri = new Pkcs11Uri(text);
        }
        catch (Pkcs11UriException)
        {
            // The library's message may quote the offending text, which may hold a PIN: only the rule is named here.
            throw Bad(field, "not a valid RFC 7512 URI (check percent-encoding and that each attribute appears once)");
        }

        if (uri.PinValue is not null)
        {
            throw Bad(field, $"pin-value is refused (the PIN would be visible in the process list); use pin-source=file:PATH or set {PinVariable}");
        }

        if (string.IsNullOrEmpty(uri.Token))
        {
            throw Bad(field, "token= is missing (the token's label, as softhsm2-util --show-slots prints it)");
        }

        if (string.IsNullOrEmpty(uri.Object))
        {
            throw Bad(field, "object= is missing (the label of the AES key object)");
        }

        if (uri.Type is { } type && type != CKO.CKO_SECRET_KEY)
        {
            throw Bad(field, "type= must be secret-key (the master key is an AES key object)");
        }

        if (uri.PinSource is { } source && !source.StartsWith("file:", StringComparison.Ordinal) && !source.StartsWith("env:", StringComparison.Ordinal))
        {
            throw Bad(field, "pin-source must be file:PATH or env:NAME");
        }

        var module = uri.ModulePath ?? environment(ModuleVariable);
        if (string.IsNullOrWhiteSpace(module))
        {
            throw Bad(field, $"module-path is missing (add ?module-path=/usr/lib/softhsm/libsofthsm2.so or set {ModuleVariable})");
        }

        if (!File.Exists(module))
        {
            throw Bad(field, $"module-path: no such file: {module}");
        }

        return new Pkcs11KeyUri(uri.Token, uri.Object, uri.Id is { Length: > 0 } id ? id : null, module, uri.PinSource);
    }

    /// <summary>The user PIN, from pin-source or <see cref="PinVariable"/>; a PIN file must be readable by its owner only.</summary>
    public SecretBytes ReadPin(string field, Func<string, string?> environment)
    {
        string? pin;
        if (PinSource is { } source && source.StartsWith("file:", StringComparison.Ordinal))
        {
            var path = source["file:".Length..];
            path = path.StartsWith("//", StringComparison.Ordinal) ? path[2..] : path;
            if (!File.Exists(path))
            {
                throw Bad(field, $"pin-source: no such file: {path}");
            }

            KeyFiles.RequireOwnerOnly(path);
            pin = File.ReadAllText(path).TrimEnd('\r', '\n');
        }
        else
        {
            var variable = PinSource is { } env ? env["env:".Length..] : PinVariable;
            pin = environment(variable);
            if (string.IsNullOrEmpty(pin))
            {
                throw Bad(field, $"no PIN: {variable} is not set (or give pin-source=file:PATH)");
            }
        }

        if (pin.Length == 0)
        {
            throw Bad(field, "pin-source: the PIN file is empty");
        }

        return new SecretBytes(System.Text.Encoding.UTF8.GetBytes(pin));
    }

    private static void CheckNames(string field, string part, char separator, string[] known, string kind)
    {
        foreach (var attribute in part.Split(separator, StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = attribute.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? attribute : attribute[..eq];
            if (eq < 0 || !known.Contains(name, StringComparer.Ordinal))
            {
                // A name is shown only when it is short and plain: a mistyped "pin-value" must not echo the PIN after it.
                var shown = eq > 0 && name.Length <= 32 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') ? $"'{name}'" : "an attribute";
                throw Bad(field, $"{shown} is not a supported {kind} attribute (supported: {string.Join(", ", known.Where(k => k != "pin-value"))})");
            }
        }
    }

    private static BrokerConfigurationException Bad(string field, string why) => new($"{field}: {why}");
}
