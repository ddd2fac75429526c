namespace Veil.Topology.ConfigSpace;

/// <summary>PCI Express Device/Port type, bits 7:4 of the PCIe capability's flags (include/uapi/linux/pci_regs.h).</summary>
public enum PciePortType
{
    Endpoint = 0,
    LegacyEndpoint = 1,
    RootPort = 4,
    SwitchUpstream = 5,
    SwitchDownstream = 6,
    PcieToPciBridge = 7,
    PciToPcieBridge = 8,
    RootComplexIntegratedEndpoint = 9,
    RootComplexEventCollector = 10,
}

/// <summary>ACS extended capability (ID 0x000D): capability and control registers, same bit layout.</summary>
public sealed record AcsCapability(int Offset, ushort Capability, ushort Control)
{
    public const ushort SourceValidation = 0x01;
    public const ushort TranslationBlocking = 0x02;
    public const ushort RequestRedirect = 0x04;
    public const ushort CompletionRedirect = 0x08;
    public const ushort UpstreamForwarding = 0x10;
    public const ushort EgressControl = 0x20;
    public const ushort DirectTranslated = 0x40;

    /// <summary>RR or CR on: peer traffic is forced up to the root complex, so P2P below this port stops being direct.</summary>
    public bool RedirectsPeerTraffic => (Control & (RequestRedirect | CompletionRedirect)) != 0;

    /// <summary>The names lspci prints for each bit, in its order.</summary>
    public static string Describe(ushort bits) => string.Join(' ', Names.Select(n => $"{n.Name}{((bits & n.Bit) != 0 ? '+' : '-')}"));

    private static readonly (string Name, ushort Bit)[] Names =
    [
        ("SrcValid", SourceValidation), ("TransBlk", TranslationBlocking), ("ReqRedir", RequestRedirect),
        ("CmpltRedir", CompletionRedirect), ("UpstreamFwd", UpstreamForwarding), ("EgressCtrl", EgressControl),
        ("DirectTrans", DirectTranslated),
    ];
}

/// <summary>ATS extended capability (ID 0x000F). Control bit 15 enables translation requests.</summary>
public sealed record AtsCapability(int Offset, ushort Capability, ushort Control)
{
    public bool Enabled => (Control & 0x8000) != 0;
}

/// <summary>SR-IOV extended capability (ID 0x0010): how many VFs the PF can have and has enabled.</summary>
public sealed record SriovCapability(int Offset, ushort TotalVfs, ushort NumVfs);

/// <summary>What Veil reads from a function's binary <c>config</c> file.</summary>
public sealed record ConfigSpaceInfo
{
    public required int Length { get; init; }

    /// <summary>0 = endpoint (type 0), 1 = PCI-PCI bridge (type 1), 2 = CardBus.</summary>
    public required int HeaderType { get; init; }

    public int? SecondaryBus { get; init; }

    public int? SubordinateBus { get; init; }

    /// <summary>Null when the function has no PCI Express capability (conventional PCI, or config truncated).</summary>
    public PciePortType? PortType { get; init; }

    public int? LinkCapSpeed { get; init; }

    public int? LinkCapWidth { get; init; }

    public int? LinkSpeed { get; init; }

    public int? LinkWidth { get; init; }

    public AcsCapability? Acs { get; init; }

    public AtsCapability? Ats { get; init; }

    public SriovCapability? Sriov { get; init; }

    /// <summary>Kata's test for "is a PCIe device": config space larger than the 256 conventional bytes.</summary>
    public bool IsExtended => Length > 256;

    /// <summary>Structural problems found while walking the capability chains (loops, truncation).</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];
}
