using System.Security.Cryptography;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using Veil.Broker.Secrets;

namespace Veil.Broker.KeyWrapping;

/// <summary>
/// The master key as a non-extractable, sensitive AES key object in a PKCS#11 token: data keys are encrypted and
/// decrypted by the token (CKM_AES_GCM, the resource name as associated data), so the master key never enters this
/// process. A key object that could be read out (CKA_EXTRACTABLE or not CKA_SENSITIVE) is refused at start. A
/// failing token makes each call throw <see cref="KeyBackendUnavailableException"/> and the next call reconnect:
/// there is no fallback to any other key.
/// </summary>
internal sealed class Pkcs11KeyWrapper : IKeyWrapper
{
    private const int IvBytes = 12;
    private const ulong TagBits = 128;
    private readonly Pkcs11KeyUri _uri;
    private readonly SecretBytes _pin;
    private readonly Lock _gate = new();
    private IPkcs11Library? _library;
    private ISession? _session;
    private IObjectHandle? _key;
    private bool _disposed;

    private Pkcs11KeyWrapper(Pkcs11KeyUri uri, SecretBytes pin)
    {
        _uri = uri;
        _pin = pin;
    }

    public string KeyId => _uri.KeyId;

    /// <summary>Connects, logs in and checks the key object; any failure is a configuration error naming <paramref name="field"/>.</summary>
    public static Pkcs11KeyWrapper Open(Pkcs11KeyUri uri, string field, Func<string, string?> environment)
    {
        var wrapper = new Pkcs11KeyWrapper(uri, uri.ReadPin(field, environment));
        try
        {
            lock (wrapper._gate)
            {
                wrapper.Connect();
            }

            return wrapper;
        }
        catch (KeyBackendUnavailableException e)
        {
            wrapper.Dispose();
            throw new BrokerConfigurationException($"{field}: {e.Message}");
        }
    }

    public ValueTask<byte[]> WrapAsync(ReadOnlyMemory<byte> dataKey, ReadOnlyMemory<byte> context, CancellationToken ct)
    {
        var iv = RandomNumberGenerator.GetBytes(IvBytes);
        var plain = dataKey.ToArray();
        try
        {
            var sealedKey = Run((session, key) =>
            {
                using var mechanism = Gcm(iv, context.ToArray());
                return session.Encrypt(mechanism, key, plain);
            });
            return ValueTask.FromResult<byte[]>([.. iv, .. sealedKey]);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    public ValueTask<SecretBytes> UnwrapAsync(ReadOnlyMemory<byte> wrappedKey, ReadOnlyMemory<byte> context, CancellationToken ct)
    {
        if (wrappedKey.Length <= IvBytes + (int)(TagBits / 8))
        {
            throw new CryptographicException("wrapped data key is too short");
        }

        var iv = wrappedKey[..IvBytes].ToArray();
        var body = wrappedKey[IvBytes..].ToArray();
        return ValueTask.FromResult(new SecretBytes(Run((session, key) =>
        {
            using var mechanism = Gcm(iv, context.ToArray());
            return session.Decrypt(mechanism, key, body);
        })));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Disconnect();
            _pin.Dispose();
        }
    }

    private static IMechanism Gcm(byte[] iv, byte[] aad) => Pkcs11Modules.Factories.MechanismFactory.Create(
        CKM.CKM_AES_GCM, Pkcs11Modules.Factories.MechanismParamsFactory.CreateCkGcmParams(iv, (ulong)iv.Length * 8, aad, TagBits));

    private byte[] Run(Func<ISession, IObjectHandle, byte[]> operation)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_session is null)
            {
                Connect();
            }

            try
            {
                return operation(_session!, _key!);
            }
            catch (Pkcs11Exception e) when (e.RV is CKR.CKR_ENCRYPTED_DATA_INVALID or CKR.CKR_ENCRYPTED_DATA_LEN_RANGE)
            {
                throw new CryptographicException($"{KeyId}: the wrapped data key does not authenticate ({e.RV})");
            }
            catch (Pkcs11Exception e) when (e.RV == CKR.CKR_GENERAL_ERROR && e.Method == "C_Decrypt" && Probe())
            {
                // SoftHSM2 answers a GCM tag mismatch with CKR_GENERAL_ERROR; a token that still encrypts is working,
                // so the wrapped key is what failed, not the token.
                throw new CryptographicException($"{KeyId}: the wrapped data key does not authenticate ({e.RV})");
            }
            catch (Pkcs11Exception e)
            {
                // Only this wrapper's session goes; the next call reconnects (Connect), which fails as long as the token is gone.
                Disconnect();
                throw new KeyBackendUnavailableException($"PKCS#11 token '{_uri.Token}' failed ({e.RV} in {e.Method})", e);
            }
        }
    }

    /// <summary>Whether the token still encrypts with the key (a throwaway block under a fresh IV). Caller holds the gate.</summary>
    private bool Probe()
    {
        try
        {
            using var mechanism = Gcm(RandomNumberGenerator.GetBytes(IvBytes), []);
            _session!.Encrypt(mechanism, _key!, new byte[16]);
            return true;
        }
        catch (Pkcs11Exception)
        {
            return false;
        }
    }

    /// <summary>Loads the module, finds the token by label, logs in, finds and checks the key. Caller holds the gate.</summary>
    private void Connect()
    {
        try
        {
            _library = Pkcs11Modules.Acquire(_uri.ModulePath);
            var slot = _library.GetSlotList(SlotsType.WithTokenPresent).FirstOrDefault(s => s.GetTokenInfo().Label == _uri.Token)
                ?? throw new KeyBackendUnavailableException($"no PKCS#11 token labelled '{_uri.Token}' (is the token present and SOFTHSM2_CONF or the module's configuration right?)");
            _session = slot.OpenSession(SessionType.ReadOnly);
            try
            {
                _session.Login(CKU.CKU_USER, _pin.ToArray());
            }
            catch (Pkcs11Exception e) when (e.RV == CKR.CKR_USER_ALREADY_LOGGED_IN)
            {
                // Login state belongs to the token and the application: another wrapper over this module logged in.
            }

            _key = FindKey(_session);
        }
        catch (Pkcs11Exception e)
        {
            var pin = e.RV is CKR.CKR_PIN_INCORRECT or CKR.CKR_PIN_INVALID or CKR.CKR_PIN_LEN_RANGE or CKR.CKR_PIN_LOCKED;
            Disconnect();
            var hint = pin ? " (the PIN was refused)" : e.Method == "C_Initialize" ? " (the module did not start: check its configuration, for SoftHSM2 SOFTHSM2_CONF)" : "";
            throw new KeyBackendUnavailableException($"PKCS#11 token '{_uri.Token}' failed ({e.RV} in {e.Method}){hint}", e);
        }
        catch (KeyBackendUnavailableException)
        {
            Disconnect();
            throw;
        }
        catch (Exception e) when (e is UnmanagedException or DllNotFoundException or BadImageFormatException)
        {
            Disconnect();
            throw new KeyBackendUnavailableException($"PKCS#11 module {_uri.ModulePath} cannot be loaded ({e.GetType().Name})", e);
        }
    }

    private IObjectHandle FindKey(ISession session)
    {
        var f = Pkcs11Modules.Factories.ObjectAttributeFactory;
        var template = new List<IObjectAttribute> { f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY), f.Create(CKA.CKA_LABEL, _uri.Object) };
        if (_uri.Id is { } id)
        {
            template.Add(f.Create(CKA.CKA_ID, id));
        }

        var found = session.FindAllObjects(template);
        if (found.Count != 1)
        {
            throw new KeyBackendUnavailableException(found.Count == 0
                ? $"token '{_uri.Token}' holds no secret key object labelled '{_uri.Object}'"
                : $"token '{_uri.Token}' holds {found.Count} secret keys labelled '{_uri.Object}'; add id= to the URI");
        }

        var attributes = session.GetAttributeValue(found[0], [CKA.CKA_KEY_TYPE, CKA.CKA_SENSITIVE, CKA.CKA_EXTRACTABLE, CKA.CKA_ENCRYPT, CKA.CKA_DECRYPT]);
        if (attributes[0].GetValueAsUlong() != (ulong)CKK.CKK_AES)
        {
            throw new KeyBackendUnavailableException($"key '{_uri.Object}' is not an AES key");
        }

        if (!attributes[1].GetValueAsBool() || attributes[2].GetValueAsBool())
        {
            throw new KeyBackendUnavailableException($"key '{_uri.Object}' could leave the token (it must have CKA_SENSITIVE true and CKA_EXTRACTABLE false)");
        }

        if (!attributes[3].GetValueAsBool() || !attributes[4].GetValueAsBool())
        {
            throw new KeyBackendUnavailableException($"key '{_uri.Object}' does not allow encrypt and decrypt (CKA_ENCRYPT, CKA_DECRYPT)");
        }

        return found[0];
    }

    private void Disconnect()
    {
        try
        {
            _session?.Dispose();
        }
        catch (Pkcs11Exception)
        {
            // Closing a session of a token that is gone fails too; the module is released next either way.
        }

        _session = null;
        _key = null;
        if (_library is { } library)
        {
            // The last user of the module finalizes it, so the next Connect initializes it afresh (its configuration
            // read again: a token that came back is found); while others use it, their sessions go on.
            Pkcs11Modules.Release(_uri.ModulePath, library);
        }

        _library = null;
    }
}
