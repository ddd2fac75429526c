namespace Veil.Attestation;

/// <summary>A clock pinned to one instant, for verification "as of" a given time (tests, audits, <c>--at</c>).</summary>
public sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
