using Xunit.Abstractions;

[assembly: CollectionBehavior(DisableTestParallelization = true)]
[assembly: TestCollectionOrderer("Veil.Broker.Tests.Support.LogScanLastOrderer", "Veil.Broker.Tests")]

namespace Veil.Broker.Tests.Support;

/// <summary>Runs the log-secret scan after every other collection, so it sees the whole suite's broker logs.</summary>
public sealed class LogScanLastOrderer : ITestCollectionOrderer
{
    public const string LogScanCollection = "zz log scan";

    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderBy(c => c.DisplayName.Contains(LogScanCollection, StringComparison.Ordinal) ? 1 : 0)
            .ThenBy(c => c.DisplayName, StringComparer.Ordinal);
}
