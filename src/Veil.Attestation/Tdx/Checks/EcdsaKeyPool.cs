using System.Collections.Concurrent;
using System.Security.Cryptography;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;

namespace Veil.Attestation.Tdx.Checks;

/// <summary>
/// One ECDSA public key, ready for verifications from many threads. .NET does not promise that an ECDsa
/// instance is safe for concurrent use, so each verification borrows an instance from a small pool instead of
/// queueing on a lock; importing a key costs about as much as a verification, so instances are reused.
/// </summary>
internal sealed class EcdsaKeyPool(ECParameters parameters)
{
    private readonly ConcurrentBag<ECDsa> pool = [];

    /// <summary>A P-256 key from the raw x‖y form of quotes; throws <see cref="CryptographicException"/> when not on the curve.</summary>
    public static EcdsaKeyPool FromRawP256(ReadOnlySpan<byte> xy)
    {
        var p = new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = xy[..32].ToArray(), Y = xy[32..64].ToArray() },
        };
        var pool = new EcdsaKeyPool(p);
        pool.Return(pool.Create());
        return pool;
    }

    public static EcdsaKeyPool FromKey(ECDsa key)
    {
        var pool = new EcdsaKeyPool(key.ExportParameters(false));
        pool.Return(key);
        return pool;
    }

    /// <summary>Verifies an r‖s signature with SHA-256.</summary>
    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signatureP1363)
    {
        var ec = pool.TryTake(out var e) ? e : Create();
        try
        {
            return ec.VerifyData(data, signatureP1363, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        finally
        {
            Return(ec);
        }
    }

    private ECDsa Create()
    {
        var ec = ECDsa.Create();
        try
        {
            ec.ImportParameters(parameters);
            return ec;
        }
        catch
        {
            ec.Dispose();
            throw;
        }
    }

    private void Return(ECDsa ec)
    {
        if (pool.Count < Environment.ProcessorCount * 2)
        {
            pool.Add(ec);
        }
        else
        {
            ec.Dispose();
        }
    }
}
