using System.Runtime.InteropServices;
using System.Text;

namespace Veil.Guest.Tests;

/// <summary>
/// A configfs-tsm report entry that behaves like the kernel's: <c>inblob</c> and <c>outblob</c> are FIFOs, so each
/// report is made from the inblob the agent just wrote, when the agent opens outblob, as the kernel generates the
/// report on the first read after a write. It serves the <c>sample</c> provider: outblob is KBS sample evidence
/// whose report_data is the inblob; <paramref name="reportData"/> lets a test serve a stale or raced report instead.
/// </summary>
internal sealed partial class FakeTsmKernel : IDisposable
{
    public const string Entry = "veil-e2e";

    private readonly Func<byte[], byte[]> reportData;
    private readonly Thread server;
    private readonly List<byte[]> inblobs = [];
    private readonly string inPath;
    private readonly string outPath;
    private volatile bool stopping;
    private volatile bool waitingForReader;

    public FakeTsmKernel(string root, Func<byte[], byte[]>? reportData = null)
    {
        Root = root;
        this.reportData = reportData ?? (inblob => inblob);
        var entry = Path.Combine(root, Entry);
        Directory.CreateDirectory(entry);
        File.WriteAllText(Path.Combine(entry, "provider"), "sample\n");
        // What a fresh entry shows after the agent's single inblob write.
        File.WriteAllText(Path.Combine(entry, "generation"), "1\n");
        inPath = Path.Combine(entry, "inblob");
        outPath = Path.Combine(entry, "outblob");
        foreach (var fifo in new[] { inPath, outPath })
        {
            if (MkFifo(fifo, 0x180) != 0)
            {
                throw new IOException($"mkfifo {fifo}: errno {Marshal.GetLastPInvokeError()}");
            }
        }

        server = new Thread(Serve) { IsBackground = true, Name = "fake-tsm" };
        server.Start();
    }

    public string Root { get; }

    /// <summary>The inblobs the agent wrote, one per report requested.</summary>
    public IReadOnlyList<byte[]> InBlobs
    {
        get
        {
            lock (inblobs)
            {
                return [.. inblobs];
            }
        }
    }

    private void Serve()
    {
        while (!stopping)
        {
            // Each open blocks until the agent opens the other end: first its inblob write, then its outblob read.
            byte[] inblob;
            using (var input = new FileStream(inPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0))
            using (var buffer = new MemoryStream())
            {
                input.CopyTo(buffer);
                inblob = buffer.ToArray();
            }

            if (stopping)
            {
                return;
            }

            lock (inblobs)
            {
                inblobs.Add(inblob);
            }

            waitingForReader = true;
            using var output = new FileStream(outPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
            waitingForReader = false;
            if (!stopping)
            {
                output.Write(Encoding.UTF8.GetBytes($"{{\"svn\":\"1\",\"report_data\":\"{Convert.ToBase64String(reportData(inblob))}\"}}"));
            }
        }
    }

    public void Dispose()
    {
        stopping = true;
        if (!server.IsAlive)
        {
            return;
        }

        // Open the end the server is blocked on, so it wakes up, sees the stop flag and exits.
        var wake = waitingForReader
            ? Task.Run(() => new FileStream(outPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0).Dispose())
            : Task.Run(() => new FileStream(inPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0).Dispose());
        wake.Wait(TimeSpan.FromSeconds(5));
        server.Join(TimeSpan.FromSeconds(5));
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkFifo(string path, uint mode);
}
