namespace Veil.Protocol.Jose;

/// <summary>JOSE algorithm names used by the KBS protocol (RFC 7518).</summary>
public static class JoseAlgorithms
{
    public const string EcdhEsA256Kw = "ECDH-ES+A256KW";
    public const string RsaOaep256 = "RSA-OAEP-256";
    public const string Rsa15 = "RSA1_5";
    public const string A256Gcm = "A256GCM";
    public const string Es256 = "ES256";
}
