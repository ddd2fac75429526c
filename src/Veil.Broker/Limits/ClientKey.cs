using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;

namespace Veil.Broker.Limits;

/// <summary>
/// Who a request counts against for the per-client limits: the TCP peer's address, never a header or any other
/// caller-chosen string (X-Forwarded-For would let one client be everyone). IPv6 peers count per /64, the
/// smallest block a host is normally given, so one host cannot become 2^64 clients. Behind a proxy every request
/// comes from the proxy: see the README's note on the limits.
/// </summary>
internal static class ClientKey
{
    private static readonly IPAddress Unknown = IPAddress.None;

    public static IPAddress Of(HttpContext http) => Of(http.Connection.RemoteIpAddress);

    public static IPAddress Of(IPAddress? address)
    {
        if (address is null)
        {
            return Unknown;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }
}
