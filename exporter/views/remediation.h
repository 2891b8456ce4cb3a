// What an operator can do about each kind of failure or degradation: likely
// causes and fixes, with per-platform hints (Debian/systemd, Docker,
// Kubernetes). ONE table backs the `check` command's advice and the
// generated docs/troubleshooting.md (`smtp_exporter check --remediation-markdown`).
//
// Texts may hold placeholders, replaced by expand(): {host} {port} {name}
// (the TLS verification name) {domain} {address} (the IP connected to)
// {target} {module} and {starttls} ("-starttls smtp " for STARTTLS, empty
// for implicit TLS). Any other brace is left as it is.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp_exporter/check.h"
#include "smtp_exporter/config.h"
#include "smtp_exporter/probe_result.h"

namespace smtp_exporter::exporter {

// "connect/refused", "tls/certificate_error/expired", "health/cert_expiring",
// and the check units' own entries ("fcrdns/no_ptr", ...).
using Remediation = probes::Remediation;

// Every entry, in the order of the documentation: the table's, then each
// check unit's (smtp_exporter/check.h).
const std::vector<Remediation>& remediation_table();
// The entry with this key; null when there is none.
const Remediation* find_remediation(std::string_view key);

// The table keys for one failure: usually one; a certificate_error gives one
// per verification problem (verify_errors, as in TlsInfo). A switch over the
// enums: a reason added without advice is a compiler warning (an error here).
// Empty when nothing matches.
std::vector<std::string> failure_keys(probes::Stage stage, probes::FailureReason reason,
                                      const std::vector<std::string>& verify_errors = {});
// The same by the names of to_string (stage and reason labels of
// probe_smtp_failure_info); empty for names that are neither.
std::vector<std::string> failure_keys(std::string_view stage, std::string_view reason,
                                      const std::vector<std::string>& verify_errors = {});

// The entries that apply to a probe result: those of its failure (and, for a
// mail domain that failed, those of its failing hosts), then those of the
// degraded findings (certificate expiring within module.degraded_cert_days,
// slow greeting, no MX records) and of an expired certificate that did not
// fail the probe. Unique, in that order.
std::vector<const Remediation*> remediation_for(const probes::ProbeResult& result, const config::Module& module);

// A finding as a machine reads it (check --output json): its stable id (the
// remediation key; for the probe's failure the first key of failure_keys, or
// "STAGE/REASON"), a category (dns, connect, smtp, tls, auth, performance,
// ...) and the URL of its section in docs/troubleshooting.md.
struct FindingId {
  std::string check_id;
  std::string category;
  std::string runbook_url;
};
FindingId identify(const probes::Finding& finding, const probes::ProbeResult& result);

// Where docs/troubleshooting.md is published; its sections' anchors follow the keys.
inline constexpr std::string_view kTroubleshootingUrl =
    "https://github.com/smtp-exporter/smtp_exporter/blob/main/docs/troubleshooting.md";

struct RemediationContext {
  std::string host = "HOST";
  std::string port = "PORT";
  std::string name = "NAME";
  std::string domain = "DOMAIN";
  std::string address = "ADDRESS";
  std::string target = "TARGET";
  std::string module = "MODULE";
  bool implicit_tls = false;
  // The module's first [dns] server as dig takes it ("127.0.0.1 -p 5353");
  // empty: the system's resolver. Filled into every `dig` command.
  std::string dns_server;
  // The target is an IP address: name lookups of {host} do not apply.
  bool host_is_address = false;
};

// Replaces the placeholders. The default context gives the generic
// upper-case names used in the documentation.
std::string expand(std::string_view text, const RemediationContext& context);
// One line of advice for this probe: expanded, with the configured resolver
// in its dig commands (`dig @SERVER` → that server; `dig X` → `dig @S X`);
// nullopt when it does not apply (a name lookup of {host} for an IP target).
std::optional<std::string> advice_line(std::string_view text, const RemediationContext& context);

// docs/troubleshooting.md: every entry as a Markdown section, by key.
std::string remediation_markdown();

}  // namespace smtp_exporter::exporter
