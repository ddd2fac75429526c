using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation;

/// <summary>
/// A certificate's notBefore/notAfter as UTC instants. X509Certificate2 reports them as local DateTimes, and
/// converting back to UTC on every check costs a time-zone lookup; verifiers that cache a certificate keep its
/// period instead and still compare it with the verification time on every use.
/// </summary>
internal readonly record struct ValidityPeriod(DateTimeOffset NotBefore, DateTimeOffset NotAfter)
{
    public static ValidityPeriod Of(X509Certificate2 certificate) => new(
        new DateTimeOffset(certificate.NotBefore.ToUniversalTime(), TimeSpan.Zero),
        new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero));

    /// <summary>
    /// Null when <paramref name="now"/> lies within the period (bounds included), else the reason: the state first,
    /// then the bound that was crossed, then the verification time ("expired: valid until X, now Y").
    /// </summary>
    public string? Check(DateTimeOffset now)
    {
        if (now < NotBefore)
        {
            return $"not yet valid: valid from {CertificateSignature.Iso(NotBefore)}, now {CertificateSignature.Iso(now)}";
        }

        return now > NotAfter ? $"expired: valid until {CertificateSignature.Iso(NotAfter)}, now {CertificateSignature.Iso(now)}" : null;
    }
}
