// MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) of a mail domain
// (probes/checks/mta_sts.cpp): the `_mta-sts` TXT record, the policy fetched
// over HTTPS (cached per domain for the module's mta_sts_cache), its MX
// patterns against the MX set the `mx` unit found, each MX host's STARTTLS
// and certificate as the `mx` unit saw them (no MX is probed twice), the
// policy body changing under an unchanged id, and the `_smtp._tls` record.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>

#include "dns.h"
#include "mta_sts_fetch.h"
#include "mta_sts_policy.h"
#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {

// One MX host of the domain against the policy.
struct MtaStsMx {
  std::string name;
  std::optional<std::string> pattern;  // the policy pattern that covers it
  // STARTTLS offered and a certificate valid for its name (PKIX) on every
  // address that accepted a connection; nullopt when the module did not try
  // TLS (tls = "none"), the hosts were not probed, or none accepted a connection.
  std::optional<bool> valid;
  std::string problem;  // why not valid
};

struct MtaStsSection {
  std::string domain;
  DnsError txt_error = DnsError::none;
  StsRecord txt;
  std::optional<PolicyFetch> fetch;  // the fetch (fresh or cached); absent when none could be made
  bool cached = false;               // fetch came from the cache
  std::optional<StsPolicy> policy;   // when fetched with outcome ok
  bool stale_id = false;
  std::vector<MtaStsMx> mx;
  DnsError tlsrpt_error = DnsError::none;
  TlsRptRecord tlsrpt;
  // The reason this unit failed the probe with, if it did.
  std::optional<Failure> failure;
};

// What the unit keeps across probes, process-wide (a mutex guards it): per
// domain, the last fetch with the TXT id it was made under (the cache), and
// the last (id, body) seen with the stale flag (change tracking). Times are
// passed in, for tests.
class MtaStsMemory {
 public:
  using Clock = std::chrono::steady_clock;
  // Bounds on what /probe targets can make the process keep (any domain can be
  // asked for): the oldest cached policy, and an arbitrary tracked domain, go first.
  static constexpr std::size_t kMaxCached = 1000;
  static constexpr std::size_t kMaxTracked = 100000;

  // The cached fetch of `domain`, when made under `id` less than `max_age` ago.
  std::optional<PolicyFetch> cached(const std::string& domain, const std::string& id, config::Duration max_age,
                                    Clock::time_point now) const;
  void remember(const std::string& domain, const std::string& id, const PolicyFetch& fetch, Clock::time_point now);
  // A policy body fetched under `id`: whether the body changed while the id
  // did not (kept until the id changes: senders hold the old policy).
  bool observe(const std::string& domain, const std::string& id, const std::string& body);
  bool stale(const std::string& domain) const;
  void count_fetch();
  void series(std::vector<Series>& out) const;
  void clear();  // tests

 private:
  struct Cached {
    std::string id;
    PolicyFetch fetch;
    Clock::time_point at;
  };
  struct Seen {
    std::string id;
    std::size_t body_hash = 0;  // a hash, not the body: up to 64 KiB per domain otherwise
    bool stale = false;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Cached> cache_;
  std::map<std::string, Seen> seen_;
  double fetches_ = 0;
  mutable double hits_ = 0;
};

MtaStsMemory& mta_sts_memory();

// Coverage and validity of the domain's MX hosts (pure: from the MX unit's
// result and the policy), for the unit and its tests.
std::vector<MtaStsMx> judge_mx(const ProbeResult& result, const std::string& domain, const StsPolicy* policy);

// The remediation entries of the unit's findings and failure reasons
// (probes/checks/mta_sts_remediation.cpp).
const std::vector<Remediation>& mta_sts_remediations();

const Check& mta_sts_check();

}  // namespace smtp_exporter::probes
