// A check unit: everything one check means, in one place. Its step (a step
// of the SMTP session, a DNS-only step after it, or the MX fan-out before
// it; on the probe's executor and deadline), its
// part of the result (a section of ProbeResult::sections under its name), its
// metrics (as plain Series: exporter/ renders them with prometheus-cpp, so
// nothing here knows of Prometheus or HTTP), its health findings and the
// remediation text behind each finding's key. Its switch in a module is a
// boolean key of the same name (config/module.cpp: kCheckSwitches).
//
// A new check is a header and a .cpp under probes/checks/ and one line in
// probes/checks.cpp; the views (/probe metrics, /healthz, `check`, the debug
// page) walk the units and name none of their facts. docs/development.md
// ("Adding a check") walks through it.
#pragma once

#include <utility>  // before Asio (Boost 1.74 + GCC 12)

#include <any>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp_exporter/deadline.h"
#include "smtp_exporter/probe.h"
#include "smtp_exporter/probe_result.h"

namespace smtp_exporter::probes {

// One sample of a gauge. `help` is static text (prometheus-cpp does not
// escape HELP); label values may be anything.
struct Series {
  std::string name;
  std::string_view help;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
  bool counter = false;  // a counter (process_series); probe series are gauges
  // A histogram (process_series): the upper bounds of its buckets, and the
  // observations per bucket (not cumulative; one more for +Inf); `value` is
  // the sum of the observations.
  std::vector<double> bucket_bounds = {};
  std::vector<double> bucket_counts = {};
};


// What an operator can do about a finding or a failure: likely causes and
// fixes, per platform. Texts may hold the placeholders of
// exporter/views/remediation.h's expand() ({host}, {address}, {domain}, ...).
struct Remediation {
  std::string_view key;    // "connect/refused", "fcrdns/no_ptr", ...
  std::string_view title;  // one line
  std::vector<std::string_view> causes;
  std::vector<std::string_view> fixes;  // Debian / systemd host
  std::vector<std::string_view> docker;
  std::vector<std::string_view> kubernetes;
};

class SmtpSession;  // probes/smtp_session.h: the transport session units talk through
struct Report;      // smtp_exporter/report.h: what the views print of a unit

// Where a unit's step runs in the probe.
enum class Phase {
  domain,   // once per mail domain, before its hosts (the MX fan-out)
  session,  // a step of the SMTP session, in pipeline order
  host,     // after a host's session, once per host probed (each MX address too)
};

// What the pipeline does after a session step.
enum class Next {
  go_on,  // the next step
  quit,   // the conversation ends here with QUIT (quit_after, an expected refusal)
  end,    // the conversation is over (the step failed and closed or quit itself)
};

// What a unit's step may read and write.
struct CheckContext {
  const ProbeRequest& request;  // request.host: the target or MX host name
  ProbeResult& result;          // the host's result so far (address, greeting, EHLO, TLS)
  const Deadline& deadline;     // the probe's one deadline
  SmtpSession* session = nullptr;  // Phase::session units: the open session
  // Phase::domain units: probes one host (its session and host units) within the deadline.
  std::function<boost::asio::awaitable<ProbeResult>(const ProbeRequest&)> probe_host;
};

class Check {
 public:
  virtual ~Check() = default;
  // The unit's name: its section in ProbeResult::sections and, for optional
  // units, its module switch.
  virtual std::string_view name() const = 0;
  virtual Phase phase() const { return Phase::host; }
  // Whether its step runs for this module. Optional units: the module's
  // switch of the unit's name (config/module.cpp: kCheckSwitches).
  virtual bool enabled(const config::Module& module) const { return module.checks.contains(std::string(name())); }
  // Its step. Bounded by context.deadline; never throws for network trouble.
  virtual boost::asio::awaitable<Next> run(CheckContext& context) const = 0;
  // Its metrics, from its part of `result` (nothing when it did not run).
  // Session and domain units read the whole probe's result (an MX probe's
  // hosts included); host units are asked once per host.
  virtual void series(const ProbeResult& result, std::vector<Series>& out) const = 0;
  // Its findings, from its part of `result`, read like series().
  virtual void findings(const ProbeResult& result, const config::Module& module, std::vector<Finding>& out) const = 0;
  // Its part of the `check` report (text facts, JSON fields) and of /healthz's
  // data, read like series() (smtp_exporter/report.h). Nothing by default.
  virtual void report(const ProbeResult& /*result*/, const config::Module& /*module*/, Report& /*out*/) const {}
  // The remediation entries of its findings' keys.
  virtual const std::vector<Remediation>& remediations() const {
    static const std::vector<Remediation> none;
    return none;
  }
  // What the unit keeps across probes (caches, counts, background lookups),
  // for /metrics (exporter/self_metrics.cpp). Nothing by default.
  virtual void process_series(std::vector<Series>& /*out*/) const {}
  // What the unit counts over the runs of one agent target, for /metrics:
  // adds this result to `totals` (counters and histograms, see total() and
  // observe() below). The agent keeps `totals` per target and labels them
  // with the target's labels; a unit keeps no state for it. Asked like
  // series(). Nothing by default.
  virtual void tally(const ProbeResult& /*result*/, std::vector<Series>& /*totals*/) const {}
  // A configuration was put in force (start-up, reload): background work of
  // the unit on `executor`, replacing that of the previous configuration.
  virtual void start(const boost::asio::any_io_executor& /*executor*/, const config::Config& /*config*/) const {}
};

// Every unit, in pipeline order (probes/checks.cpp: one line each).
const std::vector<const Check*>& checks();

// The section `name` of `result` as a T, or null.
template <typename T>
const T* section(const ProbeResult& result, std::string_view name) {
  auto it = result.sections.find(name);
  return it == result.sections.end() ? nullptr : std::any_cast<T>(&it->second);
}

// The units of one phase that the module enables, in pipeline order.
std::vector<const Check*> enabled_checks(Phase phase, const config::Module& module);

// The series and findings of every unit, for the views: of a probe's result
// (every unit), or of one MX host's (`mx_host`: the host units only, the
// others report the hosts in the probe's own series).
std::vector<Series> check_series(const ProbeResult& result, bool mx_host = false);
std::vector<Finding> check_findings(const ProbeResult& result, const config::Module& module, bool mx_host = false);

// Every unit's tally() of a probe's result (and of each MX host's, host
// units), into one target's running totals (the agent's, after each run).
void tally_series(const ProbeResult& result, std::vector<Series>& totals);
// The counter `name` of `totals` (created at 0 on first use), or the
// histogram `name` with the upper bounds `bounds` (no observation yet); and
// one observation of a histogram.
Series& total(std::vector<Series>& totals, std::string_view name, std::string_view help,
              const std::vector<double>& bounds = {});
void observe(Series& histogram, double value);

// Every unit's process_series(), for /metrics; every unit's start().
std::vector<Series> process_series();
void start_checks(const boost::asio::any_io_executor& executor, const config::Config& config);

}  // namespace smtp_exporter::probes
