using System.CommandLine;
using System.Text;

namespace Veil.Cli.Commands;

/// <summary>
/// <c>veil policy push</c> and <c>veil policy resource push|show</c>: a broker's attestation policies and resource
/// policies (global, or one repository's with <c>--repository</c>), with the admin token of the subject in use.
/// </summary>
internal static class PolicyBrokerCommands
{
    public static Command Push()
    {
        var file = new Argument<string>("file") { Description = "Attestation policy (YAML or JSON)" };
        var id = new Option<string>("--id") { Description = "policy_id it is stored under (what resource policies name)", Required = true };
        var (broker, token) = ResourceCommands.AdminOptions();
        var cmd = new Command("push", "Validate, store and apply an attestation policy on a broker (admin or policy-admin).") { file, id, broker, token };
        cmd.SetAction((parse, ct) => BrokerCommands.GuardAsync(parse, async () =>
        {
            var text = CliOptions.ReadFile(parse.GetValue(file)!, "file");
            var body = $$"""{"policy_id":{{System.Text.Json.JsonSerializer.Serialize(parse.GetValue(id))}},"policy":"{{B64Url(text)}}"}""";
            await PostAsync(parse, broker, token, "kbs/v0/attestation-policy", body, ct).ConfigureAwait(false);
            parse.InvocationConfiguration.Output.WriteLine($"attestation policy {parse.GetValue(id)} stored and in effect");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    public static Command Resource()
    {
        var resource = new Command("resource", "A broker's resource policies: the global one (admin) or a repository's own (admin or its tenant-admin).");
        var file = new Argument<string>("file") { Description = "Resource policy (YAML or JSON, kind: ResourcePolicy)" };
        var repository = RepositoryOption();
        var (broker, token) = ResourceCommands.AdminOptions();
        var push = new Command("push", "Validate, store and apply a resource policy; with --repository it adds to the global one for that repository.") { file, repository, broker, token };
        push.SetAction((parse, ct) => BrokerCommands.GuardAsync(parse, async () =>
        {
            var text = CliOptions.ReadFile(parse.GetValue(file)!, "file");
            await PostAsync(parse, broker, token, PathOf(parse.GetValue(repository)), $$"""{"policy":"{{B64Url(text)}}"}""", ct).ConfigureAwait(false);
            parse.InvocationConfiguration.Output.WriteLine(parse.GetValue(repository) is { } r ? $"resource policy of repository {r} stored and in effect" : "global resource policy stored and in effect");
            return ExitCodes.Ok;
        }));
        resource.Add(push);

        var showRepository = RepositoryOption();
        var (showBroker, showToken) = ResourceCommands.AdminOptions();
        var show = new Command("show", "Print the rules of the global resource policy, or of a repository's (JSON).") { showRepository, showBroker, showToken };
        show.SetAction((parse, ct) => BrokerCommands.GuardAsync(parse, async () =>
        {
            using var http = ResourceCommands.AdminClient(parse, showBroker, showToken);
            using var response = await http.GetAsync(new Uri(PathOf(parse.GetValue(showRepository)), UriKind.Relative), ct).ConfigureAwait(false);
            parse.InvocationConfiguration.Output.WriteLine(Encoding.UTF8.GetString(await ResourceCommands.EnsureOkAsync(response, ct).ConfigureAwait(false)));
            return ExitCodes.Ok;
        }));
        resource.Add(show);
        return resource;
    }

    private static Option<string?> RepositoryOption() => new("--repository") { Description = "A KBS repository (the first segment of repository/type/tag)" };

    private static string PathOf(string? repository)
    {
        if (repository is null)
        {
            return "kbs/v0/resource-policy";
        }

        // The same rule as a resource path's segments: the broker refuses anything else anyway, but a slash would change the route.
        ResourceCommands.ResourcePathArgument(repository + "/x/x");
        return "veil/v0/resource-policy/" + repository;
    }

    private static async Task PostAsync(ParseResult parse, Option<string> broker, Option<string> token, string path, string body, CancellationToken ct)
    {
        using var http = ResourceCommands.AdminClient(parse, broker, token);
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), content, ct).ConfigureAwait(false);
        await ResourceCommands.EnsureOkAsync(response, ct).ConfigureAwait(false);
    }

    private static string B64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
