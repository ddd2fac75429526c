using Veil.Broker.Hosting;

namespace Veil.Broker.Tests.Units;

/// <summary>
/// The broker keeps enough pool threads ready for its synchronous SQLite calls (BrokerHost.EnsureWorkerThreads): with
/// the default of one per core, bursts waited for thread injection (p99 945 ms at half load in broker-handshake).
/// </summary>
public class WorkerThreadTests
{
    [Fact]
    public void The_minimum_is_raised_to_the_brokers_and_a_larger_one_is_kept()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        try
        {
            Assert.True(ThreadPool.SetMinThreads(Environment.ProcessorCount, io));
            BrokerHost.EnsureWorkerThreads();
            ThreadPool.GetMinThreads(out var raised, out _);
            Assert.Equal(BrokerHost.MinWorkerThreads, raised);

            Assert.True(ThreadPool.SetMinThreads(BrokerHost.MinWorkerThreads + 8, io));
            BrokerHost.EnsureWorkerThreads();
            ThreadPool.GetMinThreads(out var kept, out _);
            Assert.Equal(BrokerHost.MinWorkerThreads + 8, kept);
        }
        finally
        {
            ThreadPool.SetMinThreads(workers, io);
        }
    }
}
