using Veil.Abi.Tee;
using Veil.Measure;
using Veil.Measure.InitData;
using Veil.Policy.Model;

namespace Veil.Policy.Appraisal;

/// <summary>An init-data document that cannot be read (bad TOML, unknown algorithm) or cannot be bound to the evidence.</summary>
public sealed class InitDataException : Exception
{
    public InitDataException(string message)
        : base(message)
    {
    }

    public InitDataException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public InitDataException()
        : this("init-data: invalid")
    {
    }
}

/// <summary>
/// Binds a Confidential Containers init-data document to CPU evidence: its digest must equal SNP HOST_DATA or
/// TDX MRCONFIGID, or (Azure vTPM) PCR 8 = SHA-256(0³² ‖ digest). Then its <c>[data]</c> keys become <c>init_data.*</c> claims; otherwise the CPU submodule is
/// failed with the mismatch as the reason, so no rule can be satisfied by an unbound document. The sample TEE
/// has nothing to bind to and proves nothing; its init-data is taken as given (brokers only accept it with
/// --allow-sample).
/// </summary>
public static class InitDataBinding
{
    public static EvidenceSet Bind(EvidenceSet evidence, byte[] toml)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        ArgumentNullException.ThrowIfNull(toml);
        InitDataMeasurement m;
        IReadOnlyDictionary<string, string> data;
        try
        {
            m = InitDataDigest.Compute(toml);
            data = InitDataDocument.ParseData(toml);
        }
        catch (MeasureException e)
        {
            throw new InitDataException($"init-data: {e.Message}", e);
        }

        var cpu = evidence.Submodules.FirstOrDefault(s => s.Kind == SubmoduleKind.Cpu)
            ?? throw new InitDataException("init-data: needs CPU evidence (SNP or TDX) to bind it to");
        if (cpu.Tee == TeeNames.Sample)
        {
            return evidence with { InitData = data };
        }

        var (claim, expected) = cpu.Tee switch
        {
            TeeNames.Snp => ("snp.host_data", Convert.ToHexStringLower(m.SnpHostData)),
            TeeNames.Tdx => ("tdx.mr_config_id", Convert.ToHexStringLower(m.TdxMrConfigId)),
            // CoCo's attestation-agent extends the (SHA-256) digest into PCR 8 of the vTPM, from zero.
            TeeNames.AzSnpVtpm or TeeNames.AzTdxVtpm when m.Algorithm == "sha256" => ("tpm.pcr08", Convert.ToHexStringLower(InitDataFields.Pcr8(m.Digest))),
            TeeNames.AzSnpVtpm or TeeNames.AzTdxVtpm => throw new InitDataException($"init-data: algorithm '{m.Algorithm}' cannot be bound through PCR 8 of a SHA-256 vTPM bank (use sha256)"),
            _ => throw new InitDataException($"init-data: evidence from '{cpu.Tee}' carries no init-data binding"),
        };
        var actual = cpu.Claims.TryGetValue(claim, out var v) ? v as string : null;
        if (string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            return evidence with { InitData = data };
        }

        var failed = cpu with
        {
            Verified = false,
            Failures = [.. cpu.Failures ?? [], $"init_data.binding: expected {claim} {expected} ({m.Algorithm} of the document), actual {actual ?? "absent"}"],
        };
        return evidence with { Submodules = evidence.Submodules.Select(s => ReferenceEquals(s, cpu) ? failed : s).ToList() };
    }
}
