using System.CommandLine;
using System.Text;
using Veil.Broker;
using Veil.Broker.Hosting;
using Veil.Broker.Keys;
using Veil.Protocol;
using Veil.Protocol.Client;

namespace Veil.Cli.Commands;

/// <summary><c>veil broker serve|init|get|token|rotate-master-key</c>: run the key broker, create its data directory, fetch a resource as a TEE would, mint admin tokens.</summary>
internal static class BrokerCommands
{
    public static Command Create()
    {
        var cmd = new Command("broker", "The Veil key broker (Confidential Containers KBS protocol 0.4.0).");
        cmd.Add(Serve());
        cmd.Add(Init());
        cmd.Add(Get());
        cmd.Add(Token());
        cmd.Add(RotateMasterKeyCommand.Create());
        return cmd;
    }

    /// <summary>Runs a broker action, turning broker and protocol errors into one line and the right exit code.</summary>
    internal static Task<int> GuardAsync(ParseResult parse, Func<Task<int>> action) => CliErrors.GuardAsync(parse, async () =>
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (KbsClientException e)
        {
            parse.InvocationConfiguration.Error.WriteLine($"veil: {e.Message}");
            return e.Status is 401 or 403 or 404 ? ExitCodes.Failed : ExitCodes.Usage;
        }
        catch (BrokerConfigurationException e)
        {
            throw new CliUsageException(e.Message);
        }
        catch (ProtocolFormatException e)
        {
            throw new CliUsageException("invalid broker answer: " + e.Message);
        }
    });

    internal static Uri BrokerUrl(string? value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
        {
            throw new CliUsageException($"--broker: '{value}' is not an http(s) URL");
        }

        return uri.AbsolutePath.EndsWith('/') ? uri : new Uri(uri + "/");
    }

    private static Command Serve()
    {
        var dataDir = new Option<string?>("--data-dir") { Description = "Data directory (default ./veil-data)" };
        var store = new Option<string?>("--store")
        {
            Description = $"Store: sqlite (default, in the data directory; one replica) or postgresql://user@host:5432/db?sslmode=verify-full (replicas). Also ${Veil.Broker.Storage.StoreLocation.EnvironmentVariable} or the config's store:, which keep the password off the command line",
        };
        var urls = new Option<string[]?>("--urls") { Description = "Addresses to listen on (default http://127.0.0.1:8080); HTTP only on loopback", AllowMultipleArgumentsPerToken = true };
        var allowSample = new Option<bool>("--allow-sample") { Description = "Accept the sample TEE (no hardware evidence). Testing only." };
        var insecureHttp = new Option<bool>("--insecure-http") { Description = "Allow plain HTTP on non-loopback addresses (behind a TLS proxy only)" };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "TLS certificate (PEM) for https:// addresses" };
        var tlsKey = new Option<string?>("--tls-key") { Description = "TLS private key (PEM)" };
        var config = new Option<string?>("--config") { Description = "Settings file (veil.yaml or veil.toml); flags override it" };
        var policy = new Option<string?>("--policy") { Description = "Attestation policy: a shipped name (strict, sample) or a policy file (default strict)" };
        var policyParams = new Option<string[]?>("--policy-param") { Description = "Policy parameter name=value, e.g. snp_min_microcode=219 (repeatable)" };
        var resourcePolicy = new Option<string?>("--resource-policy") { Description = "Resource-policy file, used until an admin posts one" };
        var referenceValues = new Option<string[]?>("--reference-values") { Description = "Reference-value file (repeatable)" };
        var snpDir = new Option<string?>("--snp-collateral-dir") { Description = "AMD certificates in the KDS cache layout, for SNP evidence that carries no VCEK/VLEK (offline)" };
        var kdsUrl = new Option<string?>("--kds-url") { Description = "AMD KDS base URL (e.g. https://kdsintf.amd.com) to fetch a missing VCEK from (cached in the data directory)" };
        var tdxDir = new Option<string?>("--tdx-collateral-dir") { Description = "Intel PCS response bodies for TDX (offline); enables tee tdx" };
        var pcsUrl = new Option<string?>("--pcs-url") { Description = "Intel PCS or PCCS base URL to fetch TDX collateral from (cached in the data directory)" };
        var nvidiaDir = new Option<string?>("--nvidia-collateral-dir") { Description = "NVIDIA RIMs (rims/*.xml) and OCSP responses (ocsp/*.der); enables GPU evidence" };
        var rimService = new Option<string?>("--nvidia-rim-service") { Description = "NVIDIA RIM service URL (e.g. https://rim.attestation.nvidia.com/), cached in the data directory" };
        var masterKey = new Option<string?>("--master-key") { Description = "Master key: file (default: VEIL_MASTER_KEY or DATA_DIR/master.key), file:PATH, or pkcs11:token=…;object=…?module-path=…&pin-source=file:… (docs/keys.md)" };
        var previousKeys = new Option<string[]?>("--previous-master-key") { Description = "A master key stored rows may still be wrapped under (during a rotation; repeatable)" };
        var adminKeys = new Option<string[]?>("--admin-public-key") { Description = "Another admin public key (PEM: Ed25519 for EdDSA tokens as kbs-client signs them, or EC P-256); repeatable" };
        var cmd = new Command("serve", "Run the key broker.")
        {
            dataDir, store, urls, allowSample, insecureHttp, tlsCert, tlsKey, config, policy, policyParams, resourcePolicy, referenceValues, snpDir, kdsUrl, tdxDir, pcsUrl, nvidiaDir, rimService, adminKeys, masterKey, previousKeys,
        };
        cmd.SetAction((parse, ct) => GuardAsync(parse, async () =>
        {
            var options = new BrokerOptions();
            if (parse.GetValue(config) is { } configPath)
            {
                options = BrokerConfigFile.Apply(configPath, options);
            }

            options = options with
            {
                DataDir = parse.GetValue(dataDir) ?? options.DataDir,
                Store = Veil.Broker.Storage.StoreLocation.Resolve(parse.GetValue(store), Environment.GetEnvironmentVariable, options.Store),
                Urls = parse.GetValue(urls) is { Length: > 0 } u ? u : options.Urls,
                AllowSample = parse.GetValue(allowSample),
                InsecureHttp = parse.GetValue(insecureHttp) || options.InsecureHttp,
                TlsCertificatePath = parse.GetValue(tlsCert) ?? options.TlsCertificatePath,
                TlsKeyPath = parse.GetValue(tlsKey) ?? options.TlsKeyPath,
                Policy = parse.GetValue(policy) ?? options.Policy,
                PolicyParameters = parse.GetValue(policyParams) is { Length: > 0 } pp ? BrokerConfigFile.ParsePolicyParameters(pp, "--policy-param") : options.PolicyParameters,
                ResourcePolicyPath = parse.GetValue(resourcePolicy) ?? options.ResourcePolicyPath,
                ReferenceValuePaths = parse.GetValue(referenceValues) is { Length: > 0 } rv ? rv : options.ReferenceValuePaths,
                SnpCollateralDir = parse.GetValue(snpDir) ?? options.SnpCollateralDir,
                KdsUrl = parse.GetValue(kdsUrl) is { } kds ? BrokerConfigFile.AsUrl(kds, "--kds-url") : options.KdsUrl,
                TdxCollateralDir = parse.GetValue(tdxDir) ?? options.TdxCollateralDir,
                PcsUrl = parse.GetValue(pcsUrl) is { } pcs ? BrokerConfigFile.AsUrl(pcs, "--pcs-url") : options.PcsUrl,
                NvidiaCollateralDir = parse.GetValue(nvidiaDir) ?? options.NvidiaCollateralDir,
                MasterKey = parse.GetValue(masterKey) ?? options.MasterKey,
                PreviousMasterKeys = parse.GetValue(previousKeys) is { Length: > 0 } pk ? pk : options.PreviousMasterKeys,
                AdminPublicKeyPaths = parse.GetValue(adminKeys) is { Length: > 0 } ak ? ak : options.AdminPublicKeyPaths,
                NvidiaRimServiceUrl = parse.GetValue(rimService) is { } rs ? BrokerConfigFile.AsUrl(rs, "--nvidia-rim-service") : options.NvidiaRimServiceUrl,
            };
            await using var host = await BrokerHost.StartAsync(options, ct).ConfigureAwait(false);
            var output = parse.InvocationConfiguration.Output;
            output.WriteLine(host.StartupLine);
            if (options.AllowSample)
            {
                output.WriteLine("veil broker: WARNING: the sample TEE is accepted (--allow-sample); it proves nothing about hardware");
            }

            output.Flush();
            try
            {
                await host.WaitForShutdownAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: shut down cleanly.
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Init()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "Data directory to create (default ./veil-data)", DefaultValueFactory = _ => "./veil-data" };
        var expiresIn = new Option<string>("--expires-in") { Description = "Lifetime of the admin token written to DATA_DIR/admin.token: minutes, hours or days (30m, 1h, 7d; default 1h); mint more with 'veil broker token mint'", DefaultValueFactory = _ => "1h" };
        var ifMissing = new Option<bool>("--if-missing")
        {
            Description = "Succeed without changes when the directory is already initialised (for a Kubernetes init container); a partly initialised one is still refused",
        };
        var cmd = new Command("init", "Create a data directory: master key, token-signing key, admin key pair and a short-lived admin token.") { dataDir, expiresIn, ifMissing };
        cmd.SetAction(parse => CliErrors.Guard(parse, () =>
        {
            var lifetime = Lifetime(parse.GetValue(expiresIn));

            if (parse.GetValue(ifMissing) && BrokerInit.IsInitialised(parse.GetValue(dataDir)!))
            {
                parse.InvocationConfiguration.Output.WriteLine($"{parse.GetValue(dataDir)} is already initialised; nothing changed");
                return ExitCodes.Ok;
            }

            BrokerInitResult result;
            try
            {
                result = BrokerInit.Run(parse.GetValue(dataDir)!, lifetime, TimeProvider.System);
            }
            catch (BrokerConfigurationException e)
            {
                throw new CliUsageException(e.Message);
            }

            var output = parse.InvocationConfiguration.Output;
            output.WriteLine($"initialised {result.DataDir}: {string.Join(", ", result.Files)}");
            output.WriteLine($"admin token written to {result.AdminTokenPath} (pass it with --admin-token; valid until {DateTimeOffset.UtcNow + lifetime:yyyy-MM-dd HH:mm}Z; mint another with 'veil broker token mint')");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    /// <summary>
    /// <c>veil broker token mint</c>: a new admin token from the data directory's admin key. The token carries its role
    /// and subject as signed (docs/admin-identities.md: whoever holds the admin key could sign any role anyway).
    /// </summary>
    private static Command Token()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "Data directory holding admin-key.pem (default ./veil-data)", DefaultValueFactory = _ => "./veil-data" };
        var role = new Option<string>("--role") { Description = "Role of the token: admin (default), tenant-admin:<repository>, auditor or policy-admin", DefaultValueFactory = _ => Veil.Broker.Admin.AdminTokens.Role };
        var subject = new Option<string>("--subject") { Description = "Subject (sub) the broker's audit rows will name (default admin)", DefaultValueFactory = _ => Veil.Broker.Admin.AdminTokens.DefaultSubject };
        var expiresIn = new Option<string>("--expires-in", "--expires") { Description = "Lifetime: minutes, hours or days (30m, 1h, 7d; default 1h; at most 31d)", DefaultValueFactory = _ => "1h" };
        var audience = new Option<string?>("--audience") { Description = "aud claim, for a broker configured with admin-audience" };
        var outFile = new Option<string?>("--out") { Description = "File to write the token to, created 0600 (default DATA_DIR/admin.token); the token is never printed" };
        var mint = new Command("mint", "Sign a new admin token with the data directory's admin key.") { dataDir, role, subject, expiresIn, audience, outFile };
        mint.SetAction(parse => CliErrors.Guard(parse, () =>
        {
            var dir = parse.GetValue(dataDir)!;
            var path = parse.GetValue(outFile) ?? AdminTokenMint.DefaultPath(dir);
            DateTimeOffset expires;
            try
            {
                expires = AdminTokenMint.Mint(dir, parse.GetValue(role)!, Lifetime(parse.GetValue(expiresIn)), parse.GetValue(audience), path, TimeProvider.System, parse.GetValue(subject)!);
            }
            catch (BrokerConfigurationException e)
            {
                throw new CliUsageException(e.Message);
            }

            parse.InvocationConfiguration.Output.WriteLine($"admin token (role {parse.GetValue(role)}, subject {parse.GetValue(subject)}, valid until {expires:yyyy-MM-dd HH:mm:ss}Z) written to {path}");
            return ExitCodes.Ok;
        }));
        return new Command("token", "Admin tokens for this broker.") { mint };
    }

    /// <summary><c>30m</c>, <c>1h</c>, <c>7d</c>: a lifetime of at least one minute and at most 31 days.</summary>
    internal static TimeSpan Lifetime(string? text)
    {
        var t = (text ?? "").Trim();
        if (t.Length >= 2 && int.TryParse(t[..^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            TimeSpan? span = t[^1] switch
            {
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                _ => null,
            };
            if (span is { } s && s <= AdminTokenMint.MaxLifetime)
            {
                return s;
            }
        }

        throw new CliUsageException($"--expires-in: '{text}' is not a lifetime of 1m to 31d (e.g. 30m, 1h, 7d)");
    }

    private static Command Get()
    {
        var path = new Argument<string>("resource") { Description = "repository/type/tag" };
        var broker = new Option<string>("--broker") { Description = "Broker URL, e.g. http://127.0.0.1:8080", Required = true };
        var tee = new Option<string>("--tee") { Description = "TEE to attest as; only 'sample' can be produced by this client", DefaultValueFactory = _ => "sample" };
        var keyType = new Option<string>("--key-type") { Description = "TEE key: ec (P-256, ECDH-ES+A256KW) or rsa (RSA-OAEP-256)", DefaultValueFactory = _ => "ec" };
        keyType.AcceptOnlyFromAmong("ec", "rsa");
        var outFile = new Option<string?>("--out") { Description = "Write the resource to this file instead of stdout" };
        var cmd = new Command("get", "Do the whole RCAR handshake and print the released resource (for testing a broker).") { path, broker, tee, keyType, outFile };
        cmd.SetAction((parse, ct) => GuardAsync(parse, async () =>
        {
            if (parse.GetValue(tee) != "sample")
            {
                throw new CliUsageException($"--tee: '{parse.GetValue(tee)}' evidence can only come from inside a TEE (veil-agent); this client speaks 'sample'");
            }

            var resource = ResourceCommands.ResourcePathArgument(parse.GetValue(path)!);
            using var http = KbsClient.CreateHttpClient(BrokerUrl(parse.GetValue(broker)));
            using var key = parse.GetValue(keyType) == "rsa" ? TeeKey.CreateRsa() : TeeKey.CreateEc();
            var value = await new KbsClient(http).GetWithSampleTeeAsync(resource, key, ct).ConfigureAwait(false);
            if (parse.GetValue(outFile) is { } file)
            {
                await File.WriteAllBytesAsync(file, value, ct).ConfigureAwait(false);
                parse.InvocationConfiguration.Output.WriteLine($"wrote {value.Length} bytes to {file}");
            }
            else
            {
                parse.InvocationConfiguration.Output.Write(Encoding.UTF8.GetString(value));
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
