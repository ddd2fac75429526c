namespace Veil.Measure;

/// <summary>GUIDs as they are laid out in firmware tables (the mixed-endian "bytes_le" form).</summary>
internal static class Guids
{
    public static byte[] Bytes(string guid) => Guid.Parse(guid).ToByteArray();
}
