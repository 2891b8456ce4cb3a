// The TLS session and certificate chain of whichever handshake ran
// (STARTTLS or implicit TLS): metrics and the expiry findings. Names and
// meanings are blackbox_exporter's where they exist (probe_ssl_*,
// probe_tls_*), so existing certificate alerts keep working. No step of its
// own: the session's handshake (SmtpSession::upgrade_to_tls) gathers the facts.
#include "checks/certificate.h"

#include <algorithm>

#include "tls.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
constexpr std::string_view kName = "certificate";


class CertificateCheck final : public Check {
 public:
  std::string_view name() const override { return kName; }
  Phase phase() const override { return Phase::session; }
  bool enabled(const config::Module&) const override { return false; }  // no step
  asio::awaitable<Next> run(CheckContext&) const override { co_return Next::go_on; }

  void series(const ProbeResult& r, std::vector<Series>& out) const override {
    if (r.mx) return;  // a mail domain's TLS facts are per host (the mx unit)
    out.push_back({"probe_smtp_tls_established", "Whether the SMTP session ran over TLS (STARTTLS or implicit).", {},
                   r.tls_established ? 1.0 : 0.0});
    if (r.starttls_offered)
      out.push_back({"probe_smtp_starttls_offered", "Whether the server advertised STARTTLS before TLS.", {},
                     *r.starttls_offered ? 1.0 : 0.0});
    if (r.auth_before_tls)
      out.push_back({"probe_smtp_auth_before_tls", "Whether AUTH was advertised on the unencrypted connection.", {},
                     *r.auth_before_tls ? 1.0 : 0.0});
    if (!r.tls) return;
    const TlsInfo& tls = *r.tls;
    out.push_back({"probe_tls_version_info", "The TLS version used.", {{"version", tls.version}}, 1});
    out.push_back({"probe_tls_cipher_info", "The TLS cipher negotiated.", {{"cipher", tls.cipher}}, 1});
    out.push_back({"probe_smtp_tls_verified", "Whether the certificate chain and name verified.", {},
                   tls.verified ? 1.0 : 0.0});
    if (!tls.verified)
      for (const auto& reason : tls.verify_errors)
        out.push_back({"probe_smtp_tls_verify_info", "Why the certificate did not verify; absent when it did.",
                       {{"reason", reason}}, 1});
    if (tls.presented_chain.empty()) return;
    out.push_back({"probe_ssl_earliest_cert_expiry",
                   "Earliest notAfter of the presented certificate chain, Unix seconds.", {},
                   earliest_not_after(tls.presented_chain)});
    const auto& last_chain = tls.verified_chain.empty() ? tls.presented_chain : tls.verified_chain;
    out.push_back({"probe_ssl_last_chain_expiry_timestamp_seconds",
                   "Earliest notAfter of the verified chain (the presented one when unverified), Unix seconds.", {},
                   earliest_not_after(last_chain)});
    const Certificate& leaf = tls.presented_chain.front();
    out.push_back({"probe_ssl_last_chain_info", "The leaf certificate presented by the server.",
                   {{"subject", leaf.subject},
                    {"issuer", leaf.issuer},
                    {"serialnumber", leaf.serial},
                    {"fingerprint_sha256", leaf.fingerprint_sha256}},
                   1});
    if (tls.leaf_days_to_expiry)
      out.push_back({"probe_smtp_tls_days_to_expiry", "Days until the leaf certificate expires; negative once expired.",
                     {}, *tls.leaf_days_to_expiry});
  }

  // An expired certificate is unhealthy even when verification is skipped;
  // one expiring within degraded_cert_days is degraded. For a mail domain,
  // every MX host's.
  void findings(const ProbeResult& r, const config::Module& module, std::vector<Finding>& out) const override {
    auto tls_of = [&](const ProbeResult& p) { return p.tls ? &*p.tls : nullptr; };
    std::vector<const TlsInfo*> sessions{tls_of(r)};
    for (const auto& h : r.mx_hosts) sessions.push_back(tls_of(h.result));
    for (const TlsInfo* tls : sessions) {
      if (!tls || !tls->leaf_days_to_expiry) continue;
      double days = *tls->leaf_days_to_expiry;
      bool expired = days < 0 || std::find(tls->verify_errors.begin(), tls->verify_errors.end(), "expired") !=
                                     tls->verify_errors.end();
      if (expired) {
        out.push_back({"tls/certificate_error/expired", Health::unhealthy,
                       "certificate of " + tls->server_name + " has expired"});
      } else if (days < module.degraded_cert_days) {
        out.push_back({"health/cert_expiring", Health::degraded,
                       "certificate of " + tls->server_name + " expires in " +
                           std::to_string(whole_days(days)) + " days"});
      }
    }
  }

};

}  // namespace

const Check& certificate_check() {
  static const CertificateCheck unit;
  return unit;
}

}  // namespace smtp_exporter::probes
