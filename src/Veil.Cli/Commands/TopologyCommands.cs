using System.CommandLine;
using System.Text;
using Veil.Topology.Output;
using Veil.Topology.Planning;
using Veil.Topology.Sysfs;

namespace Veil.Cli.Commands;

/// <summary><c>veil topology scan|plan</c>: host PCIe/IOMMU inventory and GPU placement plans for Kata confidential VMs.</summary>
internal static class TopologyCommands
{
    /// <summary>File names under --out, one per artifact.</summary>
    internal static readonly IReadOnlyDictionary<string, string> FileNames = new Dictionary<string, string>
    {
        ["kata"] = "configuration-veil.toml",
        ["qemu"] = "qemu-pcie.args",
        ["cdi"] = "nvidia.com-pgpu.json",
        ["nccl"] = "nccl-topo.xml",
        ["json"] = "plan.json",
    };

    public static Command Create()
    {
        var topology = new Command("topology", "Read the host's PCIe/IOMMU topology and plan GPU placement into Kata (confidential) VMs.");
        topology.Add(Scan());
        topology.Add(Plan());
        return topology;
    }

    private static Option<string> SysfsOption() => new("--sysfs")
    {
        Description = "sysfs root to read (a copy or fixture for offline planning)",
        DefaultValueFactory = _ => SysfsScanner.DefaultRoot,
    };

    private static Command Scan()
    {
        var sysfs = SysfsOption();
        var output = CliOptions.Output("table", "json", "tree");
        var cmd = new Command("scan", "Inventory every PCI function: class, ids, driver, IOMMU group, NUMA node, port role, ACS/ATS, BARs.") { sysfs, output };
        cmd.SetAction(parse => CliErrors.Guard(parse, () => Typed(() =>
        {
            var inv = SysfsScanner.Scan(parse.GetValue(sysfs));
            var text = parse.GetValue(output) switch
            {
                "json" => TopologyJson.Serialize(inv),
                "tree" => InventoryText.Tree(inv),
                _ => InventoryText.Table(inv),
            };
            parse.InvocationConfiguration.Output.Write(text);
            return ExitCodes.Ok;
        })));
        return cmd;
    }

    private static Command Plan()
    {
        var sysfs = SysfsOption();
        var gpus = new Option<string>("--gpus") { Description = "all | a count | BDFs separated by commas", Required = true };
        var nics = new Option<bool>("--with-nics") { Description = "Also pass the ConnectX NIC(s) under each GPU's PCIe switch (GPUDirect RDMA)" };
        var nvswitch = new Option<bool>("--with-nvswitch") { Description = "Also pass the NVSwitches (NVLink inside the VM)" };
        var mode = new Option<string>("--mode") { Description = "flatten (root ports) | replicate (one emulated switch per host switch)", Required = true };
        mode.AcceptOnlyFromAmong("flatten", "replicate");
        var cvm = new Option<string>("--cvm") { Description = "snp | tdx | none", DefaultValueFactory = _ => "none" };
        cvm.AcceptOnlyFromAmong("snp", "tdx", "none");
        var runtime = new Option<string>("--runtime") { Description = "Kata runtime: go | rs (runtime-rs)", DefaultValueFactory = _ => "go" };
        runtime.AcceptOnlyFromAmong("go", "rs");
        var emit = new Option<string?>("--emit") { Description = "kata | cdi | nccl | json | all (default: a summary)" };
        emit.AcceptOnlyFromAmong("kata", "cdi", "nccl", "json", "all");
        var outDir = new Option<string?>("--out") { Description = "Directory to write the emitted files to (default: stdout)" };
        var cmd = new Command("plan", "Plan passthrough of GPUs (and their NICs/NVSwitches) into a Kata VM: devices, guest ports, Kata/CDI/NCCL files, diagnostics.")
        {
            sysfs, gpus, nics, nvswitch, mode, cvm, runtime, emit, outDir,
        };
        cmd.SetAction(parse => CliErrors.Guard(parse, () => Typed(() =>
        {
            var request = new PlanRequest(
                GpuSelection.Parse(parse.GetValue(gpus)),
                parse.GetValue(mode) == "replicate" ? PlacementMode.Replicate : PlacementMode.Flatten,
                parse.GetValue(nics),
                parse.GetValue(nvswitch),
                parse.GetValue(cvm) switch { "snp" => CvmKind.Snp, "tdx" => CvmKind.Tdx, _ => CvmKind.None },
                parse.GetValue(runtime) == "rs" ? KataRuntime.Rs : KataRuntime.Go);
            var plan = Planner.Create(SysfsScanner.Scan(parse.GetValue(sysfs)), request);
            return Emit(parse, plan, parse.GetValue(emit), parse.GetValue(outDir));
        })));
        return cmd;
    }

    private static int Emit(ParseResult parse, Plan plan, string? emit, string? outDir)
    {
        var stdout = parse.InvocationConfiguration.Output;
        if (plan.HasErrors)
        {
            // No artifacts from a plan that cannot work: the summary (or the JSON plan) says why.
            stdout.Write(emit == "json" ? TopologyJson.Serialize(plan) : PlanText.Summary(plan));
            parse.InvocationConfiguration.Error.WriteLine($"veil: the plan has {plan.Diagnostics.Count(d => d.Severity == Severity.Error)} error(s); nothing written");
            return ExitCodes.Failed;
        }

        var artifacts = Artifacts(plan, emit);
        if (outDir is null)
        {
            if (artifacts.Count == 0)
            {
                stdout.Write(PlanText.Summary(plan));
            }
            else if (artifacts.Count == 1)
            {
                stdout.Write(artifacts[0].Content);
            }
            else
            {
                foreach (var (name, content) in artifacts)
                {
                    stdout.WriteLine($"# ---- {name} ----");
                    stdout.Write(content);
                }
            }

            return ExitCodes.Ok;
        }

        if (artifacts.Count == 0)
        {
            throw new CliUsageException("--out needs --emit (kata, cdi, nccl, json or all)");
        }

        Directory.CreateDirectory(outDir);
        foreach (var (name, content) in artifacts)
        {
            File.WriteAllText(Path.Combine(outDir, name), content, new UTF8Encoding(false));
        }

        stdout.Write(PlanText.Summary(plan));
        stdout.WriteLine($"wrote {string.Join(", ", artifacts.Select(a => Path.Combine(outDir, a.Name)))}");
        return ExitCodes.Ok;
    }

    private static List<(string Name, string Content)> Artifacts(Plan plan, string? emit)
    {
        var list = new List<(string, string)>();
        bool Want(string k) => emit == k || emit == "all";
        if (Want("kata"))
        {
            list.Add((FileNames["kata"], KataConfigEmitter.Emit(plan)));
            if (plan.Layout.Switches.Count > 0)
            {
                list.Add((FileNames["qemu"], KataConfigEmitter.EmitQemuArgs(plan)));
            }
        }

        if (Want("cdi"))
        {
            list.Add((FileNames["cdi"], CdiSpecEmitter.Emit(plan)));
        }

        if (Want("nccl"))
        {
            list.Add((FileNames["nccl"], NcclTopologyEmitter.Emit(plan)));
        }

        if (Want("json"))
        {
            list.Add((FileNames["json"], TopologyJson.Serialize(plan)));
        }

        return list;
    }

    /// <summary>Input errors from the topology library become usage errors (exit 2) naming the option.</summary>
    private static int Typed(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (TopologyInputException e)
        {
            throw new CliUsageException(e.Message, e);
        }
    }
}
