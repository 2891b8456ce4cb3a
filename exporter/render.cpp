// Metric names follow blackbox_exporter where the meaning is the same
// (probe_success, probe_duration_seconds, probe_ip_protocol, ...), so existing
// dashboards and alerts keep working; SMTP specifics are probe_smtp_*.
// Every name is documented in docs/metrics.md.
#include "smtp_exporter/render.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "text.h"

namespace smtp_exporter::exporter {
namespace {

using prometheus::Family;
using prometheus::Gauge;

class Metrics {
 public:
  Family<Gauge>& family(const std::string& name, const std::string& help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(registry_);
  }
  void set(const std::string& name, const std::string& help, double value) { family(name, help).Add({}).Set(value); }
  std::string text() const { return prometheus::TextSerializer().Serialize(registry_.Collect()); }

 private:
  prometheus::Registry registry_;
};

}  // namespace

std::string render_metrics(const probes::ProbeResult& r) {
  using probes::Stage;
  Metrics m;
  m.set("probe_success", "Whether the probe succeeded (1) or failed (0).", r.success ? 1 : 0);
  m.set("probe_duration_seconds", "How long the probe took to complete in seconds.", r.duration_seconds);
  m.set("probe_timeout_seconds", "The deadline applied to this probe in seconds.", r.timeout_seconds);
  m.set("probe_ip_protocol", "IP protocol used for the probe: 4, 6, or 0 when no address was chosen.",
        r.ip_protocol.value_or(0));
  m.set("probe_dns_lookup_time_seconds", "Time spent resolving the target name in seconds.",
        r.seconds_in(Stage::resolve).value_or(0));

  auto& phases = m.family("probe_smtp_duration_seconds", "Duration of each SMTP probe phase in seconds.");
  for (const auto& [stage, seconds] : r.stage_seconds)
    phases.Add({{"phase", std::string(probes::to_string(stage))}}).Set(seconds);

  if (r.banner_latency_seconds)
    m.set("probe_smtp_banner_latency_seconds",
          "Time from TCP connection established to the complete greeting in seconds.", *r.banner_latency_seconds);
  if (r.banner_code) m.set("probe_smtp_banner_code", "Reply code of the server greeting.", *r.banner_code);
  if (r.last_code) m.set("probe_smtp_status_code", "Code of the last SMTP reply received.", *r.last_code);

  if (!r.extensions.empty()) {
    auto& ext = m.family("probe_smtp_ehlo_extension_info", "SMTP service extensions advertised in the EHLO reply.");
    for (const auto& e : r.extensions) ext.Add({{"extension", e.keyword}}).Set(1);
  }
  if (!r.auth_mechanisms.empty()) {
    auto& mech = m.family("probe_smtp_auth_mechanism_info", "SASL mechanisms advertised by the AUTH extension.");
    for (const auto& name : r.auth_mechanisms) mech.Add({{"mechanism", name}}).Set(1);
  }
  if (r.size_limit)
    m.set("probe_smtp_size_limit_bytes", "Message size limit advertised by SIZE; 0 means no fixed limit.",
          static_cast<double>(*r.size_limit));
  if (r.seconds_in(Stage::ehlo) && !r.failure)
    m.set("probe_smtp_helo_fallback", "Whether EHLO was rejected and the probe fell back to HELO.",
          r.helo_fallback ? 1 : 0);

  if (r.failure)
    m.family("probe_smtp_failure_info", "The stage and reason of a failed probe; absent on success.")
        .Add({{"stage", std::string(probes::to_string(r.failure->stage))},
              {"reason", std::string(probes::to_string(r.failure->reason))}})
        .Set(1);
  return m.text();
}

std::string render_debug(const probes::ProbeResult& result, const std::string& metrics,
                         const std::string& module_name, const config::Module& module) {
  using Kind = probes::LogEntry::Kind;
  std::string out = "Logs for the probe:\n";
  for (const auto& entry : result.log) {
    std::string_view level = entry.kind == Kind::error ? "error" : entry.kind == Kind::info ? "info" : "debug";
    out += "ts=" + rfc3339(entry.at) + " level=" + std::string(level);
    switch (entry.kind) {
      case Kind::sent: out += " msg=" + logfmt_value("> " + entry.text); break;
      case Kind::received: out += " msg=" + logfmt_value("< " + entry.text); break;
      default: out += " msg=" + logfmt_value(entry.text);
    }
    out += "\n";
  }
  out += "\n\nMetrics that would have been returned:\n" + metrics;
  out += "\n\nModule configuration:\n" + config::to_toml(module_name, module);
  return out;
}

}  // namespace smtp_exporter::exporter
