using System.Security.Cryptography;
using System.Text;
using Veil.Broker.KeyWrapping;

namespace Veil.Broker.Secrets;

/// <summary>
/// The broker's master key(s), whichever backend holds them (<see cref="IKeyWrapper"/>): each resource value is
/// sealed under a fresh data key, and the data key is wrapped by the primary master key (<see cref="Envelope"/>).
/// Rows are opened with the key their envelope names, the primary or a previous one: while a rotation runs, a broker
/// configured with both serves every row. A row under a key this broker does not hold fails, never falls back.
/// </summary>
internal sealed class MasterKey : IDisposable
{
    public const string EnvironmentVariable = MasterKeySpec.EnvironmentVariable;
    public const string FileName = MasterKeySpec.FileName;
    private readonly IKeyWrapper[] _keys;

    public MasterKey(IKeyWrapper primary, IEnumerable<IKeyWrapper>? previous = null)
    {
        Primary = primary;
        _keys = [primary, .. previous ?? []];
        if (_keys.Select(k => k.KeyId).Distinct(StringComparer.Ordinal).Count() != _keys.Length)
        {
            throw new BrokerConfigurationException("--previous-master-key: names the same key as --master-key or another previous key");
        }
    }

    public IKeyWrapper Primary { get; }

    public IEnumerable<string> KeyIds => _keys.Select(k => k.KeyId);

    /// <param name="spec">The <c>--master-key</c> value (null: the file key, <see cref="MasterKeySpec"/>).</param>
    /// <param name="previous">Keys that rows may still be wrapped under (<c>--previous-master-key</c>).</param>
    /// <param name="sharedStore">
    /// A PostgreSQL store shared by replicas: every replica must open what any other sealed, so a missing key is
    /// refused with the fix that gives them all the same one (never a key of this replica's own).
    /// </param>
    public static MasterKey Load(string dataDir, Func<string, string?> environment, bool sharedStore = false, string? spec = null, IReadOnlyList<string>? previous = null)
    {
        var opened = new List<IKeyWrapper>();
        try
        {
            opened.Add(MasterKeySpec.Open(spec, "--master-key", dataDir, environment, sharedStore));
            foreach (var p in previous ?? [])
            {
                opened.Add(MasterKeySpec.Open(p, "--previous-master-key", dataDir, environment, sharedStore));
            }

            return new MasterKey(opened[0], opened.Skip(1));
        }
        catch
        {
            opened.ForEach(k => k.Dispose());
            throw;
        }
    }

    public static string CreateEncoded() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(FileKeyWrapper.KeyBytes));

    /// <summary>Seals a resource value; <paramref name="name"/> is bound as associated data so values cannot be swapped between names.</summary>
    public async ValueTask<byte[]> SealAsync(ReadOnlyMemory<byte> plaintext, string name, CancellationToken ct)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var dataKey = RandomNumberGenerator.GetBytes(Envelope.DataKeyBytes);
        try
        {
            var body = Envelope.SealBody(dataKey, plaintext.Span, nameBytes);
            var wrapped = await Primary.WrapAsync(dataKey, nameBytes, ct).ConfigureAwait(false);
            return new Envelope(Primary.KeyId, wrapped, body).Write();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    public async ValueTask<SecretBytes> OpenAsync(ReadOnlyMemory<byte> sealedValue, string name, CancellationToken ct)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        if (Envelope.Read(sealedValue, name) is not { } envelope)
        {
            return OpenFormat1(sealedValue, name, nameBytes);
        }

        using var dataKey = await UnwrapAsync(envelope, nameBytes, ct).ConfigureAwait(false);
        return new SecretBytes(Envelope.OpenBody(dataKey.Span, envelope.Body.Span, nameBytes));
    }

    /// <summary>
    /// The row re-wrapped under <see cref="Primary"/>, or null when it already is. Format 2: only the wrapped data key
    /// changes; format 1: the value is sealed again under a new data key (its plaintext stays in memory only).
    /// </summary>
    public async ValueTask<byte[]?> RewrapAsync(ReadOnlyMemory<byte> sealedValue, string name, CancellationToken ct)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        if (Envelope.Read(sealedValue, name) is not { } envelope)
        {
            using var value = OpenFormat1(sealedValue, name, nameBytes);
            return await SealAsync(value.ToArray(), name, ct).ConfigureAwait(false);
        }

        if (envelope.KeyId == Primary.KeyId)
        {
            return null;
        }

        using var dataKey = await UnwrapAsync(envelope, nameBytes, ct).ConfigureAwait(false);
        var copy = dataKey.ToArray();
        try
        {
            var wrapped = await Primary.WrapAsync(copy, nameBytes, ct).ConfigureAwait(false);
            return (envelope with { KeyId = Primary.KeyId, WrappedKey = wrapped }).Write();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(copy);
        }
    }

    public void Dispose()
    {
        foreach (var k in _keys)
        {
            k.Dispose();
        }
    }

    private async ValueTask<SecretBytes> UnwrapAsync(Envelope envelope, byte[] nameBytes, CancellationToken ct)
    {
        var key = _keys.FirstOrDefault(k => k.KeyId == envelope.KeyId)
            ?? throw new KeyBackendUnavailableException(
                $"this broker does not hold master key '{envelope.KeyId}' that wraps the stored value; configure it with --master-key or --previous-master-key");
        return await key.UnwrapAsync(envelope.WrappedKey, nameBytes, ct).ConfigureAwait(false);
    }

    private SecretBytes OpenFormat1(ReadOnlyMemory<byte> sealedValue, string name, byte[] nameBytes)
    {
        // Format 1 names no key: it was sealed under the file key of its day, which must be one of ours.
        foreach (var file in _keys.OfType<FileKeyWrapper>())
        {
            try
            {
                return file.OpenFormat1(sealedValue.Span[1..], nameBytes);
            }
            catch (CryptographicException) when (_keys.OfType<FileKeyWrapper>().Count() > 1)
            {
                // Not this file key; the next may be the one. Exhausting them all fails below.
            }
        }

        if (_keys.OfType<FileKeyWrapper>().Any())
        {
            throw new CryptographicException($"stored resource '{name}' (format 1) does not open under any configured file master key");
        }

        throw new KeyBackendUnavailableException(
            $"stored resource '{name}' is in format 1 (sealed under a file master key): configure that key with --previous-master-key, or rotate it to this key with 'veil broker rotate-master-key'");
    }
}
