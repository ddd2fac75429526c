namespace Veil.Broker.Hosting;

/// <summary>
/// The data directory holds the master key, the signing keys and the store: it must exist and be the owner's
/// alone. A directory group or others can enter or list is refused at start, with the command that fixes it,
/// rather than trusting every file in it to have been created 0600.
/// </summary>
internal static class DataDirectory
{
    private const UnixFileMode GroupOrOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <param name="create">
    /// Create a missing directory 0700 (a PostgreSQL replica: its data directory holds caches only, its keys come
    /// from the environment, and in Kubernetes it is a subdirectory of an emptyDir whose root is group-writable).
    /// An existing directory is checked, never loosened or tightened.
    /// </param>
    public static void Check(string dir, bool create = false)
    {
        if (!Directory.Exists(dir) && create)
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(dir);
            }
            else
            {
                Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        if (!Directory.Exists(dir))
        {
            throw new BrokerConfigurationException($"--data-dir {dir} does not exist (run 'veil broker init --data-dir {dir}')");
        }

        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var mode = File.GetUnixFileMode(dir);
        if ((mode & GroupOrOthers) != 0)
        {
            throw new BrokerConfigurationException(
                $"--data-dir {dir} is open to group or others (mode {Convert.ToString((int)mode & 0x1FF, 8).PadLeft(4, '0')}); it holds the broker's keys: run 'chmod 700 {dir}'");
        }
    }
}
