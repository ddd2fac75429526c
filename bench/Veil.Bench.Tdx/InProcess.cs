using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation;
using Veil.Attestation.Tdx;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

/// <summary>
/// tdx-verify's comparison inside one process, so that load from other work on the shared core falls on all sides
/// alike: rounds alternate between (a) Veil verifying the quote fully, (b) the two ECDSA P-256 verifications alone
/// through .NET's ECDsa (the floor of Veil's call path: SHA-256 and the verification), and (c) the same two
/// verifications the way `openssl speed` does them: libcrypto's EVP_PKEY_verify on a context prepared once per key,
/// over a digest computed beforehand (openssl speed hashes nothing either). (c) ÷ (a) is the in-process counterpart
/// of tdx-verify's ratio; (b) ÷ (a) is the share of Veil's time that .NET's two ECDSA calls take.
/// </summary>
internal static partial class InProcess
{
    public static async Task<int> Run(string sample, double seconds)
    {
        var bytes = File.ReadAllBytes(Path.Combine(sample, "tdx_quote"));
        var collateral = TdxCollateral.FromJson(File.ReadAllBytes(Path.Combine(sample, "tdx_quote_collateral.json")));
        var verifier = new TdxVerifier(TdxCollateralSources.Fixed(collateral), new FixedTimeProvider(DateTimeOffset.Parse("2025-07-19T10:00:34Z", CultureInfo.InvariantCulture)));
        var q = TdxQuote.Parse(bytes);
        using var attestationKey = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = q.AttestationKey[..32].ToArray(), Y = q.AttestationKey[32..].ToArray() },
        });
        var pck = Certificates.Load(q.PckChain.Span.TrimEnd((byte)0), "pck")[0];
        using var pckKey = pck.GetECDsaPublicKey()!;
        using var quoteCtx = new LibcryptoVerify(attestationKey.ExportSubjectPublicKeyInfo());
        using var qeCtx = new LibcryptoVerify(pckKey.ExportSubjectPublicKeyInfo());
        var signed = q.SignedBytes.ToArray();
        var qeReport = q.QeReport.Raw.ToArray();
        var quoteSig = q.Signature.ToArray();
        var qeSig = q.QeReportSignature.ToArray();
        var signedDigest = SHA256.HashData(signed);
        var qeReportDigest = SHA256.HashData(qeReport);

        Task Veil() => verifier.VerifyAsync(bytes, null).ContinueWith(t => t.Result.Verified ? 0 : throw new InvalidOperationException("quote did not verify"), TaskScheduler.Default);
        Task DotNet() => Ok(pckKey.VerifyData(qeReport, qeSig, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            && attestationKey.VerifyData(signed, quoteSig, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        Task OpenSsl() => Ok(qeCtx.Verify(qeReportDigest, qeSig) && quoteCtx.Verify(signedDigest, quoteSig));

        await JitWarmUp.Run(async () =>
        {
            await Veil();
            await DotNet();
            await OpenSsl();
        });

        // Batches of about 5 ms per side, alternating; each cycle compares the three within a few milliseconds.
        var cycles = await PairedTiming.Run(seconds, (Veil, 40), (DotNet, 40), (OpenSsl, 40));
        var openssl = PairedTiming.Ratio(cycles, 2, 0);
        var dotnet = PairedTiming.Ratio(cycles, 1, 0);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"in-process, {cycles.Length} cycles: Veil quote {PairedTiming.Median(cycles, 0):F1} us, its two verifies via .NET {PairedTiming.Median(cycles, 1):F1} us, via libcrypto as openssl speed does them {PairedTiming.Median(cycles, 2):F1} us (medians)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"in-process ratio (libcrypto pair / Veil quote): median {openssl.Median:F3}, quartiles {openssl.Low:F3}-{openssl.High:F3}; .NET pair / Veil quote: {dotnet.Median:F3} ({dotnet.Low:F3}-{dotnet.High:F3})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"inproc_ratio={openssl.Median:F3}"));
        return 0;
    }

    private static Task Ok(bool verified) => verified ? Task.CompletedTask : throw new InvalidOperationException("signature did not verify");

    /// <summary>A P-256 public key with a verification context initialised once, as `openssl speed` keeps it.</summary>
    private sealed partial class LibcryptoVerify : IDisposable
    {
        private readonly nint pkey;
        private readonly nint ctx;

        public unsafe LibcryptoVerify(byte[] spki)
        {
            fixed (byte* p = spki)
            {
                var cursor = p;
                pkey = D2iPubKey(0, &cursor, spki.Length);
            }

            ctx = pkey == 0 ? 0 : EvpPkeyCtxNew(pkey, 0);
            if (ctx == 0 || EvpPkeyVerifyInit(ctx) != 1)
            {
                throw new InvalidOperationException("libcrypto could not prepare the key");
            }
        }

        public unsafe bool Verify(byte[] digest, byte[] p1363)
        {
            Span<byte> der = stackalloc byte[72];
            var length = Der(p1363, der);
            fixed (byte* s = der)
            fixed (byte* d = digest)
            {
                return EvpPkeyVerify(ctx, s, (nuint)length, d, (nuint)digest.Length) == 1;
            }
        }

        public void Dispose()
        {
            EvpPkeyCtxFree(ctx);
            EvpPkeyFree(pkey);
        }

        /// <summary>r‖s (32 bytes each) as the DER SEQUENCE of two INTEGERs that EVP_PKEY_verify takes.</summary>
        private static int Der(ReadOnlySpan<byte> p1363, Span<byte> der)
        {
            var at = 2;
            at = Integer(p1363[..32], der, at);
            at = Integer(p1363[32..], der, at);
            der[0] = 0x30;
            der[1] = (byte)(at - 2);
            return at;
        }

        private static int Integer(ReadOnlySpan<byte> value, Span<byte> der, int at)
        {
            var v = value.TrimStart((byte)0);
            var pad = v.IsEmpty || (v[0] & 0x80) != 0;
            der[at++] = 0x02;
            der[at++] = (byte)(v.Length + (pad ? 1 : 0));
            if (pad)
            {
                der[at++] = 0;
            }

            v.CopyTo(der[at..]);
            return at + v.Length;
        }

        [LibraryImport("libcrypto.so.3", EntryPoint = "d2i_PUBKEY")]
        private static unsafe partial nint D2iPubKey(nint a, byte** pp, nint length);

        [LibraryImport("libcrypto.so.3", EntryPoint = "EVP_PKEY_CTX_new")]
        private static partial nint EvpPkeyCtxNew(nint pkey, nint engine);

        [LibraryImport("libcrypto.so.3", EntryPoint = "EVP_PKEY_verify_init")]
        private static partial int EvpPkeyVerifyInit(nint ctx);

        [LibraryImport("libcrypto.so.3", EntryPoint = "EVP_PKEY_verify")]
        private static unsafe partial int EvpPkeyVerify(nint ctx, byte* signature, nuint signatureLength, byte* digest, nuint digestLength);

        [LibraryImport("libcrypto.so.3", EntryPoint = "EVP_PKEY_CTX_free")]
        private static partial void EvpPkeyCtxFree(nint ctx);

        [LibraryImport("libcrypto.so.3", EntryPoint = "EVP_PKEY_free")]
        private static partial void EvpPkeyFree(nint pkey);
    }
}
