// Metric names follow blackbox_exporter where the meaning is the same
// (probe_success, probe_duration_seconds, probe_ip_protocol, ...), so existing
// dashboards and alerts keep working; SMTP specifics are probe_smtp_*.
// Every name is documented in docs/metrics.md.
#include "smtp_exporter/render.h"

#include <prometheus/labels.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <deque>

#include "smtp_exporter/check.h"
#include "text.h"

namespace smtp_exporter::exporter {
namespace {

// The gauges of one probe, collected straight into the MetricFamily values
// that prometheus-cpp's TextSerializer formats. A Registry per probe did the
// same with twice the CPU (bench/: half of a plain probe's instructions went
// to building and hashing it); this keeps its rules: a name used again is the
// same family, a label set added again is the same series, the constant
// `labels` come first on every series, and a family without series is left
// out.
class Metrics {
 public:
  class Family {
   public:
    Family(prometheus::MetricFamily& family, const prometheus::Labels& constant)
        : family_(family), constant_(constant) {}
    struct Series {
      prometheus::ClientMetric& metric;
      void Set(double value) { metric.gauge.value = value; }
    };
    Series Add(const prometheus::Labels& labels) {
      std::vector<prometheus::ClientMetric::Label> all;
      all.reserve(constant_.size() + labels.size());
      for (const auto& [name, value] : constant_) all.push_back({name, value});
      for (const auto& [name, value] : labels) all.push_back({name, value});
      for (auto& metric : family_.metric)
        if (metric.label == all) return {metric};
      family_.metric.emplace_back().label = std::move(all);
      return {family_.metric.back()};
    }

   private:
    prometheus::MetricFamily& family_;
    const prometheus::Labels& constant_;
  };

  explicit Metrics(prometheus::Labels labels = {}) : labels_(std::move(labels)) {}
  Family family(const std::string& name, const std::string& help) {
    for (auto& f : families_)
      if (f.name == name) return {f, labels_};
    families_.push_back({name, help, prometheus::MetricType::Gauge, {}});
    return {families_.back(), labels_};
  }
  void set(const std::string& name, const std::string& help, double value) { family(name, help).Add({}).Set(value); }
  std::vector<prometheus::MetricFamily> families() const {
    std::vector<prometheus::MetricFamily> out;
    for (const auto& f : families_)
      if (!f.metric.empty()) out.push_back(f);
    return out;
  }

 private:
  prometheus::Labels labels_;
  std::deque<prometheus::MetricFamily> families_;  // a deque: handles keep pointing at their family
};

// The earliest notAfter of a non-empty chain.
double earliest(const std::vector<probes::Certificate>& chain) {
  std::int64_t t = chain.front().not_after;
  for (const auto& c : chain) t = std::min(t, c.not_after);
  return static_cast<double>(t);
}

// Names and meanings shared with blackbox_exporter where they exist
// (probe_ssl_*, probe_tls_*), so existing certificate alerts keep working.
void render_tls(Metrics& m, const probes::ProbeResult& r) {
  if (r.mx) return;  // a mail domain's TLS facts are per host (render_mx)
  m.set("probe_smtp_tls_established", "Whether the SMTP session ran over TLS (STARTTLS or implicit).",
        r.tls_established ? 1 : 0);
  if (r.starttls_offered)
    m.set("probe_smtp_starttls_offered", "Whether the server advertised STARTTLS before TLS.",
          *r.starttls_offered ? 1 : 0);
  if (r.auth_before_tls)
    m.set("probe_smtp_auth_before_tls", "Whether AUTH was advertised on the unencrypted connection.",
          *r.auth_before_tls ? 1 : 0);
  if (!r.tls) return;
  const probes::TlsInfo& tls = *r.tls;
  m.family("probe_tls_version_info", "The TLS version used.").Add({{"version", tls.version}}).Set(1);
  m.family("probe_tls_cipher_info", "The TLS cipher negotiated.").Add({{"cipher", tls.cipher}}).Set(1);
  m.set("probe_smtp_tls_verified", "Whether the certificate chain and name verified.", tls.verified ? 1 : 0);
  if (!tls.verified) {
    auto why = m.family("probe_smtp_tls_verify_info", "Why the certificate did not verify; absent when it did.");
    for (const auto& reason : tls.verify_errors) why.Add({{"reason", reason}}).Set(1);
  }
  if (tls.presented_chain.empty()) return;
  m.set("probe_ssl_earliest_cert_expiry", "Earliest notAfter of the presented certificate chain, Unix seconds.",
        earliest(tls.presented_chain));
  const auto& last_chain = tls.verified_chain.empty() ? tls.presented_chain : tls.verified_chain;
  m.set("probe_ssl_last_chain_expiry_timestamp_seconds",
        "Earliest notAfter of the verified chain (the presented one when unverified), Unix seconds.",
        earliest(last_chain));
  const probes::Certificate& leaf = tls.presented_chain.front();
  m.family("probe_ssl_last_chain_info", "The leaf certificate presented by the server.")
      .Add({{"subject", leaf.subject},
            {"issuer", leaf.issuer},
            {"serialnumber", leaf.serial},
            {"fingerprint_sha256", leaf.fingerprint_sha256}})
      .Set(1);
  if (tls.leaf_days_to_expiry)
    m.set("probe_smtp_tls_days_to_expiry", "Days until the leaf certificate expires; negative once expired.",
          *tls.leaf_days_to_expiry);
}

// Mail domain probes: the MX set, the aggregate, and one series per host
// address labelled {mx, ip}.
void render_mx(Metrics& m, const probes::ProbeResult& r) {
  const probes::MxInfo& mx = *r.mx;
  m.set("probe_smtp_mx_records", "Number of MX records of the domain.", static_cast<double>(mx.records.size()));
  if (!mx.records.empty()) {
    auto info = m.family("probe_smtp_mx_info", "One series per MX record of the domain.");
    for (const auto& rec : mx.records)
      info.Add({{"exchange", rec.exchange.empty() ? "." : rec.exchange}, {"preference", std::to_string(rec.preference)}})
          .Set(1);
  }
  m.set("probe_smtp_mx_implicit", "Whether the domain has no MX and its own address was used (RFC 5321 5.1).",
        mx.implicit ? 1 : 0);
  m.set("probe_smtp_mx_null", "Whether the domain publishes a null MX (RFC 7505): it accepts no mail.",
        mx.null_mx ? 1 : 0);
  if (!mx.dns_only)
    m.set("probe_smtp_mx_reachable", "Number of MX hosts with an address that accepted a TCP connection.",
          mx.reachable);
  if (r.mx_hosts.empty()) return;
  auto success = m.family("probe_smtp_mx_host_success", "Whether the probe of this MX host address succeeded.");
  auto latency = m.family("probe_smtp_mx_host_banner_latency_seconds",
                           "Greeting latency of this MX host address in seconds.");
  auto expiry = m.family("probe_smtp_mx_host_ssl_earliest_cert_expiry_timestamp_seconds",
                          "Earliest certificate notAfter presented by this MX host address, Unix seconds.");
  auto failure = m.family("probe_smtp_mx_host_failure_info", "Stage and reason of this MX host address' failure.");
  std::optional<double> soonest;
  for (const auto& h : r.mx_hosts) {
    prometheus::Labels labels{{"mx", h.exchange}, {"ip", h.ip}};
    success.Add(labels).Set(h.result.success ? 1 : 0);
    if (h.result.banner_latency_seconds) latency.Add(labels).Set(*h.result.banner_latency_seconds);
    if (h.result.tls && !h.result.tls->presented_chain.empty()) {
      double t = earliest(h.result.tls->presented_chain);
      expiry.Add(labels).Set(t);
      soonest = soonest ? std::min(*soonest, t) : t;
    }
    if (h.result.failure) {
      prometheus::Labels with_reason = labels;
      with_reason["stage"] = std::string(probes::to_string(h.result.failure->stage));
      with_reason["reason"] = std::string(probes::to_string(h.result.failure->reason));
      failure.Add(with_reason).Set(1);
    }
  }
  if (soonest)
    m.set("probe_ssl_earliest_cert_expiry", "Earliest notAfter of the presented certificate chain, Unix seconds.",
          *soonest);
}

// SMTP AUTH and the test message ([auth], [send]); durations are in
// probe_smtp_duration_seconds{phase="auth|mail|rcpt|data"}.
void render_transaction(Metrics& m, const probes::ProbeResult& r) {
  if (r.auth_success)
    m.set("probe_smtp_auth_success", "Whether SMTP AUTH succeeded; present when the module configures auth.",
          *r.auth_success ? 1 : 0);
  if (!r.auth_mechanism.empty())
    m.family("probe_smtp_auth_mechanism_used_info", "The SASL mechanism the probe authenticated with.")
        .Add({{"mechanism", r.auth_mechanism}})
        .Set(1);
  if (!r.recipients.empty()) {
    auto rcpt = m.family("probe_smtp_rcpt_status_code", "Reply code to RCPT TO, per recipient.");
    for (const auto& recipient : r.recipients) rcpt.Add({{"recipient", recipient.address}}).Set(recipient.code);
  }
  if (!r.enhanced_status_code.empty())
    m.family("probe_smtp_enhanced_status_code_info",
             "RFC 3463 enhanced status code of the last reply that carried one.")
        .Add({{"code", r.enhanced_status_code}})
        .Set(1);
  if (r.attempts)
    m.set("probe_smtp_attempts", "Conversations run by this probe: 1, more when a 4xx reply was retried.",
          *r.attempts);
  if (r.message_accepted)
    m.family("probe_smtp_message_info", "The token of the test message the server accepted (in its Subject).")
        .Add({{"token", r.message_token}})
        .Set(1);
}

}  // namespace

namespace {

// The check units' series (smtp_exporter/check.h): the probed host's, and
// each MX host address' with its `mx` and `ip` labels.
void render_checks(Metrics& m, const probes::ProbeResult& r) {
  auto add = [&](const std::vector<probes::Series>& series, const prometheus::Labels& extra) {
    for (const auto& s : series) {
      prometheus::Labels labels = extra;
      for (const auto& [name, value] : s.labels) labels.emplace(name, value);
      m.family(s.name, std::string(s.help)).Add(labels).Set(s.value);
    }
  };
  add(probes::check_series(r), {});
  for (const auto& h : r.mx_hosts) add(probes::check_series(h.result), {{"mx", h.exchange}, {"ip", h.ip}});
}

void fill(Metrics& m, const probes::ProbeResult& r) {
  using probes::Stage;
  m.set("probe_success", "Whether the probe succeeded (1) or failed (0).", r.success ? 1 : 0);
  m.set("probe_duration_seconds", "How long the probe took to complete in seconds.", r.duration_seconds);
  m.set("probe_timeout_seconds", "The deadline applied to this probe in seconds.", r.timeout_seconds);
  m.set("probe_ip_protocol", "IP protocol used for the probe: 4, 6, or 0 when no address was chosen.",
        r.ip_protocol.value_or(0));
  m.set("probe_dns_lookup_time_seconds", "Time spent on DNS (MX and address lookups) in seconds.",
        r.seconds_in(Stage::resolve).value_or(0) + r.seconds_in(Stage::mx).value_or(0));

  auto phases = m.family("probe_smtp_duration_seconds", "Duration of each SMTP probe phase in seconds.");
  for (const auto& [stage, seconds] : r.stage_seconds)
    phases.Add({{"phase", std::string(probes::to_string(stage))}}).Set(seconds);

  if (r.banner_latency_seconds)
    m.set("probe_smtp_banner_latency_seconds",
          "Time from TCP connection established to the complete greeting in seconds.", *r.banner_latency_seconds);
  if (r.banner_code) m.set("probe_smtp_banner_code", "Reply code of the server greeting.", *r.banner_code);
  if (r.last_code) m.set("probe_smtp_status_code", "Code of the last SMTP reply received.", *r.last_code);

  if (!r.extensions.empty()) {
    auto ext = m.family("probe_smtp_ehlo_extension_info", "SMTP service extensions advertised in the EHLO reply.");
    for (const auto& e : r.extensions) ext.Add({{"extension", e.keyword}}).Set(1);
  }
  if (!r.auth_mechanisms.empty()) {
    auto mech = m.family("probe_smtp_auth_mechanism_info", "SASL mechanisms advertised by the AUTH extension.");
    for (const auto& name : r.auth_mechanisms) mech.Add({{"mechanism", name}}).Set(1);
  }
  if (r.size_limit)
    m.set("probe_smtp_size_limit_bytes", "Message size limit advertised by SIZE; 0 means no fixed limit.",
          static_cast<double>(*r.size_limit));
  if (r.seconds_in(Stage::ehlo) && !r.failure)
    m.set("probe_smtp_helo_fallback", "Whether EHLO was rejected and the probe fell back to HELO.",
          r.helo_fallback ? 1 : 0);

  render_tls(m, r);
  if (r.mx) render_mx(m, r);
  render_transaction(m, r);
  render_checks(m, r);

  // A state set: exactly one of the three is 1.
  auto health = m.family("probe_smtp_health", "Health of the probed service: healthy, degraded or unhealthy.");
  for (auto state : {probes::Health::healthy, probes::Health::degraded, probes::Health::unhealthy})
    health.Add({{"status", std::string(probes::to_string(state))}}).Set(r.health.status == state ? 1 : 0);

  if (r.failure)
    m.family("probe_smtp_failure_info", "The stage and reason of a failed probe; absent on success.")
        .Add({{"stage", std::string(probes::to_string(r.failure->stage))},
              {"reason", std::string(probes::to_string(r.failure->reason))}})
        .Set(1);
}

}  // namespace

std::string render_metrics(const probes::ProbeResult& r) {
  Metrics m;
  fill(m, r);
  return prometheus::TextSerializer().Serialize(m.families());
}

std::string render_labelled(const std::vector<LabelledResult>& results) {
  // One family per name across all results: the text format allows a name's
  // HELP/TYPE block only once.
  std::vector<prometheus::MetricFamily> merged;
  std::map<std::string, std::size_t> index;
  for (const auto& [labels, result] : results) {
    Metrics m(prometheus::Labels(labels.begin(), labels.end()));
    fill(m, *result);
    for (auto& family : m.families()) {
      auto [it, fresh] = index.emplace(family.name, merged.size());
      if (fresh) {
        merged.push_back(std::move(family));
      } else {
        auto& into = merged[it->second].metric;
        into.insert(into.end(), family.metric.begin(), family.metric.end());
      }
    }
  }
  return prometheus::TextSerializer().Serialize(merged);
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
