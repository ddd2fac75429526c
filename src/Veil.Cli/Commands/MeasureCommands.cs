using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Veil.Measure;
using Veil.Measure.InitData;
using Veil.Measure.Snp;

namespace Veil.Cli.Commands;

/// <summary><c>veil measure</c>: reference values computed from the artifacts the operator already has.</summary>
internal static class MeasureCommands
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var measure = new Command("measure", "Compute expected measurements (reference values) from guest artifacts.");
        measure.Add(Snp());
        measure.Add(OvmfHash());
        measure.Add(IdBlockCommand());
        measure.Add(InitData());
        return measure;
    }

    private static Command Snp()
    {
        var ovmf = new Option<string>("--ovmf") { Description = "OVMF firmware image (OVMF.fd); with --ovmf-hash only its footer is used", Required = true };
        var kernel = new Option<string?>("--kernel") { Description = "Kernel for measured direct boot" };
        var initrd = new Option<string?>("--initrd") { Description = "Initrd (needs --kernel)" };
        var append = new Option<string?>("--append") { Description = "Kernel command line (needs --kernel)" };
        var vcpus = new Option<int>("--vcpus") { Description = "Number of vCPUs", Required = true };
        var vcpuType = new Option<string?>("--vcpu-type") { Description = "EPYC-v4|EPYC-Milan|EPYC-Genoa|EPYC-Rome|EPYC-Turin (any QEMU EPYC model); required for QEMU" };
        var features = new Option<string>("--guest-features") { Description = "VMSA SEV_FEATURES (hex); 0x21 = SNPActive|DebugSwap", DefaultValueFactory = _ => "0x21" };
        var vmm = new Option<string>("--vmm-type") { Description = "qemu|ec2|gce", DefaultValueFactory = _ => "qemu" };
        vmm.AcceptOnlyFromAmong("qemu", "ec2", "gce");
        var mode = new Option<string>("--mode") { Description = "snp|seves|sev", DefaultValueFactory = _ => "snp" };
        mode.AcceptOnlyFromAmong("snp", "seves", "sev");
        var ovmfHash = new Option<string?>("--ovmf-hash") { Description = "Precomputed OVMF hash (hex, from 'veil measure ovmf-hash')" };
        var output = CliOptions.Output("hex", "json");
        var cmd = new Command("snp", "Expected AMD SEV-SNP launch measurement (MEASUREMENT of the attestation report).")
        {
            ovmf, kernel, initrd, append, vcpus, vcpuType, features, vmm, mode, ovmfHash, output,
        };
        cmd.SetAction(parse => CliErrors.Guard(parse, () => Run(() =>
        {
            var vmmType = Enum.Parse<VmmType>(parse.GetValue(vmm)!, ignoreCase: true);
            var sevMode = parse.GetValue(mode) switch { "seves" => SevMode.SevEs, "sev" => SevMode.Sev, _ => SevMode.Snp };
            var typeName = parse.GetValue(vcpuType);
            if (typeName is null && vmmType == VmmType.Qemu && sevMode != SevMode.Sev)
            {
                throw new CliUsageException("--vcpu-type is required for QEMU guests (e.g. EPYC-v4, EPYC-Milan, EPYC-Genoa)");
            }

            var hashHex = parse.GetValue(ovmfHash);
            var inputs = new LaunchInputs
            {
                Mode = sevMode,
                Ovmf = OvmfImage.Load(parse.GetValue(ovmf)!),
                Vcpus = parse.GetValue(vcpus),
                VcpuSignature = typeName is null ? 0 : VcpuTypes.Lookup(typeName),
                Kernel = ReadOptional(parse.GetValue(kernel), "--kernel"),
                Initrd = ReadOptional(parse.GetValue(initrd), "--initrd"),
                Append = parse.GetValue(append),
                GuestFeatures = ParseHexU64(parse.GetValue(features)!, "--guest-features"),
                Vmm = vmmType,
                OvmfHash = hashHex is null ? null : ParseHex(hashHex, "--ovmf-hash"),
            };
            if (inputs.OvmfHash is not null && sevMode != SevMode.Snp)
            {
                throw new CliUsageException("--ovmf-hash applies to --mode snp only");
            }

            var digest = Convert.ToHexStringLower(LaunchDigest.Compute(inputs));
            if (parse.GetValue(output) == "json")
            {
                parse.InvocationConfiguration.Output.WriteLine(JsonSerializer.Serialize(new SortedDictionary<string, object?>(StringComparer.Ordinal)
                {
                    ["claim"] = sevMode == SevMode.Snp ? "snp.measurement" : null,
                    ["measurement"] = digest,
                    ["mode"] = parse.GetValue(mode),
                    ["vcpus"] = inputs.Vcpus,
                    ["vcpu_type"] = typeName,
                    ["guest_features"] = "0x" + inputs.GuestFeatures.ToString("x", CultureInfo.InvariantCulture),
                    ["vmm_type"] = parse.GetValue(vmm),
                    ["ovmf_hash_used"] = inputs.OvmfHash is not null,
                }, Json));
            }
            else
            {
                parse.InvocationConfiguration.Output.WriteLine(digest);
            }
        })));
        return cmd;
    }

    private static Command OvmfHash()
    {
        var ovmf = new Option<string>("--ovmf") { Description = "OVMF firmware image", Required = true };
        var cmd = new Command("ovmf-hash", "Precompute the OVMF part of the SNP launch digest (for --ovmf-hash).") { ovmf };
        cmd.SetAction(parse => CliErrors.Guard(parse, () => Run(() =>
            parse.InvocationConfiguration.Output.WriteLine(Convert.ToHexStringLower(LaunchDigest.OvmfHash(OvmfImage.Load(parse.GetValue(ovmf)!)))))));
        return cmd;
    }

    private static Command IdBlockCommand()
    {
        var measurement = new Option<string>("--measurement") { Description = "Launch measurement (hex, 48 bytes)", Required = true };
        var idKey = new Option<string>("--id-key") { Description = "ID private key (PEM, P-384)", Required = true };
        var authorKey = new Option<string>("--author-key") { Description = "Author private key (PEM, P-384)", Required = true };
        var policy = new Option<string>("--policy") { Description = "Guest policy (hex)", DefaultValueFactory = _ => "0x30000" };
        var svn = new Option<uint>("--guest-svn") { Description = "Guest SVN", DefaultValueFactory = _ => 0 };
        var familyId = new Option<string?>("--family-id") { Description = "Family id (hex, 16 bytes; default zero)" };
        var imageId = new Option<string?>("--image-id") { Description = "Image id (hex, 16 bytes; default zero)" };
        var cmd = new Command("id-block", "Build and sign an SNP ID block and ID auth (QEMU id-block=/id-auth= values, base64).")
        {
            measurement, idKey, authorKey, policy, svn, familyId, imageId,
        };
        cmd.SetAction(parse => CliErrors.Guard(parse, () => Run(() =>
        {
            using var id = IdBlockSigner.LoadKey(parse.GetValue(idKey)!, "--id-key");
            using var author = IdBlockSigner.LoadKey(parse.GetValue(authorKey)!, "--author-key");
            var block = new IdBlock(
                ParseHex(parse.GetValue(measurement)!, "--measurement"),
                parse.GetValue(familyId) is { } f ? ParseHex(f, "--family-id") : new byte[16],
                parse.GetValue(imageId) is { } i ? ParseHex(i, "--image-id") : new byte[16],
                1,
                parse.GetValue(svn),
                ParseHexU64(parse.GetValue(policy)!, "--policy"));
            var r = IdBlockSigner.Sign(block, id, author);
            var o = parse.InvocationConfiguration.Output;
            o.WriteLine($"id-block={Convert.ToBase64String(r.IdBlock)}");
            o.WriteLine($"id-auth={Convert.ToBase64String(r.IdAuth)}");
            o.WriteLine($"id_key_digest={Convert.ToHexStringLower(r.IdKeyDigest)}");
            o.WriteLine($"author_key_digest={Convert.ToHexStringLower(r.AuthorKeyDigest)}");
        })));
        return cmd;
    }

    private static Command InitData()
    {
        var file = new Argument<string>("file") { Description = "init-data TOML document" };
        var alg = new Option<string?>("--alg") { Description = "sha256|sha384|sha512 (must agree with the document's 'algorithm' if it has one)" };
        var output = CliOptions.Output("hex", "json");
        var cmd = new Command("initdata", "Digest of a Confidential Containers init-data document (SNP HOST_DATA, TDX MRCONFIGID).") { file, alg, output };
        cmd.SetAction(parse => CliErrors.Guard(parse, () => Run(() =>
        {
            var m = InitDataDigest.Compute(CliOptions.ReadFile(parse.GetValue(file)!, "initdata"), parse.GetValue(alg));
            var o = parse.InvocationConfiguration.Output;
            if (parse.GetValue(output) == "json")
            {
                o.WriteLine(JsonSerializer.Serialize(new SortedDictionary<string, string>(StringComparer.Ordinal)
                {
                    ["algorithm"] = m.Algorithm,
                    ["digest"] = Convert.ToHexStringLower(m.Digest),
                    ["snp.host_data"] = Convert.ToHexStringLower(m.SnpHostData),
                    ["tdx.mr_config_id"] = Convert.ToHexStringLower(m.TdxMrConfigId),
                }, Json));
            }
            else
            {
                o.WriteLine(Convert.ToHexStringLower(m.Digest));
            }
        })));
        return cmd;
    }

    /// <summary>Measurement errors are bad input (exit 2) with the field named.</summary>
    private static int Run(Action action)
    {
        try
        {
            action();
            return ExitCodes.Ok;
        }
        catch (MeasureException e)
        {
            throw new CliUsageException(e.Message, e);
        }
    }

    private static byte[]? ReadOptional(string? path, string option) => path is null ? null : CliOptions.ReadFile(path, option);

    private static byte[] ParseHex(string text, string option)
    {
        var t = text.Trim();
        t = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? t[2..] : t;
        try
        {
            return Convert.FromHexString(t);
        }
        catch (FormatException)
        {
            throw new CliUsageException($"{option}: not valid hex text");
        }
    }

    private static ulong ParseHexU64(string text, string option)
    {
        var t = text.Trim();
        t = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? t[2..] : t;
        return ulong.TryParse(t, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new CliUsageException($"{option}: '{text}' is not a hex number");
    }
}
