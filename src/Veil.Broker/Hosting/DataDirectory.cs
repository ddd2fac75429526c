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

    public static void Check(string dir)
    {
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
