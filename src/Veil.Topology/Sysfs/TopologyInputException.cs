namespace Veil.Topology.Sysfs;

/// <summary>Input Veil cannot work from at all (no sysfs tree, an unknown GPU in a request). Names the field and the reason.</summary>
public sealed class TopologyInputException : Exception
{
    public TopologyInputException(string field, string reason)
        : base($"{field}: {reason}")
    {
        Field = field;
    }

    public TopologyInputException()
        : this("input", "invalid")
    {
    }

    public TopologyInputException(string message)
        : this("input", message)
    {
    }

    public TopologyInputException(string message, Exception inner)
        : base(message, inner)
    {
        Field = "input";
    }

    public string Field { get; } = "input";
}
