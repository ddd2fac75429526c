namespace Veil.Measure.Snp;

/// <summary>The hypervisor that builds the initial guest state; each sets VMSA registers slightly differently.</summary>
public enum VmmType
{
    Qemu,
    Ec2,
    Gce,
}

/// <summary>The SEV generation being measured.</summary>
public enum SevMode
{
    Sev,
    SevEs,
    Snp,
}
