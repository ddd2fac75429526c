using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Veil.Broker.Hosting;
using Veil.Broker.Rcar;
using Veil.Broker.Tests.Support;
using Veil.Protocol.Client;

namespace Veil.Broker.Tests.Units;

/// <summary>
/// What keeps a busy broker's memory near its idle size (issue 16's soak): bounded read-ahead per connection, at most
/// one malloc arena per core, and attested sessions that hold their token compactly.
/// </summary>
public class MemoryBoundsTests
{
    [Fact]
    public async Task Each_connection_reads_ahead_at_most_64_KiB_on_the_socket_and_behind_TLS()
    {
        await using var broker = await TestBroker.StartAsync();
        Assert.Equal(64 * 1024, broker.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.MaxReadBufferSize);
        Assert.Equal(64 * 1024, broker.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MaxRequestBufferSize);

        // Bodies larger than the read-ahead still arrive whole (backpressure, not truncation): a 1 MiB resource.
        var value = RandomNumberGenerator.GetBytes(1 << 20);
        await broker.PutResourceAsync("default/big/value", value);
        using var http = broker.NewHttpClient();
        using var tee = TeeKey.CreateEc();
        Assert.Equal(value, await new KbsClient(http).GetWithSampleTeeAsync("default/big/value", tee));
    }

    [Fact]
    public void Malloc_arenas_are_bounded_on_glibc_unless_the_operator_set_MALLOC_ARENA_MAX()
    {
        Assert.True(NativeHeap.ArenaLimit >= 2);
        Assert.False(NativeHeap.BoundArenas(name => name == "MALLOC_ARENA_MAX" ? "4" : null));
        string[] glibc = ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6"];
        if (OperatingSystem.IsLinux() && glibc.Any(File.Exists))
        {
            Assert.True(NativeHeap.BoundArenas(_ => null)); // glibc's mallopt answered 1: the limit took
        }
    }

    [Fact]
    public void An_attested_session_keeps_its_token_as_ascii_bytes_and_its_digest_without_decoding()
    {
        var session = new RcarSession("id", "sample", "nonce", DateTimeOffset.UtcNow.AddMinutes(5));
        Assert.False(session.HasToken);
        Assert.Null(session.Token);
        Assert.Null(session.TokenDigest());

        const string token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ2ZWlsLWJyb2tlciJ9.c2lnbmF0dXJl";
        session.Token = token;
        Assert.True(session.HasToken);
        Assert.Equal(token, session.Token);
        Assert.Equal(SHA256.HashData(Encoding.ASCII.GetBytes(token)), session.TokenDigest());
    }
}
