using System.Security.Cryptography;
using Veil.Measure.Snp;
using Veil.Tests.Shared;

namespace Veil.Measure.Tests;

/// <summary>virtee/sev-snp-measure tests/test_id_block.py, plus checks that the random signatures verify.</summary>
public class IdBlockTests
{
    private const string Ld = "B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t";

    [Fact]
    public void Upstream_id_block_and_key_digests_reproduce()
    {
        var r = SignUpstreamCase();
        Assert.Equal(
            "B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7tAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAwAAAAAA",
            Convert.ToBase64String(r.IdBlock));
        Assert.Equal("hwt+NcU/inLQ0yL3WrKvgmJ5Kq9leWIs5BMcPyHyied8sFYKXjuQs5MuZ07HCcsU", Convert.ToBase64String(r.IdKeyDigest));
        Assert.Equal("YxEcNLv8Ckk4+aAJvQdJgNgXIyPmFZnJ/TNtqGcySOHcqY0L6PdjdqEGuK/UwKBX", Convert.ToBase64String(r.AuthorKeyDigest));
    }

    [Fact]
    public void Id_auth_signatures_verify_with_the_keys_it_carries_and_fail_when_flipped()
    {
        var r = SignUpstreamCase();
        Assert.Equal(4096, r.IdAuth.Length);
        var idKey = r.IdAuth.AsSpan(0x240, 1028).ToArray();
        var authorKey = r.IdAuth.AsSpan(0x880, 1028).ToArray();
        Assert.Equal(r.IdKeyDigest, SHA384.HashData(idKey));
        Assert.True(Verify(authorKey, idKey, r.IdAuth.AsSpan(0x680, 512)));
        Assert.True(Verify(idKey, r.IdBlock, r.IdAuth.AsSpan(0x40, 512)));

        var tampered = (byte[])r.IdBlock.Clone();
        tampered[90] ^= 1; // policy
        Assert.False(Verify(idKey, tampered, r.IdAuth.AsSpan(0x40, 512)));
    }

    [Fact]
    public void Wrong_sizes_and_curves_are_named_errors()
    {
        var e = Assert.Throws<MeasureException>(() => new IdBlock(new byte[47], new byte[16], new byte[16], 1, 0, IdBlock.DefaultPolicy).ToBytes());
        Assert.Equal("id_block.launch_digest", e.Field);
        using var p256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var block = new IdBlock(new byte[48], new byte[16], new byte[16], 1, 0, IdBlock.DefaultPolicy);
        Assert.Equal("--id-key", Assert.Throws<MeasureException>(() => IdBlockSigner.Sign(block, p256, p384)).Field);
    }

    [Fact]
    public void Non_key_file_is_a_named_error()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not a key");
            Assert.Equal("--id-key", Assert.Throws<MeasureException>(() => IdBlockSigner.LoadKey(path, "--id-key")).Field);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static IdBlockResult SignUpstreamCase()
    {
        using var id = IdBlockSigner.LoadKey(Vectors.Path("sev-snp-measure", "tests-keyfile", "id_key_test.pem"), "--id-key");
        using var author = IdBlockSigner.LoadKey(Vectors.Path("sev-snp-measure", "tests-keyfile", "author_key_test.pem"), "--author-key");
        var block = new IdBlock(Convert.FromBase64String(Ld), new byte[16], new byte[16], 1, 0, IdBlock.DefaultPolicy);
        return IdBlockSigner.Sign(block, id, author);
    }

    private static bool Verify(byte[] keyStruct, byte[] data, ReadOnlySpan<byte> sigStruct)
    {
        using var key = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP384,
            Q = new ECPoint { X = BigEndian48(keyStruct.AsSpan(4, 72)), Y = BigEndian48(keyStruct.AsSpan(76, 72)) },
        });
        var rs = BigEndian48(sigStruct[..72]).Concat(BigEndian48(sigStruct.Slice(72, 72))).ToArray();
        return key.VerifyData(data, rs, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    private static byte[] BigEndian48(ReadOnlySpan<byte> littleEndian72)
    {
        var b = littleEndian72[..48].ToArray();
        Array.Reverse(b);
        return b;
    }
}
