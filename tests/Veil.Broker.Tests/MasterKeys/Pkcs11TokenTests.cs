using System.Security.Cryptography;
using Net.Pkcs11Interop.Common;
using Veil.Broker.KeyWrapping;
using Veil.Broker.Tests.Support;

namespace Veil.Broker.Tests.MasterKeys;

/// <summary>The master key in the suite's SoftHSM2 token: it wraps inside the token, and it cannot be read or wrapped out.</summary>
public sealed class Pkcs11TokenTests
{
    private static Func<string, string?> NoEnvironment => _ => null;

    [Fact]
    public void The_key_object_refuses_to_show_its_value_to_be_wrapped_out_or_to_become_extractable()
    {
        var label = SoftHsmToken.NewKey("noextract");
        SoftHsmToken.WithSession((session, f) =>
        {
            var key = SoftHsmToken.FindKey(session, f, label);
            var attributes = session.GetAttributeValue(key, [CKA.CKA_VALUE, CKA.CKA_SENSITIVE, CKA.CKA_EXTRACTABLE, CKA.CKA_NEVER_EXTRACTABLE]);
            Assert.True(attributes[0].CannotBeRead); // C_GetAttributeValue answered CKR_ATTRIBUTE_SENSITIVE
            Assert.True(attributes[1].GetValueAsBool());
            Assert.False(attributes[2].GetValueAsBool());
            Assert.True(attributes[3].GetValueAsBool());

            // A wrapping key of the caller's own (a session object) cannot take the master key out either.
            using var keyGen = f.MechanismFactory.Create(CKM.CKM_AES_KEY_GEN);
            var wrapping = session.GenerateKey(keyGen,
            [
                f.ObjectAttributeFactory.Create(CKA.CKA_TOKEN, false),
                f.ObjectAttributeFactory.Create(CKA.CKA_VALUE_LEN, 32),
                f.ObjectAttributeFactory.Create(CKA.CKA_WRAP, true),
            ]);
            using var wrap = f.MechanismFactory.Create(CKM.CKM_AES_KEY_WRAP);
            var refused = Assert.Throws<Pkcs11Exception>(() => session.WrapKey(wrap, wrapping, key));
            Assert.Equal(CKR.CKR_KEY_UNEXTRACTABLE, refused.RV);

            // Once false, CKA_EXTRACTABLE cannot be set again (PKCS#11 makes it one-way), nor CKA_SENSITIVE cleared.
            Assert.Throws<Pkcs11Exception>(() => session.SetAttributeValue(key, [f.ObjectAttributeFactory.Create(CKA.CKA_EXTRACTABLE, true)]));
            Assert.Throws<Pkcs11Exception>(() => session.SetAttributeValue(key, [f.ObjectAttributeFactory.Create(CKA.CKA_SENSITIVE, false)]));
            session.DestroyObject(wrapping);
        });
    }

    [Fact]
    public async Task Data_keys_wrap_in_the_token_bound_to_the_resource_name()
    {
        var label = SoftHsmToken.NewKey("wrap");
        using var wrapper = MasterKeySpec.Open(SoftHsmToken.Uri(label), "--master-key", "/nonexistent", NoEnvironment, sharedStore: false);
        Assert.Equal($"pkcs11:token={SoftHsmToken.TokenLabel};object={label}", wrapper.KeyId);
        var dataKey = RandomNumberGenerator.GetBytes(32);
        var wrapped = await wrapper.WrapAsync(dataKey, "a/b/c"u8.ToArray(), CancellationToken.None);
        Assert.Equal(12 + 32 + 16, wrapped.Length);
        Assert.False(wrapped.AsSpan().IndexOf(dataKey) >= 0);
        using (var back = await wrapper.UnwrapAsync(wrapped, "a/b/c"u8.ToArray(), CancellationToken.None))
        {
            Assert.Equal(dataKey, back.ToArray());
        }

        await Assert.ThrowsAnyAsync<CryptographicException>(async () => await wrapper.UnwrapAsync(wrapped, "a/b/other"u8.ToArray(), CancellationToken.None));
        wrapped[20] ^= 1;
        await Assert.ThrowsAnyAsync<CryptographicException>(async () => await wrapper.UnwrapAsync(wrapped, "a/b/c"u8.ToArray(), CancellationToken.None));

        // Another key object in the same token cannot open it: the key id in a row is what decides.
        using var other = MasterKeySpec.Open(SoftHsmToken.Uri(SoftHsmToken.NewKey("wrap-other")), "--master-key", "/nonexistent", NoEnvironment, sharedStore: false);
        wrapped[20] ^= 1;
        await Assert.ThrowsAnyAsync<CryptographicException>(async () => await other.UnwrapAsync(wrapped, "a/b/c"u8.ToArray(), CancellationToken.None));
    }

    [Fact]
    public void A_missing_key_object_is_a_configuration_error_naming_the_field_and_the_label()
    {
        var e = Assert.Throws<BrokerConfigurationException>(() => MasterKeySpec.Open(SoftHsmToken.Uri("no-such-key"), "--master-key", "/nonexistent", NoEnvironment, sharedStore: false));
        Assert.Equal($"--master-key: token '{SoftHsmToken.TokenLabel}' holds no secret key object labelled 'no-such-key'", e.Message);
        var token = Assert.Throws<BrokerConfigurationException>(() => MasterKeySpec.Open(
            SoftHsmToken.Uri("veil-master").Replace("token=" + SoftHsmToken.TokenLabel, "token=no-such-token", StringComparison.Ordinal), "--master-key", "/nonexistent", NoEnvironment, sharedStore: false));
        Assert.StartsWith("--master-key: no PKCS#11 token labelled 'no-such-token'", token.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_that_could_leave_the_token_is_refused()
    {
        var label = "extractable-" + Guid.NewGuid().ToString("N")[..12];
        SoftHsmToken.WithSession((session, f) =>
        {
            using var keyGen = f.MechanismFactory.Create(CKM.CKM_AES_KEY_GEN);
            session.GenerateKey(keyGen,
            [
                f.ObjectAttributeFactory.Create(CKA.CKA_TOKEN, true),
                f.ObjectAttributeFactory.Create(CKA.CKA_LABEL, label),
                f.ObjectAttributeFactory.Create(CKA.CKA_VALUE_LEN, 32),
                f.ObjectAttributeFactory.Create(CKA.CKA_ENCRYPT, true),
                f.ObjectAttributeFactory.Create(CKA.CKA_DECRYPT, true),
                f.ObjectAttributeFactory.Create(CKA.CKA_SENSITIVE, true),
                f.ObjectAttributeFactory.Create(CKA.CKA_EXTRACTABLE, true),
            ]);
        });
        var e = Assert.Throws<BrokerConfigurationException>(() => MasterKeySpec.Open(SoftHsmToken.Uri(label), "--master-key", "/nonexistent", NoEnvironment, sharedStore: false));
        Assert.Equal($"--master-key: key '{label}' could leave the token (it must have CKA_SENSITIVE true and CKA_EXTRACTABLE false)", e.Message);
    }
}
