using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;
using Veil.Protocol.Client;

namespace Veil.Cli.Commands;

/// <summary><c>veil resource put|delete|list</c>: admin verbs against a broker (bearer admin JWT).</summary>
internal static class ResourceCommands
{
    public static Command Create()
    {
        var cmd = new Command("resource", "Manage the secrets a broker releases (admin).");
        cmd.Add(Put());
        cmd.Add(Delete());
        cmd.Add(List());
        return cmd;
    }

    internal static string ResourcePathArgument(string value)
    {
        var parts = value.Split('/');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0 || p is "." or ".." || !p.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')))
        {
            throw new CliUsageException($"resource: '{value}' is not repository/type/tag (letters, digits, '.', '_', '-')");
        }

        return value;
    }

    /// <summary>The broker and the token of the subject in use: what every admin verb takes.</summary>
    internal static (Option<string> Broker, Option<string> Token) AdminOptions() => (
        new Option<string>("--broker") { Description = "Broker URL, e.g. http://127.0.0.1:8080", Required = true },
        new Option<string>("--admin-token") { Description = "File holding the admin JWT of the subject in use: a local one (veil broker init writes DATA_DIR/admin.token; veil broker token mint) or one from the broker's OIDC issuer", Required = true });

    internal static HttpClient AdminClient(ParseResult parse, Option<string> broker, Option<string> token)
    {
        var tokenText = File.ReadAllText(CliOptionsPath(parse.GetValue(token)!)).Trim();
        var http = KbsClient.CreateHttpClient(BrokerCommands.BrokerUrl(parse.GetValue(broker)));
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokenText);
        return http;
    }

    private static string CliOptionsPath(string path) =>
        File.Exists(path) ? path : throw new CliUsageException($"--admin-token: file not found: {path}");

    private static Command Put()
    {
        var path = new Argument<string>("resource") { Description = "repository/type/tag" };
        var file = new Option<string>("--file") { Description = "The secret value (any bytes)", Required = true };
        var (broker, token) = AdminOptions();
        var cmd = new Command("put", "Store or replace a resource (encrypted at rest by the broker).") { path, file, broker, token };
        cmd.SetAction((parse, ct) => BrokerCommands.GuardAsync(parse, async () =>
        {
            var name = ResourcePathArgument(parse.GetValue(path)!);
            var value = CliOptions.ReadFile(parse.GetValue(file)!, "--file");
            using var http = AdminClient(parse, broker, token);
            using var content = new ByteArrayContent(value);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var response = await http.PostAsync(new Uri("kbs/v0/resource/" + name, UriKind.Relative), content, ct).ConfigureAwait(false);
            await EnsureOkAsync(response, ct).ConfigureAwait(false);
            parse.InvocationConfiguration.Output.WriteLine($"stored {name} ({value.Length} bytes)");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Delete()
    {
        var path = new Argument<string>("resource") { Description = "repository/type/tag" };
        var (broker, token) = AdminOptions();
        var cmd = new Command("delete", "Delete a resource.") { path, broker, token };
        cmd.SetAction((parse, ct) => BrokerCommands.GuardAsync(parse, async () =>
        {
            var name = ResourcePathArgument(parse.GetValue(path)!);
            using var http = AdminClient(parse, broker, token);
            using var response = await http.DeleteAsync(new Uri("kbs/v0/resource/" + name, UriKind.Relative), ct).ConfigureAwait(false);
            await EnsureOkAsync(response, ct).ConfigureAwait(false);
            parse.InvocationConfiguration.Output.WriteLine($"deleted {name}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command List()
    {
        var (broker, token) = AdminOptions();
        var output = CliOptions.Output("table", "json");
        var cmd = new Command("list", "List resource names (never values).") { broker, token, output };
        cmd.SetAction((parse, ct) => BrokerCommands.GuardAsync(parse, async () =>
        {
            using var http = AdminClient(parse, broker, token);
            using var response = await http.GetAsync(new Uri("veil/v0/resources", UriKind.Relative), ct).ConfigureAwait(false);
            var body = await EnsureOkAsync(response, ct).ConfigureAwait(false);
            var writer = parse.InvocationConfiguration.Output;
            if (parse.GetValue(output) == "json")
            {
                writer.WriteLine(System.Text.Encoding.UTF8.GetString(body));
                return ExitCodes.Ok;
            }

            using var doc = JsonDocument.Parse(body);
            var rows = doc.RootElement.EnumerateArray().Select(e => (Name: e.GetProperty("name").GetString()!, At: e.GetProperty("updated_at").GetString()!)).ToList();
            var width = rows.Select(r => r.Name.Length).DefaultIfEmpty(4).Max();
            writer.WriteLine($"{"NAME".PadRight(width)}  UPDATED");
            foreach (var (name, at) in rows)
            {
                writer.WriteLine($"{name.PadRight(width)}  {at}");
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    internal static async Task<byte[]> EnsureOkAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return body;
        }

        var kind = response.ReasonPhrase ?? "Error";
        var detail = "(no detail)";
        try
        {
            using var doc = JsonDocument.Parse(body);
            kind = doc.RootElement.TryGetProperty("type", out var t) ? t.GetString()!.Split('/')[^1] : kind;
            detail = doc.RootElement.TryGetProperty("detail", out var d) ? d.GetString()! : detail;
        }
        catch (JsonException)
        {
        }

        throw new KbsClientException((int)response.StatusCode, kind, detail);
    }
}
