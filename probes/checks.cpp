// The check units and their order in the pipeline. Adding a check: its unit
// under probes/checks/ and one line here (docs/development.md).
#include "smtp_exporter/check.h"

#include "checks/auth.h"
#include "checks/certificate.h"
#include "checks/dane.h"
#include "checks/dnsbl.h"
#include "checks/ehlo.h"
#include "checks/fcrdns.h"
#include "checks/greeting.h"
#include "checks/mta_sts.h"
#include "checks/mx.h"
#include "checks/receive.h"
#include "checks/send.h"
#include "checks/starttls.h"

namespace smtp_exporter::probes {

const std::vector<const Check*>& checks() {
  static const std::vector<const Check*> units{
      &certificate_check(),  // the TLS session and certificate chain (facts of the session's handshake)
      &mx_check(),        // domain: the MX set, then every host address at once
      &mta_sts_check(),   // domain: MTA-STS and TLS-RPT against the MX hosts the mx unit probed
      &dane_check(),      // session: validated TLSA look-ups (DNSSEC), before the connection and its handshake
      &greeting_check(),  // session: resolve, connect (implicit TLS), the 220 greeting
      &ehlo_check(),      // session: EHLO (HELO fallback) and its extensions
      &tls_check(),       // session: STARTTLS, the handshake, EHLO again
      &auth_check(),      // session: SMTP AUTH (SASL)
      &send_check(),      // session: the test message
      &receive_check(),   // host: the test message in the mailbox (IMAP or Maildir), first of the host units
      &fcrdns_check(),    // host: FCrDNS and name consistency
      &dnsbl_check(),     // host: DNS blocklists (RFC 5782)
  };
  return units;
}

std::vector<const Check*> enabled_checks(Phase phase, const config::Module& module) {
  std::vector<const Check*> out;
  for (const Check* check : checks())
    if (check->phase() == phase && check->enabled(module)) out.push_back(check);
  return out;
}

std::vector<Series> check_series(const ProbeResult& result, bool mx_host) {
  std::vector<Series> out;
  for (const Check* check : checks())
    if (!mx_host || check->phase() == Phase::host) check->series(result, out);
  return out;
}

std::vector<Finding> check_findings(const ProbeResult& result, const config::Module& module, bool mx_host) {
  std::vector<Finding> out;
  for (const Check* check : checks())
    if (!mx_host || check->phase() == Phase::host) check->findings(result, module, out);
  return out;
}

void tally_series(const ProbeResult& result, std::vector<Series>& totals) {
  for (const Check* check : checks()) check->tally(result, totals);
  for (const auto& h : result.mx_hosts)
    for (const Check* check : checks())
      if (check->phase() == Phase::host) check->tally(h.result, totals);
}

Series& total(std::vector<Series>& totals, std::string_view name, std::string_view help,
              const std::vector<double>& bounds) {
  for (auto& s : totals)
    if (s.name == name) return s;
  Series fresh{std::string(name), help, {}, 0};
  fresh.counter = bounds.empty();
  fresh.bucket_bounds = bounds;
  if (!bounds.empty()) fresh.bucket_counts.assign(bounds.size() + 1, 0.0);
  return totals.emplace_back(std::move(fresh));
}

void observe(Series& histogram, double value) {
  std::size_t i = 0;
  while (i < histogram.bucket_bounds.size() && value > histogram.bucket_bounds[i]) ++i;
  histogram.bucket_counts[i] += 1;
  histogram.value += value;
}

std::vector<Series> process_series() {
  std::vector<Series> out;
  for (const Check* check : checks()) check->process_series(out);
  return out;
}

void start_checks(const boost::asio::any_io_executor& executor, const config::Config& config) {
  for (const Check* check : checks()) check->start(executor, config);
}

}  // namespace smtp_exporter::probes
