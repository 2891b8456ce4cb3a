// The exporter's HTTP interface, in process: routes, 400s, the scrape
// deadline header, debug output, history and self metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <thread>

#include "fake_smtp_server.h"
#include "http/gzip.h"
#include "probe_helpers.h"
#include "smtp_exporter/app.h"
#include "smtp_exporter/http_server.h"

namespace smtp_exporter::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

namespace asio = boost::asio;
using asio::ip::tcp;

struct Response {
  int status = 0;
  std::string headers;  // raw header block
  std::string body;
};

// The exporter on 127.0.0.1:<free port>, served by a background thread.
class Exporter {
 public:
  explicit Exporter(int max_concurrent_probes = 0, exporter::AppOptions options = {})
      : app_(config_with_test_module(max_concurrent_probes), std::move(options)), server_(io_, app_) {
    server_.listen("127.0.0.1:0");
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Exporter() {
    server_.stop();
    io_.stop();
    thread_.join();
  }

  // One HTTP/1.1 request with Connection: close; `raw` replaces the whole request.
  Response request(const std::string& target, const std::string& extra_headers = "", const std::string& raw = "",
                   const std::string& method = "GET") {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), server_.ports().at(0)});
    std::string req = raw.empty() ? method + " " + target + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n" +
                                        extra_headers + "\r\n"
                                  : raw;
    asio::write(socket, asio::buffer(req));
    std::string data;
    boost::system::error_code ec;
    asio::read(socket, asio::dynamic_buffer(data), ec);
    Response r;
    auto split = data.find("\r\n\r\n");
    r.headers = data.substr(0, split);
    r.body = split == std::string::npos ? "" : data.substr(split + 4);
    if (data.size() > 12) r.status = std::stoi(data.substr(9, 3));
    return r;
  }

 private:
  static config::Config config_with_test_module(int max_concurrent_probes) {
    config::Config c = config::default_config();
    c.limits.max_concurrent_probes = max_concurrent_probes;
    c.modules["smtp_banner"] = test_module();
    c.modules["smtp_banner"].port = 1;  // tests always give a port
    return c;
  }

  asio::io_context io_;
  exporter::App app_;
  exporter::HttpServer server_;
  std::thread thread_;
};

std::string probe_path(std::uint16_t port, const std::string& extra = "") {
  return "/probe?target=127.0.0.1%3A" + std::to_string(port) + "&module=smtp_banner" + extra;
}

TEST(Http, Liveness) {
  Exporter e;
  auto r = e.request("/-/healthy");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "OK\n");
}

TEST(Http, ProbeReturnsExpositionText) {
  FakeSmtpServer smtp(polite_server());
  Exporter e;
  auto r = e.request(probe_path(smtp.port()));
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.headers, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  EXPECT_THAT(r.body, HasSubstr("\nprobe_success 1\n"));
  EXPECT_THAT(r.body, HasSubstr("\nprobe_smtp_banner_code 220\n"));
  EXPECT_THAT(r.body, HasSubstr("probe_smtp_ehlo_extension_info{extension=\"PIPELINING\"} 1"));
  EXPECT_THAT(r.body, HasSubstr("\nprobe_timeout_seconds 10\n"));
  EXPECT_THAT(r.body, Not(HasSubstr("probe_smtp_failure_info")));
}

struct BadRequest {
  const char* name;
  std::string target;
  std::string headers;
  std::string reason;
};

class HttpBadRequests : public ::testing::TestWithParam<BadRequest> {};

TEST_P(HttpBadRequests, AnswerFourHundredWithOneLine) {
  Exporter e;
  auto r = e.request(GetParam().target, GetParam().headers);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, GetParam().reason + "\n");
}

INSTANTIATE_TEST_SUITE_P(
    Http, HttpBadRequests,
    ::testing::Values(
        BadRequest{"missing_target", "/probe?module=smtp_banner", "", "target parameter is missing"},
        BadRequest{"empty_target", "/probe?target=&module=smtp_banner", "", "target parameter is missing"},
        BadRequest{"unknown_module", "/probe?target=a.test&module=nope", "", "unknown module \"nope\""},
        BadRequest{"module_with_newline", "/probe?target=a.test&module=x%0Ay", "", "unknown module \"x\\ny\""},
        BadRequest{"bad_percent_encoding", "/probe?target=a%zz", "", "malformed percent-encoding in the query string"},
        BadRequest{"crlf_injection", "/probe?target=a.test%0D%0AQUIT", "",
                   "invalid target: target contains a space, a control character or a non-ASCII byte"},
        BadRequest{"bad_port", "/probe?target=a.test%3A99999", "",
                   "invalid target: port \"99999\" is not a number from 1 to 65535"},
        BadRequest{"bad_timeout_header", "/probe?target=a.test", "X-Prometheus-Scrape-Timeout-Seconds: soon\r\n",
                   "invalid X-Prometheus-Scrape-Timeout-Seconds header: not a positive number of seconds"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Http, ScrapeTimeoutHeaderBoundsTheProbe) {
  FakeSmtpServer smtp({stall()});
  Exporter e;
  auto started = std::chrono::steady_clock::now();
  // Module timeout 5s; scrape timeout 1s minus the 0.5s offset wins.
  auto r = e.request(probe_path(smtp.port()), "X-Prometheus-Scrape-Timeout-Seconds: 1\r\n");
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("\nprobe_timeout_seconds 0.5\n"));
  EXPECT_THAT(r.body, HasSubstr("probe_smtp_failure_info{reason=\"timeout\",stage=\"banner\"} 1"));
  EXPECT_LT(elapsed, 1s) << "the answer must reach Prometheus before its scrape timeout";
  EXPECT_GE(elapsed, 450ms);
}

TEST(Http, DebugShowsTheConversationThenTheMetrics) {
  FakeSmtpServer smtp(polite_server());
  Exporter e;
  auto r = e.request(probe_path(smtp.port(), "&debug=true"));
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, StartsWith("Logs for the probe:\n"));
  EXPECT_THAT(r.body, HasSubstr("msg=\"> EHLO probe.test\""));
  EXPECT_THAT(r.body, HasSubstr("msg=\"< 220 fake.test ESMTP\""));
  EXPECT_THAT(r.body, HasSubstr("Metrics that would have been returned:\n"));
  EXPECT_THAT(r.body, HasSubstr("\nprobe_success 1\n"));
  EXPECT_THAT(r.body, HasSubstr("[modules.smtp_banner]"));
}

TEST(Http, RecentProbesAreListedWithTheirLogs) {
  FakeSmtpServer smtp(polite_server());
  Exporter e;
  e.request(probe_path(smtp.port()));
  auto landing = e.request("/");
  EXPECT_EQ(landing.status, 200);
  EXPECT_THAT(landing.headers, HasSubstr("Content-Type: text/html"));
  EXPECT_THAT(landing.body, HasSubstr("127.0.0.1:" + std::to_string(smtp.port())));
  EXPECT_THAT(landing.body, HasSubstr("<a href=\"/logs?id=0\">Logs</a>"));
  EXPECT_THAT(landing.body, HasSubstr("<td>submission</td><td>587</td>"));
  auto logs = e.request("/logs?id=0");
  EXPECT_EQ(logs.status, 200);
  EXPECT_THAT(logs.body, HasSubstr("> QUIT"));
  EXPECT_EQ(e.request("/logs?id=42").status, 404);
  EXPECT_EQ(e.request("/logs?id=x").status, 404);
  EXPECT_EQ(e.request("/logs").status, 400);
  // 2^64 and beyond: out of range for from_chars, never wrapped to probe 0.
  for (const char* id : {"18446744073709551616", "18446744073709551617", "99999999999999999999999", "-0", "+0", "0x0",
                         "0+", "%30%00"}) {
    auto missing = e.request(std::string("/logs?id=") + id);
    EXPECT_EQ(missing.status, 404) << id;
    EXPECT_EQ(std::count(missing.body.begin(), missing.body.end(), '\n'), 1) << id;
  }
}

TEST(Http, HistoryKeepsTheLastHundredProbes) {
  FakeSmtpServer smtp(polite_server());
  Exporter e;
  for (int i = 0; i < 101; ++i) e.request(probe_path(smtp.port()));
  EXPECT_EQ(e.request("/logs?id=0").status, 404);
  EXPECT_EQ(e.request("/logs?id=1").status, 200);
  EXPECT_EQ(e.request("/logs?id=100").status, 200);
}

TEST(Http, SelfMetricsCountProbes) {
  FakeSmtpServer smtp(polite_server());
  Exporter e;
  e.request(probe_path(smtp.port()));
  e.request(probe_path(1));  // refused
  auto r = e.request("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("smtp_exporter_probes_total{module=\"smtp_banner\",result=\"success\"} 1"));
  EXPECT_THAT(r.body, HasSubstr("smtp_exporter_probes_total{module=\"smtp_banner\",result=\"failure\"} 1"));
  EXPECT_THAT(r.body, HasSubstr("smtp_exporter_probes_in_flight 0"));
  EXPECT_THAT(r.body, HasSubstr("smtp_exporter_build_info{"));
  EXPECT_THAT(r.body, HasSubstr("smtp_exporter_config_last_reload_successful 1"));
  EXPECT_THAT(r.body, HasSubstr("process_resident_memory_bytes "));
  EXPECT_THAT(r.body, HasSubstr("process_open_fds "));
}

TEST(Http, ConcurrentProbesDoNotWaitForEachOther) {
  FakeSmtpServer smtp([] {
    Script s = polite_server();
    s.insert(s.begin(), delay(400ms));
    return s;
  }());
  Exporter e;
  auto started = std::chrono::steady_clock::now();
  std::vector<std::future<Response>> pending;
  for (int i = 0; i < 20; ++i)
    pending.push_back(std::async(std::launch::async, [&] { return e.request(probe_path(smtp.port())); }));
  for (auto& p : pending) EXPECT_THAT(p.get().body, HasSubstr("\nprobe_success 1\n"));
  // Serialized, 20 probes would take 8 s; one event loop runs them together.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

// [limits] max_concurrent_probes: above it /probe sheds load at once with a
// 503 rather than queueing; the places come back when the probes end.
TEST(Http, ProbesAboveTheConcurrencyLimitGetServiceUnavailableAtOnce) {
  FakeSmtpServer smtp([] {
    Script s = polite_server();
    s.insert(s.begin(), delay(600ms));
    return s;
  }());
  Exporter e(2);
  std::vector<std::future<Response>> slow;
  for (int i = 0; i < 2; ++i)
    slow.push_back(std::async(std::launch::async, [&] { return e.request(probe_path(smtp.port())); }));
  // Wait until both hold their place (the in-flight gauge says so).
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (e.request("/metrics").body.find("smtp_exporter_probes_in_flight 2\n") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  auto started = std::chrono::steady_clock::now();
  auto rejected = e.request(probe_path(smtp.port()));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 300ms);  // not queued behind the slow ones
  EXPECT_EQ(rejected.status, 503);
  EXPECT_EQ(rejected.body, "too many probes in flight: the limit is 2 ([limits] max_concurrent_probes)\n");
  for (auto& p : slow) EXPECT_THAT(p.get().body, HasSubstr("\nprobe_success 1\n"));
  // The places were given back.
  EXPECT_THAT(e.request(probe_path(smtp.port())).body, HasSubstr("\nprobe_success 1\n"));
  auto metrics = e.request("/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("smtp_exporter_probes_rejected_total 1\n"));
  EXPECT_THAT(metrics, HasSubstr("smtp_exporter_probes_max_concurrent 2\n"));
  EXPECT_THAT(metrics, HasSubstr("smtp_exporter_probes_in_flight 0\n"));
}

TEST(Http, OtherRoutesAndMethods) {
  Exporter e;
  EXPECT_EQ(e.request("/nope").status, 404);
  EXPECT_EQ(e.request("/probe", "", "", "POST").status, 405);
  auto config = e.request("/config");
  EXPECT_EQ(config.status, 200);
  std::string smtps = config.body.substr(config.body.find("[modules.smtps]"));
  smtps = smtps.substr(0, smtps.find("[modules.submission]"));
  EXPECT_THAT(smtps, HasSubstr("\nport = 465\n"));
  EXPECT_THAT(smtps, HasSubstr("\ntls = 'implicit'\n"));
  auto head = e.request("/-/healthy", "", "", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_THAT(head.headers, HasSubstr("Content-Length: 3"));
}

// --web.route-prefix: every route under it, nothing outside it; the landing
// page links through --web.external-url.
TEST(Http, RoutePrefixServesEveryRouteUnderIt) {
  FakeSmtpServer smtp(polite_server());
  exporter::AppOptions options;
  options.route_prefix = "/mon/smtp";
  options.external_url = "https://proxy.example.com/mon/smtp";
  Exporter e(0, options);
  auto probe = e.request("/mon/smtp" + probe_path(smtp.port()));
  EXPECT_EQ(probe.status, 200);
  EXPECT_THAT(probe.body, HasSubstr("\nprobe_success 1\n"));
  EXPECT_EQ(e.request("/mon/smtp/-/healthy").body, "OK\n");
  EXPECT_EQ(e.request("/mon/smtp/healthz").status, 200);
  EXPECT_EQ(e.request("/mon/smtp/config").status, 200);
  EXPECT_EQ(e.request("/mon/smtp/-/reload", "", "", "GET").status, 405);  // the route, refusing GET
  for (const char* landing : {"/mon/smtp", "/mon/smtp/"}) {
    auto page = e.request(landing);
    EXPECT_EQ(page.status, 200) << landing;
    EXPECT_THAT(page.body, HasSubstr("href=\"https://proxy.example.com/mon/smtp/metrics\"")) << landing;
    EXPECT_THAT(page.body, HasSubstr("action=\"https://proxy.example.com/mon/smtp/probe\"")) << landing;
    EXPECT_THAT(page.body, HasSubstr("href=\"https://proxy.example.com/mon/smtp/logs?id=0\"")) << landing;
  }
  EXPECT_EQ(e.request("/mon/smtp/logs?id=0").status, 200);
  for (const char* outside : {"/", "/metrics", "/probe?target=x", "/-/healthy", "/mon/smtpx/metrics", "/mon"})
    EXPECT_EQ(e.request(outside).status, 404) << outside;
  auto metrics = e.request("/mon/smtp/metrics");
  EXPECT_EQ(metrics.status, 200);
  // The handler label is the route, without the prefix.
  EXPECT_THAT(metrics.body, HasSubstr("handler=\"/probe\""));
  EXPECT_THAT(metrics.body, HasSubstr("handler=\"other\""));
  EXPECT_THAT(metrics.body, Not(HasSubstr("handler=\"/mon")));
}

TEST(Http, LandingPageLinksCarryTheRoutePrefixWithoutExternalUrl) {
  exporter::AppOptions options;
  options.route_prefix = "/smtp";
  Exporter e(0, options);
  auto page = e.request("/smtp/");
  EXPECT_THAT(page.body, HasSubstr("href=\"/smtp/metrics\""));
  EXPECT_THAT(page.body, HasSubstr("action=\"/smtp/probe\""));
  EXPECT_THAT(page.body, Not(HasSubstr("href=\"/metrics\"")));
}

TEST(Http, MalformedRequestGetsFourHundred) {
  Exporter e;
  auto r = e.request("", "", "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(r.status, 400);
}

}  // namespace
}  // namespace smtp_exporter::testing

namespace smtp_exporter::testing {
namespace {

// POST /-/reload is refused when a browser says the request comes from
// another site's page (docs/configuration.md#reloading); curl and scripts
// send neither header and are not affected.
TEST(Http, ReloadRefusesCrossSiteRequests) {
  Exporter e;
  EXPECT_EQ(e.request("/-/reload", "", "", "POST").status, 200);
  EXPECT_EQ(e.request("/-/reload", "Origin: http://test\r\nSec-Fetch-Site: same-origin\r\n", "", "POST").status, 200);
  for (const char* headers : {"Origin: https://evil.example\r\n", "Origin: http://test.evil.example\r\n",
                              "Origin: null\r\n", "Sec-Fetch-Site: cross-site\r\n", "Sec-Fetch-Site: same-site\r\n",
                              "Origin: http://test\r\nSec-Fetch-Site: cross-site\r\n"}) {
    auto refused = e.request("/-/reload", headers, "", "POST");
    EXPECT_EQ(refused.status, 403) << headers;
    EXPECT_THAT(refused.body, HasSubstr("reload refused: ")) << headers;
    EXPECT_EQ(std::count(refused.body.begin(), refused.body.end(), '\n'), 1) << headers;
  }
}

}  // namespace
}  // namespace smtp_exporter::testing

namespace smtp_exporter::testing {
namespace {

// Accept-Encoding: gzip is honoured on /metrics and /probe (as Prometheus
// sends it), and only there; the answer says it varies with the header.
TEST(Http, ExpositionIsGzippedWhenAsked) {
  FakeSmtpServer smtp(polite_server());
  Exporter e;
  for (const std::string& path : {std::string("/metrics"), probe_path(smtp.port())}) {
    auto plain = e.request(path);
    EXPECT_THAT(plain.headers, Not(HasSubstr("Content-Encoding")));
    EXPECT_THAT(plain.headers, HasSubstr("Vary: Accept-Encoding"));
    auto packed = e.request(path, "Accept-Encoding: gzip, deflate\r\n");
    EXPECT_EQ(packed.status, 200);
    EXPECT_THAT(packed.headers, HasSubstr("Content-Encoding: gzip"));
    std::string text = exporter::gunzip(packed.body).value_or("not gzip");
    EXPECT_THAT(text, HasSubstr(path == "/metrics" ? "smtp_exporter_build_info" : "\nprobe_success 1\n"));
    EXPECT_THAT(e.request(path, "Accept-Encoding: gzip;q=0\r\n").headers, Not(HasSubstr("Content-Encoding")));
  }
  auto page = e.request("/", "Accept-Encoding: gzip\r\n");
  EXPECT_THAT(page.headers, Not(HasSubstr("Content-Encoding")));
}

}  // namespace
}  // namespace smtp_exporter::testing
