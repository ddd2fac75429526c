using System.Globalization;
using System.Text;
using Veil.Topology.Planning;

namespace Veil.Topology.Output;

/// <summary>
/// The Kata <c>configuration.toml</c> fragment for a plan. Keys and defaults follow the NVIDIA GPU templates
/// (configuration-qemu-nvidia-gpu{,-snp,-tdx}.toml.in): vfio_mode guest-kernel, cold plug on root ports,
/// ports computed from cold-plugged devices. runtime-rs has no hot_plug_vfio key, so it is left out there.
/// </summary>
public static class KataConfigEmitter
{
    /// <summary>NVIDIA template default memory (MiB); the guest needs it for the driver and GSP firmware.</summary>
    public const int DefaultMemoryMib = 8192;

    public static string Emit(Plan plan)
    {
        var r = plan.Request;
        var l = plan.Layout;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Kata Containers configuration fragment written by `veil topology plan` ({l.Mode.ToString().ToLowerInvariant()} mode, {plan.Gpus.Count()} GPU(s), runtime {(r.Runtime == KataRuntime.Go ? "go" : "rs")}, cvm {r.Cvm.ToString().ToLowerInvariant()}).");
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Merge into configuration-qemu-nvidia-gpu{Suffix(r)}.toml; every key below is one the template already has.");
        if (plan.HasErrors)
        {
            sb.AppendLine("# WARNING: the plan has errors (see `veil topology plan` diagnostics); this fragment will not start as is.");
        }

        sb.AppendLine("[hypervisor.qemu]");
        if (r.Cvm != CvmKind.None)
        {
            sb.AppendLine("confidential_guest = true");
        }

        if (r.Cvm == CvmKind.Snp)
        {
            sb.AppendLine("sev_snp_guest = true");
        }

        var replicate = l.Mode == PlacementMode.Replicate && r.Runtime == KataRuntime.Go;
        sb.AppendLine(CultureInfo.InvariantCulture, $"cold_plug_vfio = \"{(replicate ? "switch-port" : "root-port")}\"");
        if (r.Runtime == KataRuntime.Go)
        {
            sb.AppendLine("hot_plug_vfio = \"no-port\"");
        }

        if (replicate)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"# {l.Switches.Count} host switch(es) mirrored; stock Kata builds one switch (root port → upstream → {l.SwitchPorts} downstream ports).");
            sb.AppendLine("pcie_root_port = 0");
            sb.AppendLine(CultureInfo.InvariantCulture, $"pcie_switch_port = {l.SwitchPorts}");
        }
        else
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"pcie_root_port = {l.RootPorts}");
            sb.AppendLine("pcie_switch_port = 0");
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"default_memory = {DefaultMemoryMib}");
        if (plan.Numa.Count > 1)
        {
            sb.AppendLine("# Devices span host NUMA nodes; NVIDIA ships enable_numa = false because of kata-containers#13539 — turn it on only with a fixed release.");
            sb.AppendLine("enable_numa = true");
        }

        if (plan.Mmio64Bytes > 0)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"# 64-bit BARs of the passed devices: {plan.Mmio64Bytes >> 20} MiB; guest firmware window ≥ {Checks.MmioWindowMib(plan.Mmio64Bytes)} MiB (fw_cfg opt/ovmf/X-PciMmio64Mb).");
        }

        sb.AppendLine("# kernel_params must keep: pci=realloc pci=nocrs pci=assign-busses (large BARs, predictable guest buses).");
        sb.AppendLine();
        sb.AppendLine("[runtime]");
        sb.AppendLine("vfio_mode = \"guest-kernel\"");
        sb.AppendLine("static_sandbox_resource_mgmt = true");
        foreach (var n in plan.Numa)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"# NUMA: {n.Advice}");
        }

        return sb.ToString();
    }

    /// <summary>QEMU -device lines for replicate mode: one pcie-root-port + x3130 upstream + xio3130 downstream ports per host switch.</summary>
    public static string EmitQemuArgs(Plan plan)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# QEMU PCIe topology written by `veil topology plan`: one emulated switch per host switch.");
        if (plan.Iommufd && plan.Devices.Any(d => d.VfioDevice is not null))
        {
            sb.AppendLine("-object iommufd,id=iommufd0");
        }

        var chassis = 1;
        foreach (var sw in plan.Layout.Switches)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"-device pcie-root-port,id={sw.RootPort},bus=pcie.0,chassis={chassis++}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"-device x3130-upstream,id={sw.UpstreamPort},bus={sw.RootPort}");
            var slot = 0;
            foreach (var dsp in sw.DownstreamPorts)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"-device xio3130-downstream,id={dsp},bus={sw.UpstreamPort},chassis={chassis++},slot={slot++}");
            }
        }

        foreach (var rp in plan.Layout.Ports.Where(p => p.Kind == GuestPortKind.RootPort))
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"-device pcie-root-port,id={rp.Name},bus=pcie.0,chassis={chassis++}");
        }

        foreach (var p in plan.Layout.Ports)
        {
            var d = plan.Devices.First(x => x.Address == p.HostDevice);
            var backend = d.VfioDevice is { } v && plan.Iommufd ? $",iommufd=iommufd0 # /dev/vfio/devices/{v}" : string.Empty;
            sb.AppendLine(CultureInfo.InvariantCulture, $"-device vfio-pci,host={p.HostDevice},bus={p.Name}{backend}");
        }

        return sb.ToString();
    }

    private static string Suffix(PlanRequest r) =>
        (r.Cvm switch { CvmKind.Snp => "-snp", CvmKind.Tdx => "-tdx", _ => string.Empty }) + (r.Runtime == KataRuntime.Rs ? "-runtime-rs" : string.Empty);
}
