namespace Veil.Cli;

/// <summary>Exit codes shared by every verb.</summary>
internal static class ExitCodes
{
    /// <summary>Success (for verify verbs: the evidence verified).</summary>
    public const int Ok = 0;

    /// <summary>The operation ran and the answer is no (verification failed, request denied).</summary>
    public const int Failed = 1;

    /// <summary>Bad usage or unreadable input.</summary>
    public const int Usage = 2;

    /// <summary>An unexpected internal error; reported without a stack trace.</summary>
    public const int Internal = 3;
}
