using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Veil.Broker.Tests.Support;

/// <summary>
/// Collects every log line of every broker the suite starts (in-process and child processes), so that the
/// last test can check that no secret appears in them.
/// </summary>
internal sealed class LogCapture : ILoggerProvider
{
    public static readonly LogCapture Shared = new();

    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public void Add(string line) => _lines.Enqueue(line);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel} {category}: {formatter(state, exception)}";
            if (exception is not null)
            {
                line += " | " + exception;
            }

            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                line += " | " + string.Join(" ", values.Select(v => $"{v.Key}={v.Value}"));
            }

            sink.Add(line);
        }
    }
}
