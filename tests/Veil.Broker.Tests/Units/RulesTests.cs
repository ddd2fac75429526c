using Veil.Broker.Endpoints;
using Veil.Broker.Hosting;

namespace Veil.Broker.Tests.Units;

public class RulesTests
{
    [Theory]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("http://localhost:8080", true)]
    [InlineData("http://[::1]:8080", true)]
    [InlineData("http://0.0.0.0:8080", false)]
    [InlineData("http://10.1.2.3:8080", false)]
    public void Plain_http_only_on_loopback(string url, bool allowed)
    {
        var options = new BrokerOptions { Urls = [url] };
        if (allowed)
        {
            Assert.Single(ListenRules.Check(options));
        }
        else
        {
            Assert.Throws<BrokerConfigurationException>(() => ListenRules.Check(options));
            Assert.Single(ListenRules.Check(options with { InsecureHttp = true }));
        }
    }

    [Theory]
    [InlineData("https://0.0.0.0:8443")]
    [InlineData("ftp://127.0.0.1:21")]
    [InlineData("http://example.com:80")]
    [InlineData("http://127.0.0.1:80/kbs")]
    public void Bad_or_unprotected_urls_are_refused(string url) =>
        Assert.Throws<BrokerConfigurationException>(() => ListenRules.Check(new BrokerOptions { Urls = [url] }));

    [Theory]
    [InlineData("default", "model", "key-1.v2_x", true)]
    [InlineData("..", "model", "key", false)]
    [InlineData("default", ".", "key", false)]
    [InlineData("default", "mo del", "key", false)]
    [InlineData("default", "model", "k/ey", false)]
    [InlineData("default", "model", "", false)]
    public void Resource_segments(string repo, string type, string tag, bool ok) =>
        Assert.Equal(ok, ResourcePath.Validate(repo, type, tag, out _) is null);

    [Theory]
    [InlineData("/kbs/v0/resource/a/b/c", true)]
    [InlineData("/kbs/v0/resource/a/b/c?x=%2f", true)]
    [InlineData("/kbs/v0/auth", true)]
    [InlineData("/kbs/v0/resource/a/%2E%2E/c", false)]
    [InlineData("/kbs/v0/resource/a%2Fb/c/d", false)]
    [InlineData("/kbs/v0/resource/a/b/../c", false)]
    [InlineData("/kbs/v0/resource%2f..%2fx", false)]
    public void Raw_request_targets(string target, bool ok) => Assert.Equal(ok, ResourcePath.CheckRawTarget(target) is null);
}
