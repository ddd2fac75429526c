using Microsoft.AspNetCore.Http;

namespace Veil.Broker.Problems;

/// <summary>
/// 503 <c>MasterKeyUnavailable</c>: the key-wrapping backend (a PKCS#11 token) did not serve the master key.
/// The broker answers this instead of a 500, and never releases or stores anything under another key.
/// </summary>
internal static class KeyProblems
{
    public const string Kind = "MasterKeyUnavailable";

    public static IResult Unavailable(string detail) => KbsProblem.Create(StatusCodes.Status503ServiceUnavailable, Kind, detail);
}
