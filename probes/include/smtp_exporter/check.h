// A check unit: everything one check means, in one place. Its step (run
// after the host's SMTP session, on the probe's executor and deadline), its
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
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

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
};

// One thing a check found that makes the result worse than healthy. `key`
// names its remediation entry ("fcrdns/no_ptr").
struct Finding {
  std::string key;
  Health severity = Health::degraded;
  std::string text;  // one sentence, safe to show
};

// What an operator can do about a finding or a failure: likely causes and
// fixes, per platform. Texts may hold the placeholders of
// exporter/remediation.h's expand() ({host}, {address}, {domain}, ...).
struct Remediation {
  std::string_view key;    // "connect/refused", "fcrdns/no_ptr", ...
  std::string_view title;  // one line
  std::vector<std::string_view> causes;
  std::vector<std::string_view> fixes;  // Debian / systemd host
  std::vector<std::string_view> docker;
  std::vector<std::string_view> kubernetes;
};

// What a unit's step may read and write.
struct CheckContext {
  const ProbeRequest& request;  // request.host: the target or MX host name
  ProbeResult& result;          // the host's result so far (address, greeting, EHLO, TLS)
  std::chrono::steady_clock::time_point deadline;
};

class Check {
 public:
  virtual ~Check() = default;
  // The unit's name: its section in ProbeResult::sections and its module switch.
  virtual std::string_view name() const = 0;
  // Its step. Bounded by context.deadline; never throws for network trouble.
  virtual boost::asio::awaitable<void> run(CheckContext& context) const = 0;
  // Its metrics, from its section of `result` (nothing when it did not run).
  virtual void series(const ProbeResult& result, std::vector<Series>& out) const = 0;
  // Its findings, from its section of `result`.
  virtual void findings(const ProbeResult& result, std::vector<Finding>& out) const = 0;
  // The remediation entries of its findings' keys.
  virtual const std::vector<Remediation>& remediations() const = 0;

  bool enabled(const config::Module& module) const { return module.checks.contains(std::string(name())); }
};

// Every unit, in pipeline order (probes/checks.cpp: one line each).
const std::vector<const Check*>& checks();

// The section `name` of `result` as a T, or null.
template <typename T>
const T* section(const ProbeResult& result, std::string_view name) {
  auto it = result.sections.find(name);
  return it == result.sections.end() ? nullptr : std::any_cast<T>(&it->second);
}

// Runs every unit the module enables, in order, on a host's result (the
// pipeline's step after the SMTP session; probes/smtp_probe.cpp).
boost::asio::awaitable<void> run_checks(const ProbeRequest& request, ProbeResult& result,
                                        std::chrono::steady_clock::time_point deadline);

// The series and findings of every unit that ran, for the views.
std::vector<Series> check_series(const ProbeResult& result);
std::vector<Finding> check_findings(const ProbeResult& result);

}  // namespace smtp_exporter::probes
