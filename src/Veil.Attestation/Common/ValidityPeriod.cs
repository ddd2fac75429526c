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

    /// <summary>Null when <paramref name="now"/> lies within the period (bounds included), else the reason.</summary>
    public string? Check(DateTimeOffset now)
    {
        if (now < NotBefore)
        {
            return $"not yet valid at {CertificateSignature.Iso(now)} (valid from {CertificateSignature.Iso(NotBefore)})";
        }

        return now > NotAfter ? $"expired at {CertificateSignature.Iso(now)} (valid until {CertificateSignature.Iso(NotAfter)})" : null;
    }
}
