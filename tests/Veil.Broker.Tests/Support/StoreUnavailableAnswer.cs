using System.Net;
using System.Text.Json;

namespace Veil.Broker.Tests.Support;

/// <summary>What a request that needed an unusable store must get: 503, Retry-After, the StoreUnavailable problem, no release.</summary>
internal static class StoreUnavailableAnswer
{
    public static async Task AssertAsync(HttpResponseMessage r, string what, params string[] absent)
    {
        var body = await r.Content.ReadAsStringAsync();
        var seen = $"{what}: {(int)r.StatusCode} Retry-After {r.Headers.RetryAfter} {r.Content.Headers.ContentType} {body}";
        Assert.True(r.StatusCode == HttpStatusCode.ServiceUnavailable, seen);
        Assert.True(r.Headers.RetryAfter?.Delta == TimeSpan.FromSeconds(1), seen);
        Assert.True(r.Content.Headers.ContentType?.MediaType == "application/problem+json", seen);
        using var problem = JsonDocument.Parse(body);
        Assert.True(problem.RootElement.GetProperty("title").GetString() == "StoreUnavailable", seen);
        Assert.True(problem.RootElement.GetProperty("status").GetInt32() == 503, seen);
        Assert.False(problem.RootElement.TryGetProperty("ciphertext", out _), seen);
        foreach (var a in absent)
        {
            Assert.DoesNotContain(a, body, StringComparison.Ordinal);
        }
    }
}
