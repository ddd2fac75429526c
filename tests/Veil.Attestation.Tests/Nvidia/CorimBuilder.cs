using System.Buffers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Veil.Attestation.Nvidia.Rim;

namespace Veil.Attestation.Tests.Nvidia;

/// <summary>
/// A CBOR writer for building test CoRIMs. Kept separate from the reader under test (and written from RFC 8949
/// §3, not from Veil's code) so that a shared misreading of the encoding cannot make both sides agree.
/// </summary>
internal sealed class CborOut
{
    private readonly ArrayBufferWriter<byte> w = new();

    public CborOut Head(int major, ulong v)
    {
        var m = (byte)(major << 5);
        if (v < 24)
        {
            Put([(byte)(m | v)]);
        }
        else if (v <= 0xFF)
        {
            Put([(byte)(m | 24), (byte)v]);
        }
        else if (v <= 0xFFFF)
        {
            Put([(byte)(m | 25), (byte)(v >> 8), (byte)v]);
        }
        else if (v <= 0xFFFFFFFF)
        {
            Put([(byte)(m | 26), (byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v]);
        }
        else
        {
            Put([(byte)(m | 27), (byte)(v >> 56), (byte)(v >> 48), (byte)(v >> 40), (byte)(v >> 32), (byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v]);
        }

        return this;
    }

    public CborOut Int(long v) => v >= 0 ? Head(0, (ulong)v) : Head(1, (ulong)(-1 - v));

    public CborOut Bytes(ReadOnlySpan<byte> b)
    {
        Head(2, (ulong)b.Length);
        w.Write(b);
        return this;
    }

    public CborOut Text(string s) => Head(3, (ulong)Encoding.UTF8.GetByteCount(s)).Raw(Encoding.UTF8.GetBytes(s));

    public CborOut Array(int n) => Head(4, (ulong)n);

    public CborOut Map(int n) => Head(5, (ulong)n);

    public CborOut Tag(ulong t) => Head(6, t);

    public CborOut Null() => Raw([0xF6]);

    public CborOut Raw(ReadOnlySpan<byte> encoded)
    {
        w.Write(encoded);
        return this;
    }

    public byte[] ToArray() => w.WrittenSpan.ToArray();

    private void Put(params ReadOnlySpan<byte> bytes) => w.Write(bytes);
}

/// <summary>One reference measurement to write: SPDM index (mkey), SHA-384 alternatives, optional raw value and version.</summary>
internal sealed record RefValue(ulong? Mkey, IReadOnlyList<byte[]> Sha384, byte[]? Raw = null, string? Version = null);

/// <summary>Builds CoRIMs shaped like NVIDIA's (attestation-sdk blackwell_fsp_real.diag) and signs them as NVIDIA's SDK checks them.</summary>
internal static class CorimBuilder
{
    /// <summary>
    /// A concise-mid-tag for one environment (class vendor/model/layer). Each alternative becomes its own reference
    /// triple for the same environment, the way NVIDIA's draft-11 samples list alternatives.
    /// </summary>
    public static byte[] Comid(string tagId, string model, IEnumerable<RefValue> values, ulong layer = 1)
    {
        var triples = new List<byte[]>();
        foreach (var v in values)
        {
            List<byte[]?> alternatives = v.Sha384.Count == 0 ? [null] : [.. v.Sha384];
            foreach (var digest in alternatives)
            {
                var t = new CborOut().Array(2);
                t.Map(1).Int(0).Map(3).Int(1).Text("NVIDIA").Int(2).Text(model).Int(3).Int((long)layer);
                t.Array(1).Map(v.Mkey is null ? 1 : 2);
                if (v.Mkey is { } k)
                {
                    t.Int(0).Int((long)k);
                }

                var fields = (digest is null ? 0 : 1) + (v.Raw is null ? 0 : 1) + (v.Version is null ? 0 : 1);
                t.Int(1).Map(fields);
                if (v.Version is { } version)
                {
                    t.Int(0).Map(1).Int(0).Text(version);
                }

                if (digest is not null)
                {
                    t.Int(2).Array(1).Array(2).Int(7).Bytes(digest);
                }

                if (v.Raw is { } raw)
                {
                    t.Int(4).Tag(560).Bytes(raw);
                }

                triples.Add(t.ToArray());
            }
        }

        var c = new CborOut().Map(3);
        c.Int(1).Map(1).Int(0).Text(tagId);
        c.Int(2).Array(1).Map(2).Int(0).Text("NVIDIA").Int(2).Array(1).Int(0);
        c.Int(4).Map(1).Int(0).Array(triples.Count);
        foreach (var t in triples)
        {
            c.Raw(t);
        }

        return c.ToArray();
    }

    /// <summary>#6.501 corim-map with each CoMID as #6.506(bstr), and an optional rim-validity.</summary>
    public static byte[] CorimMap(string id, IEnumerable<byte[]> comids, (DateTimeOffset NotBefore, DateTimeOffset NotAfter)? validity = null)
    {
        var list = comids.ToList();
        var c = new CborOut().Tag(501).Map(validity is null ? 2 : 3).Int(0).Text(id).Int(1).Array(list.Count);
        foreach (var comid in list)
        {
            c.Tag(506).Bytes(comid);
        }

        if (validity is { } v)
        {
            c.Int(4).Map(2).Int(0).Tag(1).Int(v.NotBefore.ToUnixTimeSeconds()).Int(1).Tag(1).Int(v.NotAfter.ToUnixTimeSeconds());
        }

        return c.ToArray();
    }

    /// <summary>How to sign: which alg to name, where the chain goes, and what else to put in the headers.</summary>
    internal sealed record SignOptions(long Alg = -35, bool ChainProtected = true, bool ChainInBoth = false, bool NoChain = false, byte[]? X5t = null, bool Tagged = true);

    /// <summary>COSE_Sign1 over <paramref name="payload"/>: Sig_structure built here, signed ES384 (raw r‖s).</summary>
    public static byte[] Sign(byte[] payload, ECDsa key, IReadOnlyList<X509Certificate2> chain, SignOptions? options = null)
    {
        var o = options ?? new SignOptions();
        var chainItem = new CborOut().Array(chain.Count);
        foreach (var c in chain)
        {
            chainItem.Bytes(c.RawData);
        }

        var inProtected = !o.NoChain && (o.ChainProtected || o.ChainInBoth);
        var inUnprotected = !o.NoChain && (!o.ChainProtected || o.ChainInBoth);
        var p = new CborOut().Map(1 + (inProtected ? 1 : 0) + (o.X5t is null ? 0 : 1)).Int(1).Int(o.Alg);
        if (inProtected)
        {
            p.Int(33).Raw(chainItem.ToArray());
        }

        if (o.X5t is { } x5t)
        {
            p.Int(34).Array(2).Int(-43).Bytes(x5t);
        }

        var protectedBytes = p.ToArray();
        var tbs = new CborOut().Array(4).Text("Signature1").Bytes(protectedBytes).Bytes([]).Bytes(payload).ToArray();
        var signature = key.SignData(tbs, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

        var m = new CborOut();
        if (o.Tagged)
        {
            m.Tag(18);
        }

        m.Array(4).Bytes(protectedBytes);
        if (inUnprotected)
        {
            m.Map(1).Int(33).Raw(chainItem.ToArray());
        }
        else
        {
            m.Map(0);
        }

        return m.Bytes(payload).Bytes(signature).ToArray();
    }

    /// <summary>The active measurements of a SWID RIM as CoRIM reference values (mkey = SWID index + 1, its SPDM index).</summary>
    public static IEnumerable<RefValue> FromSwid(RimDocument swid) =>
        swid.Measurements.Where(m => m.Active).Select(m => new RefValue((ulong)m.Index + 1, [.. m.Alternatives.Select(a => a.ToArray())]));

    /// <summary>A SWID RIM re-expressed as a signed CoRIM with the same version and measurements.</summary>
    public static byte[] SignedFromSwid(RimDocument swid, TestPki pki, Func<IEnumerable<RefValue>, IEnumerable<RefValue>>? edit = null)
    {
        var values = FromSwid(swid);
        var comid = Comid($"{swid.TagId}-{swid.Version}", swid.Product, edit is null ? values : edit(values));
        return Sign(CorimMap($"NV_{swid.Kind}_{swid.Version}", [comid]), pki.SignerKey, pki.Chain);
    }
}

/// <summary>A three-level P-384 PKI shaped like NVIDIA's RIM signing chain: root CA → signing CA → signer.</summary>
internal sealed class TestPki : IDisposable
{
    public static readonly DateTimeOffset From = DateTimeOffset.Parse("2023-01-01T00:00:00Z");
    public static readonly DateTimeOffset Until = DateTimeOffset.Parse("2030-01-01T00:00:00Z");

    private readonly ECDsa rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private readonly ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);

    public TestPki()
    {
        var rootReq = new CertificateRequest("CN=Test CoRIM Root CA", rootKey, HashAlgorithmName.SHA384);
        rootReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        Root = rootReq.CreateSelfSigned(From, Until);
        var caReq = new CertificateRequest("CN=Test CoRIM Signing CA", caKey, HashAlgorithmName.SHA384);
        caReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        Ca = caReq.Create(Root, From, Until, [1]);
        var leafReq = new CertificateRequest("CN=Test CoRIM Signer", SignerKey, HashAlgorithmName.SHA384);
        using var caWithKey = Ca.CopyWithPrivateKey(caKey);
        Leaf = leafReq.Create(caWithKey, From, Until, [2]);
    }

    public ECDsa SignerKey { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP384);

    public X509Certificate2 Root { get; }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Leaf { get; }

    /// <summary>Leaf first, root included: what NVIDIA puts in x5chain.</summary>
    public IReadOnlyList<X509Certificate2> Chain => [Leaf, Ca, Root];

    public void Dispose()
    {
        rootKey.Dispose();
        caKey.Dispose();
        SignerKey.Dispose();
    }
}
