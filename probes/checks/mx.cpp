// A mail domain as the mail system sees it: MX lookup (RFC 5321 §5.1, with
// the implicit MX and the null MX of RFC 7505), then every address of every
// MX host probed at once within the one deadline; or, with quit_after = "mx",
// the lookup alone.
#include "checks/mx.h"

#include <algorithm>

#include "tls.h"
#include <boost/asio/steady_timer.hpp>

#include "checks/certificate.h"
#include "dns.h"
#include "gather.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// The resolver and the timer that cancels it at the deadline, shared with
// the timer's handler (which may run after the probe returned).
struct Dns {
  Dns(const asio::any_io_executor& ex, const config::DnsConfig& config)
      : resolver(ex, dns_options(config)), deadline(ex) {}
  DnsResolver resolver;
  asio::steady_timer deadline;
  bool expired = false;
};

std::string without_final_dot(std::string name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

// One run of the fan-out, over the probe's result.
class MxProbe {
 public:
  MxProbe(CheckContext& context)
      : result(context.result), request_(context.request), deadline_(context.deadline),
        probe_host_(context.probe_host) {
    result.mx.emplace();
    result.mx->domain = request_.host;
  }

  asio::awaitable<void> run() {
    auto executor = co_await asio::this_coro::executor;
    note(LogEntry::Kind::info, "Beginning probe of the mail domain " + request_.host + " with a " +
                                   config::format_duration(request_.timeout) + " deadline");
    try {
      dns_ = std::make_shared<Dns>(executor, request_.module.dns);
    } catch (const std::exception& e) {
      fail(Stage::mx, FailureReason::dns_error, e.what());
      co_return;
    }
    dns_->deadline.expires_at(deadline_.at());
    dns_->deadline.async_wait([weak = std::weak_ptr<Dns>(dns_)](const boost::system::error_code& ec) {
      auto dns = weak.lock();
      if (ec || !dns) return;
      dns->expired = true;
      dns->resolver.cancel();
    });
    std::vector<MxInfo::Record> hosts;
    if (co_await lookup_mx(hosts)) {
      if (request_.module.quit_after == config::Step::mx) {
        result.mx->dns_only = true;
        note(LogEntry::Kind::info, "Stopping after the MX lookup (quit_after = \"mx\"): no SMTP connection");
      } else {
        co_await probe_hosts(hosts);
      }
    }
    dns_->deadline.cancel();
  }

  ProbeResult& result;

 private:
  void note(LogEntry::Kind kind, std::string text) {
    result.log.push_back({std::chrono::system_clock::now(), kind, std::move(text)});
  }

  void fail(Stage stage, FailureReason reason, std::string detail) {
    note(LogEntry::Kind::error, std::string(to_string(stage)) + " failed (" + std::string(to_string(reason)) +
                                    "): " + detail);
    if (!result.failure) result.failure = Failure{stage, reason, std::move(detail)};
  }

  void timed(Stage stage, Clock::time_point started) {
    result.stage_seconds.emplace_back(stage, std::chrono::duration<double>(Clock::now() - started).count());
  }

  // The hosts to probe: the MX set, or the domain itself when it has none.
  asio::awaitable<bool> lookup_mx(std::vector<MxInfo::Record>& hosts) {
    auto started = Clock::now();
    MxLookup lookup = co_await dns_->resolver.mx(request_.host);
    timed(Stage::mx, started);
    MxInfo& mx = *result.mx;
    if (lookup.error == DnsError::nodata) {
      mx.implicit = true;  // RFC 5321 §5.1: the domain's own address is its implicit MX
      note(LogEntry::Kind::info, "No MX records: falling back to the domain's own addresses (implicit MX)");
      hosts.push_back({request_.host, 0});
      co_return true;
    }
    if (lookup.error != DnsError::none) {
      fail(Stage::mx, failure_reason(lookup.error, dns_->expired),
           "MX lookup of " + request_.host + ": " + (dns_->expired ? "deadline exceeded" : lookup.detail));
      co_return false;
    }
    for (const auto& r : lookup.records) mx.records.push_back({without_final_dot(r.exchange), r.preference});
    std::string listed;
    for (const auto& r : mx.records) listed += " " + std::to_string(r.preference) + " " + r.exchange;
    note(LogEntry::Kind::info, "MX records:" + listed);
    if (mx.records.size() == 1 && mx.records.front().exchange.empty()) {
      mx.null_mx = true;
      fail(Stage::mx, FailureReason::null_mx, request_.host + " publishes a null MX: it accepts no mail (RFC 7505)");
      co_return false;
    }
    hosts = mx.records;
    co_return true;
  }

  asio::awaitable<void> probe_hosts(const std::vector<MxInfo::Record>& hosts) {
    auto started = Clock::now();
    std::vector<AddressLookup> addresses =
        co_await gather<AddressLookup>(hosts.size(), [&](std::size_t i) { return dns_->resolver.addresses(hosts[i].exchange); });
    timed(Stage::resolve, started);

    std::vector<ProbeRequest> requests;
    std::vector<MxHost>& out = result.mx_hosts;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      if (addresses[i].error != DnsError::none)
        note(LogEntry::Kind::error, "Resolving " + hosts[i].exchange + ": " + addresses[i].detail);
      for (const auto& address : addresses[i].addresses) {
        ProbeRequest host = request_;
        host.mx = false;
        host.host = hosts[i].exchange;
        host.address = address.to_string();
        host.mail_domain = request_.host;
        requests.push_back(std::move(host));
        out.push_back({hosts[i].exchange, hosts[i].preference, address.to_string(), false, {}});
      }
    }
    if (requests.empty()) {
      const AddressLookup& first = addresses.front();
      fail(Stage::resolve, failure_reason(first.error == DnsError::none ? DnsError::nodata : first.error, dns_->expired),
           "no MX host of " + request_.host + " has an address");
      co_return;
    }
    // Every host within the probe's one deadline (probe_host runs on it).
    std::vector<ProbeResult> results =
        co_await gather<ProbeResult>(requests.size(), [&](std::size_t i) { return probe_host_(requests[i]); });
    for (std::size_t i = 0; i < results.size(); ++i) {
      out[i].result = std::move(results[i]);
      out[i].reachable = out[i].result.seconds_in(Stage::connect) &&
                         !(out[i].result.failure && out[i].result.failure->stage == Stage::connect);
      for (auto entry : out[i].result.log) {
        entry.text = "[" + out[i].exchange + " " + out[i].ip + "] " + entry.text;
        result.log.push_back(std::move(entry));
      }
    }
    judge();
  }

  // probe_success: a most-preferred host among those that accepted TCP
  // works on at least one address. An unreachable primary with a working
  // backup passes (mail flows through the backup); a reachable but broken
  // primary fails (senders meet it first).
  void judge() {
    const auto& hosts = result.mx_hosts;
    std::vector<std::string> reachable;
    const MxHost* best = nullptr;
    for (const auto& h : hosts) {
      if (!h.reachable) continue;
      if (std::find(reachable.begin(), reachable.end(), h.exchange) == reachable.end()) reachable.push_back(h.exchange);
      if (!best || h.preference < best->preference) best = &h;
    }
    result.mx->reachable = static_cast<int>(reachable.size());
    if (!best) {
      fail(Stage::connect, FailureReason::no_reachable_mx,
           "none of the " + std::to_string(hosts.size()) + " MX address(es) accepted a connection");
      return;
    }
    const MxHost* working = nullptr;
    const MxHost* broken = nullptr;
    for (const auto& h : hosts) {
      if (!h.reachable || h.preference != best->preference) continue;
      if (h.result.success && !working) working = &h;
      if (!h.result.success && !broken) broken = &h;
    }
    if (working) {
      note(LogEntry::Kind::info, "Most-preferred reachable MX " + working->exchange + " (" + working->ip + ") works");
      return;
    }
    const Failure& f = *broken->result.failure;
    fail(f.stage, f.reason, broken->exchange + " (" + broken->ip + "): " + f.detail);
  }

  const ProbeRequest& request_;
  const Deadline& deadline_;
  const std::function<asio::awaitable<ProbeResult>(const ProbeRequest&)>& probe_host_;
  std::shared_ptr<Dns> dns_;
};



// One host address in the report: how its probe went.
std::string host_summary(const MxHost& h) {
  std::string text = safe_text(h.exchange) + " (preference " + std::to_string(h.preference) + ", " + h.ip + "): ";
  const ProbeResult& r = h.result;
  if (r.failure) {
    text += failure_text(*r.failure);
  } else {
    text += "ok";
    if (r.banner_code && r.banner_latency_seconds)
      text += ", greeting " + std::to_string(*r.banner_code) + " in " + milliseconds_text(*r.banner_latency_seconds);
  }
  if (r.tls && r.tls->leaf_days_to_expiry)
    text += ", certificate " + days_left_text(*r.tls->leaf_days_to_expiry) + (r.tls->verified ? "" : " (not verified)");
  return text;
}

void report_facts(const ProbeResult& r, std::vector<Fact>& out) {
  const MxInfo& mx = *r.mx;
  if (mx.null_mx) {
    out.push_back({"MX records", {"null MX (MX 0 .): the domain accepts no mail"}});
  } else if (mx.implicit) {
    out.push_back({"MX records", {"none: mail goes to the domain's own address (implicit MX)"}});
  } else if (!mx.records.empty()) {
    std::vector<std::string> records;
    for (const auto& rec : mx.records) records.push_back(std::to_string(rec.preference) + " " + safe_text(rec.exchange));
    out.push_back({"MX records", {join(records, ", ")}});
  }
  if (r.mx_hosts.empty()) return;
  std::vector<std::string> names, summaries;
  for (const auto& h : r.mx_hosts) {
    if (std::find(names.begin(), names.end(), h.exchange) == names.end()) names.push_back(h.exchange);
    summaries.push_back(host_summary(h));
  }
  out.push_back({"Reachable", {std::to_string(mx.reachable) + " of " + std::to_string(names.size()) + " MX host(s)"}});
  out.push_back({"MX hosts", std::move(summaries)});
}

Json report_json(const ProbeResult& r) {
  Json records = Json::array(), hosts = Json::array();
  for (const auto& record : r.mx->records)
    records.push_back(
        {{"exchange", json_text(record.exchange.empty() ? "." : record.exchange)}, {"preference", record.preference}});
  for (const auto& h : r.mx_hosts)
    hosts.push_back({{"exchange", json_text(h.exchange)},
                     {"preference", h.preference},
                     {"ip", json_text(h.ip)},
                     {"reachable", h.reachable},
                     {"success", h.result.success},
                     {"greetingCode", h.result.banner_code ? Json(*h.result.banner_code) : Json(nullptr)},
                     {"failure", json_failure(h.result.failure)},
                     {"tls", h.result.tls ? tls_json(*h.result.tls) : Json(nullptr)}});
  return {{"domain", json_text(r.mx->domain)},
          {"records", std::move(records)},
          {"implicit", r.mx->implicit},
          {"nullMx", r.mx->null_mx},
          {"reachable", r.mx->reachable},
          {"hosts", std::move(hosts)}};
}

class Mx final : public Check {
 public:
  std::string_view name() const override { return "mx"; }
  Phase phase() const override { return Phase::domain; }
  bool enabled(const config::Module&) const override { return true; }  // run for mail domain targets

  asio::awaitable<Next> run(CheckContext& context) const override {
    MxProbe probe(context);
    co_await probe.run();
    co_return Next::go_on;
  }

  // The MX set, the aggregate, and one series per host address labelled {mx, ip}.
  void series(const ProbeResult& r, std::vector<Series>& out) const override {
    if (!r.mx) return;
    const MxInfo& mx = *r.mx;
    out.push_back({"probe_smtp_mx_records", "Number of MX records of the domain.", {},
                   static_cast<double>(mx.records.size())});
    for (const auto& rec : mx.records)
      out.push_back({"probe_smtp_mx_info", "One series per MX record of the domain.",
                     {{"exchange", rec.exchange.empty() ? "." : rec.exchange},
                      {"preference", std::to_string(rec.preference)}},
                     1});
    out.push_back({"probe_smtp_mx_implicit",
                   "Whether the domain has no MX and its own address was used (RFC 5321 5.1).", {},
                   mx.implicit ? 1.0 : 0.0});
    out.push_back({"probe_smtp_mx_null", "Whether the domain publishes a null MX (RFC 7505): it accepts no mail.",
                   {}, mx.null_mx ? 1.0 : 0.0});
    if (!mx.dns_only)
      out.push_back({"probe_smtp_mx_reachable", "Number of MX hosts with an address that accepted a TCP connection.",
                     {}, double(mx.reachable)});
    std::optional<double> soonest;
    for (const auto& h : r.mx_hosts) {
      std::vector<std::pair<std::string, std::string>> labels{{"mx", h.exchange}, {"ip", h.ip}};
      out.push_back({"probe_smtp_mx_host_success", "Whether the probe of this MX host address succeeded.", labels,
                     h.result.success ? 1.0 : 0.0});
      if (h.result.banner_latency_seconds)
        out.push_back({"probe_smtp_mx_host_banner_latency_seconds",
                       "Greeting latency of this MX host address in seconds.", labels,
                       *h.result.banner_latency_seconds});
      if (h.result.tls && !h.result.tls->presented_chain.empty()) {
        double t = earliest_not_after(h.result.tls->presented_chain);
        out.push_back({"probe_smtp_mx_host_ssl_earliest_cert_expiry_timestamp_seconds",
                       "Earliest certificate notAfter presented by this MX host address, Unix seconds.", labels, t});
        soonest = soonest ? std::min(*soonest, t) : t;
      }
      if (h.result.failure) {
        auto with_reason = labels;
        with_reason.emplace_back("stage", std::string(to_string(h.result.failure->stage)));
        with_reason.emplace_back("reason", std::string(to_string(h.result.failure->reason)));
        out.push_back({"probe_smtp_mx_host_failure_info", "Stage and reason of this MX host address' failure.",
                       with_reason, 1});
      }
    }
    if (soonest)
      out.push_back({"probe_ssl_earliest_cert_expiry",
                     "Earliest notAfter of the presented certificate chain, Unix seconds.", {}, *soonest});
  }

  // The MX set and how each host address' probe went.
  void report(const ProbeResult& r, const config::Module&, Report& out) const override {
    if (!r.mx) {
      out.check["mx"] = nullptr;
      return;
    }
    report_facts(r, out.facts);
    out.check["mx"] = report_json(r);
    out.healthz["mxRecordCount"] = r.mx->records.size();
    if (!r.mx->dns_only) out.healthz["mxReachable"] = r.mx->reachable;
    out.tags.push_back("mx");
    std::string names;
    for (std::size_t i = 0; i < r.mx->records.size() && i < 3; ++i)
      names += (i ? ", " : "") + r.mx->records[i].exchange;
    out.summary = "MX lookup found " + std::to_string(r.mx->records.size()) + " record(s) (" + names + ")";
    if (!r.mx->dns_only)
      out.summary += ", " + std::to_string(r.mx->reachable) + " reachable; the most preferred works";
  }

  void findings(const ProbeResult& r, const config::Module&, std::vector<Finding>& out) const override {
    if (r.mx && r.mx->implicit)
      out.push_back({"dns/no_mx", Health::degraded,
                     "the domain has no MX records; mail goes to its own address (implicit MX)"});
  }
};

}  // namespace

const Check& mx_check() {
  static const Mx unit;
  return unit;
}

}  // namespace smtp_exporter::probes
