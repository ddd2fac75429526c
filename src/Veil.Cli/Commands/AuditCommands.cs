using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Veil.Cli.Commands;

/// <summary>
/// <c>veil audit</c>: a broker's newest audit rows, as the subject in use may read them (admin and auditor: all;
/// a tenant admin: its repositories').
/// </summary>
internal static class AuditCommands
{
    public static Command Create()
    {
        var (broker, token) = ResourceCommands.AdminOptions();
        var limit = new Option<int>("--limit") { Description = "How many of the newest rows (1 to 1000, default 100)", DefaultValueFactory = _ => 100 };
        var output = CliOptions.Output("table", "json");
        var cmd = new Command("audit", "Read a broker's audit log (who did what to which resource, and why it was allowed or denied).") { broker, token, limit, output };
        cmd.SetAction((parse, ct) => BrokerCommands.GuardAsync(parse, async () =>
        {
            var n = parse.GetValue(limit);
            if (n is < 1 or > 1000)
            {
                throw new CliUsageException($"--limit: {n.ToString(CultureInfo.InvariantCulture)} is not between 1 and 1000");
            }

            using var http = ResourceCommands.AdminClient(parse, broker, token);
            using var response = await http.GetAsync(new Uri("veil/v0/audit?limit=" + n.ToString(CultureInfo.InvariantCulture), UriKind.Relative), ct).ConfigureAwait(false);
            var body = await ResourceCommands.EnsureOkAsync(response, ct).ConfigureAwait(false);
            var writer = parse.InvocationConfiguration.Output;
            if (parse.GetValue(output) == "json")
            {
                writer.WriteLine(System.Text.Encoding.UTF8.GetString(body));
                return ExitCodes.Ok;
            }

            using var doc = JsonDocument.Parse(body);
            writer.WriteLine("AT  OUTCOME  SUBJECT  ACTION  RESOURCE  REASON");
            foreach (var row in doc.RootElement.EnumerateArray())
            {
                string F(string name) => row.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "-";
                writer.WriteLine($"{F("at")}  {F("outcome")}  {F("subject")}  {F("action")}  {F("resource")}  {F("reason")}");
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
