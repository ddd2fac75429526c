using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Veil.Tests.Shared;

namespace Veil.Guest.Tests.AzureVtpm;

/// <summary>
/// A real software TPM (Debian's swtpm) on a loopback command port, provisioned as Azure's paravisor leaves the vTPM:
/// an AK at 0x81000003 (made by tpm2-tools) and NV index 0x01400001 holding an HCL report whose variable data names
/// that AK (written by tpm2-tools). The HCL report's SNP report is a real one whose REPORT_DATA is set to the new
/// variable data's digest, so only its AMD signature cannot hold. swtpm caps an NV index at 2 KiB, so the variable data
/// carries the AK alone, not the EK as well.
/// </summary>
internal sealed class SwtpmFixture : IDisposable
{
    private readonly Process swtpm;
    private readonly string state = Directory.CreateTempSubdirectory("veil-swtpm-").FullName;

    private SwtpmFixture(string keyAlgorithm)
    {
        // tpm2-tools' swtpm TCTI finds the control channel at the command port + 1.
        var data = FreePortPair();
        Endpoint = new IPEndPoint(IPAddress.Loopback, data);
        swtpm = Process.Start(new ProcessStartInfo("swtpm",
            ["socket", "--tpm2", "--tpmstate", $"dir={state}", "--server", $"type=tcp,port={data},bindaddr=127.0.0.1",
             "--ctrl", $"type=tcp,port={data + 1},bindaddr=127.0.0.1", "--flags", "not-need-init,startup-clear"])
        { RedirectStandardError = true, RedirectStandardOutput = true })!;
        try
        {
            Provision(keyAlgorithm);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private void Provision(string keyAlgorithm)
    {
        WaitForPort(Endpoint.Port);
        Tool("tpm2_createprimary", "-C", "o", "-G", keyAlgorithm, "-a", "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign|noda", "-c", Path.Combine(state, "ak.ctx"));
        Tool("tpm2_evictcontrol", "-C", "o", "-c", Path.Combine(state, "ak.ctx"), "0x81000003");

        using (var t = Connect())
        {
            AkJwk = new TpmCommands(t).ReadPublic(AzureVtpmAttester.AkHandle).ToJwk();
        }

        var hcl = HclReport(new byte[64]);
        File.WriteAllBytes(Path.Combine(state, "hcl.bin"), hcl);
        Tool("tpm2_nvdefine", "-C", "o", "-s", hcl.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), "0x01400001");
        Tool("tpm2_nvwrite", "-C", "o", "-i", Path.Combine(state, "hcl.bin"), "0x01400001");
    }

    public IPEndPoint Endpoint { get; }

    public JsonObject AkJwk { get; private set; } = [];

    /// <summary>The VCEK of the SNP report used (Trustee's evidence-v2.json), as IMDS would serve it.</summary>
    public static byte[] VcekDer => FromBase64Url(V2()["vcek"]!.GetValue<string>());

    /// <param name="keyAlgorithm">tpm2-tools key spec: rsa2048:rsassa-sha256:null, rsa2048:rsapss-sha256:null, ecc256:ecdsa-sha256:null.</param>
    public static SwtpmFixture Start(string keyAlgorithm) => new(keyAlgorithm);

    public ITpmTransport Connect() => new TpmTcpTransport(Endpoint);

    /// <summary>An HCL report as the paravisor makes it for <paramref name="userData"/>: header, SNP report, request data, variable data.</summary>
    public byte[] HclReport(byte[] userData)
    {
        var vector = FromBase64Url(V2()["hcl_report"]!.GetValue<string>());
        var variable = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["keys"] = new JsonArray(AkJwk.DeepClone()),
            ["vm-configuration"] = new JsonObject { ["console-enabled"] = false, ["secure-boot"] = true, ["tpm-enabled"] = true },
            ["user-data"] = Convert.ToHexString(userData),
        }.ToJsonString());
        var report = new byte[1236 + variable.Length];
        vector.AsSpan(0, 1236).CopyTo(report);
        variable.CopyTo(report, 1236);
        BinaryPrimitives.WriteUInt32LittleEndian(report.AsSpan(8), (uint)(1216 + 20 + variable.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(report.AsSpan(1216), (uint)(20 + variable.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(report.AsSpan(1232), (uint)variable.Length);
        report.AsSpan(32 + 0x50, 64).Clear();
        SHA256.HashData(variable).CopyTo(report.AsSpan(32 + 0x50));
        return report;
    }

    public void Dispose()
    {
        try
        {
            swtpm.Kill();
            swtpm.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        swtpm.Dispose();
        Directory.Delete(state, recursive: true);
    }

    private static JsonObject V2() => JsonNode.Parse(Vectors.Bytes("trustee", "deps", "verifier", "test_data", "az-snp-vtpm", "evidence-v2.json"))!.AsObject();

    private void Tool(string name, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(name, [.. args, "-T", $"swtpm:host=127.0.0.1,port={Endpoint.Port}"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000) || p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{name} failed: {err.Result}");
        }
    }

    private static int FreePortPair()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            try
            {
                using var next = new TcpListener(IPAddress.Loopback, port + 1);
                next.Start();
                return port;
            }
            catch (SocketException)
            {
                // port + 1 is taken: try another pair.
            }
        }

        throw new InvalidOperationException("no two adjacent free loopback ports");
    }

    private static void WaitForPort(int port)
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }

        throw new InvalidOperationException("swtpm did not open its command port");
    }

    private static byte[] FromBase64Url(string s)
    {
        s = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }
}

/// <summary>
/// Azure's paravisor as the guest sees it through the vTPM: a write of user data to NV index 0x01400002 makes the next
/// read of 0x01400001 an HCL report carrying it. Everything else goes to swtpm unchanged.
/// </summary>
internal sealed class FakeParavisor(ITpmTransport inner, SwtpmFixture tpm) : ITpmTransport
{
    public byte[] Execute(ReadOnlySpan<byte> command)
    {
        var response = inner.Execute(command);
        var code = BinaryPrimitives.ReadUInt32BigEndian(command[6..]);
        if (code == 0x137 && BinaryPrimitives.ReadUInt32BigEndian(command[14..]) == AzureVtpmAttester.UserDataIndex && BinaryPrimitives.ReadUInt32BigEndian(response.AsSpan(6)) == 0)
        {
            var authSize = (int)BinaryPrimitives.ReadUInt32BigEndian(command[18..]);
            var p = command[(22 + authSize)..];
            var data = p.Slice(2, BinaryPrimitives.ReadUInt16BigEndian(p)).ToArray();
            var report = tpm.HclReport(data);
            for (var offset = 0; offset < report.Length; offset += 1024)
            {
                NvWriteAt(inner, report.AsSpan(offset, Math.Min(1024, report.Length - offset)), offset);
            }

        }

        return response;
    }

    public void Dispose() => inner.Dispose();

    private static void NvWriteAt(ITpmTransport t, ReadOnlySpan<byte> data, int offset)
    {
        byte[] session = [0x40, 0, 0, 9, 0, 0, 0, 0, 0];
        var body = new List<byte>();
        body.AddRange(U32(TpmCommands.RhOwner));
        body.AddRange(U32(AzureVtpmAttester.HclReportIndex));
        body.AddRange(U32((uint)session.Length));
        body.AddRange(session);
        body.AddRange(U16((ushort)data.Length));
        body.AddRange(data.ToArray());
        body.AddRange(U16((ushort)offset));
        byte[] command = [0x80, 0x02, .. U32((uint)(10 + body.Count)), .. U32(0x137), .. body];
        var r = t.Execute(command);
        if (BinaryPrimitives.ReadUInt32BigEndian(r.AsSpan(6)) != 0)
        {
            throw new InvalidOperationException("fake paravisor: NV write of the HCL report failed");
        }
    }

    private static byte[] U16(ushort v) => [(byte)(v >> 8), (byte)v];

    private static byte[] U32(uint v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];
}
