using Polly;
using Polly.Retry;

namespace Veil.Guest;

/// <summary>
/// The agent's retry policy for its key sources (the broker, the guest's CDH): exponential backoff with jitter on
/// network failures and timeouts, plus the answers <paramref name="alsoRetry"/> names; refusals are never retried.
/// </summary>
internal static class GuestRetries
{
    public static ResiliencePipeline Build(int maxRetries, TimeSpan firstDelay, Func<PredicateBuilder<object>, PredicateBuilder<object>> alsoRetry) =>
        new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(1, maxRetries),
                Delay = firstDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = alsoRetry(new PredicateBuilder()
                    .Handle<HttpRequestException>()
                    .Handle<TaskCanceledException>(e => e.InnerException is TimeoutException)),
            })
            .Build();
}
