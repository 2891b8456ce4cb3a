// The connection and the 220 greeting. The greeting's latency is measured
// from the end of the TCP handshake (or of the implicit TLS one) to the
// complete reply, by the kernel's clocks where it has them (socket_clock.h).
#include "checks/greeting.h"

#include <cstdio>

#include "smtp_exporter/report.h"
#include "smtp_session.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
constexpr std::string_view kName = "greeting";

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3gs", s);
  return buf;
}

class Greeting final : public Check {
 public:
  std::string_view name() const override { return kName; }
  Phase phase() const override { return Phase::session; }
  bool enabled(const config::Module&) const override { return true; }

  asio::awaitable<Next> run(CheckContext& context) const override {
    SmtpSession& s = *context.session;
    using config::Step;
    asio::ip::tcp::endpoint endpoint;
    if (!co_await s.resolve(endpoint)) co_return Next::end;
    if (!co_await s.connect(endpoint)) co_return Next::end;
    if (s.stopping(Step::connect)) co_return Next::end;  // no greeting read: nothing to QUIT
    if (s.module().tls == config::TlsMode::implicit) {
      if (!co_await s.upgrade_to_tls(Stage::tls)) co_return Next::end;
      if (s.stopping(Step::tls)) co_return Next::end;
      s.restart_greeting_clock();  // the greeting is awaited once the TLS channel is up
    }
    if (!co_await greeting(s)) co_return Next::end;
    // A refusal was expected (e.g. 554 for a blocked client) and came:
    // there is nothing more to ask this server.
    if (s.module().expect_banner_code / 100 != 2) co_return Next::quit;
    if (s.stopping(Step::banner)) co_return Next::quit;
    co_return Next::go_on;
  }

  void series(const ProbeResult& r, std::vector<Series>& out) const override {
    if (r.banner_latency_seconds)
      out.push_back({"probe_smtp_banner_latency_seconds",
                     "Time from TCP connection established to the complete greeting in seconds.",
                     {},
                     *r.banner_latency_seconds});
    if (r.banner_code) out.push_back({"probe_smtp_banner_code", "Reply code of the server greeting.", {}, double(*r.banner_code)});
  }

  // The greeting's lines and how long it took.
  void report(const ProbeResult& r, const config::Module&, Report& out) const override {
    if (r.banner_latency_seconds) {
      // Greetings take milliseconds: seconds with two decimals would read 0.
      out.healthz["bannerLatencySeconds"] = rounded(*r.banner_latency_seconds, "%.6f");
      out.healthz["bannerLatencyMs"] = rounded(*r.banner_latency_seconds * 1000, "%.2f");
    }
    if (!r.banner_code) {
      out.check["greeting"] = nullptr;
      return;
    }
    std::string code = std::to_string(*r.banner_code);
    Fact fact{"Greeting", {}};
    std::string first = r.banner_lines.empty() ? "" : " " + safe_text(r.banner_lines.front());
    std::string latency = r.banner_latency_seconds ? " (after " + milliseconds_text(*r.banner_latency_seconds) + ")" : "";
    fact.lines.push_back(code + first + latency);
    for (std::size_t i = 1; i < r.banner_lines.size(); ++i) fact.lines.push_back(code + " " + safe_text(r.banner_lines[i]));
    out.facts.push_back(std::move(fact));
    out.check["greeting"] = {
        {"code", *r.banner_code},
        {"lines", json_texts(r.banner_lines)},
        {"latencySeconds", r.banner_latency_seconds ? json_number(*r.banner_latency_seconds) : Json(nullptr)}};
  }

  void findings(const ProbeResult& r, const config::Module& module, std::vector<Finding>& out) const override {
    double limit = std::chrono::duration<double>(module.degraded_banner_latency).count();
    if (r.banner_latency_seconds && limit > 0 && *r.banner_latency_seconds > limit)
      out.push_back({"health/slow_greeting", Health::degraded,
                     "greeting took " + seconds_text(*r.banner_latency_seconds) + " (more than " +
                         seconds_text(limit) + ")"});
  }

 private:
  static asio::awaitable<bool> greeting(SmtpSession& s) {
    ProbeResult& result = s.result;
    auto reply = co_await s.read_reply(Stage::banner, true);
    const Clock::time_point arrived = s.reply_arrived().value_or(Clock::now());
    s.timed(Stage::banner, s.connected_at(), arrived);
    if (!reply) co_return false;
    result.banner_latency_seconds = std::chrono::duration<double>(arrived - s.connected_at()).count();
    result.banner_code = reply->code;
    result.banner_lines = reply->lines;
    if (reply->code != s.module().expect_banner_code) {
      s.fail(Stage::banner, FailureReason::unexpected_code,
             "greeting code " + std::to_string(reply->code) + ", expected " +
                 std::to_string(s.module().expect_banner_code) + ": " + printable(reply->lines.front()));
      co_await s.quit();  // a 554 greeting still expects QUIT (RFC 5321 §3.1)
      co_return false;
    }
    co_return true;
  }
};

}  // namespace

const Check& greeting_check() {
  static const Greeting unit;
  return unit;
}

}  // namespace smtp_exporter::probes
