// The TLS session and certificate chain of whichever handshake ran
// (STARTTLS or implicit TLS): metrics and the expiry findings. Names and
// meanings are blackbox_exporter's where they exist (probe_ssl_*,
// probe_tls_*), so existing certificate alerts keep working. No step of its
// own: the session's handshake (SmtpSession::upgrade_to_tls) gathers the facts.
#include "checks/certificate.h"

#include <algorithm>
#include <cmath>

#include "smtp_exporter/report.h"

#include "tls.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
constexpr std::string_view kName = "certificate";


// "2026-11-23T14:23:28.000Z", as every JSON the exporter writes dates.
std::string rfc3339(std::int64_t unix_seconds) {
  std::string text = utc_text(unix_seconds);  // "2026-11-23 14:23:28 UTC"
  return text.substr(0, 10) + "T" + text.substr(11, 8) + ".000Z";
}

// The text facts of one TLS session; verification failures are explained
// with why they do not fail the probe, when they do not.
void tls_facts(const TlsInfo& tls, const config::Module& module, std::vector<Fact>& out) {
  out.push_back({"TLS", {safe_text(tls.version + ", " + tls.cipher) + " (server name " + safe_text(tls.server_name) + ")"}});
  if (!tls.presented_chain.empty()) {
    const Certificate& leaf = tls.presented_chain.front();
    std::string expiry = "expires " + utc_text(leaf.not_after);
    if (tls.leaf_days_to_expiry) expiry += " (" + days_left_text(*tls.leaf_days_to_expiry) + ")";
    out.push_back({"Certificate", {"subject " + safe_text(leaf.subject), "issuer  " + safe_text(leaf.issuer), expiry}});
  } else {
    out.push_back({"Certificate", {"none presented"}});
  }
  if (tls.verified) {
    out.push_back({"Verification", {"ok (trusted chain, valid dates, name matches)"}});
    return;
  }
  std::string text = "failed: " + safe_text(join(tls.verify_errors, ", "));
  if (!tls.verify_detail.empty()) text += " (" + safe_text(tls.verify_detail) + ")";
  if (module.tls == config::TlsMode::opportunistic || module.tls_config.insecure_skip_verify)
    text += "; not failing the probe (" +
            std::string(module.tls == config::TlsMode::opportunistic ? "opportunistic TLS" : "insecure_skip_verify") +
            ")";
  out.push_back({"Verification", {text}});
}

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

  // STARTTLS, AUTH before TLS, the session and the certificate.
  void report(const ProbeResult& r, const config::Module& module, Report& out) const override {
    if (r.starttls_offered) out.facts.push_back({"STARTTLS", {*r.starttls_offered ? "offered" : "not offered"}});
    if (r.auth_before_tls && *r.auth_before_tls)
      out.facts.push_back({"AUTH", {"offered before TLS: credentials could be sent unencrypted"}});
    if (r.tls) tls_facts(*r.tls, module, out.facts);
    out.check["starttlsOffered"] = r.starttls_offered ? Json(*r.starttls_offered) : Json(nullptr);
    out.check["tls"] = r.tls ? tls_json(*r.tls) : Json(nullptr);
    if (r.tls_established) out.tags.push_back("tls");
    if (r.tls && r.tls->leaf_days_to_expiry) {
      double days = *r.tls->leaf_days_to_expiry;
      // Cut, not rounded, like every whole-day count: 4.999 is 4.99, "4 days".
      out.healthz["daysToExpiry"] = rounded(std::trunc(days * 100) / 100, "%.2f");
      out.notes.push_back(r.tls->version + ", certificate valid for " + std::to_string(whole_days(days)) +
                          " more days");
    }
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

Json tls_json(const TlsInfo& tls) {
  Json certificate;  // null
  if (!tls.presented_chain.empty()) {
    const Certificate& leaf = tls.presented_chain.front();
    certificate = {{"subject", json_text(leaf.subject)},
                   {"issuer", json_text(leaf.issuer)},
                   {"serial", json_text(leaf.serial)},
                   {"fingerprintSha256", json_text(leaf.fingerprint_sha256)},
                   {"notBefore", json_text(rfc3339(leaf.not_before))},
                   {"notAfter", json_text(rfc3339(leaf.not_after))}};
  }
  return {{"version", json_text(tls.version)},
          {"cipher", json_text(tls.cipher)},
          {"serverName", json_text(tls.server_name)},
          {"verified", tls.verified},
          {"verifyErrors", json_texts(tls.verify_errors)},
          {"verifyDetail", json_text(tls.verify_detail)},
          {"certificate", std::move(certificate)},
          {"daysLeft", tls.leaf_days_to_expiry ? json_number(*tls.leaf_days_to_expiry) : Json(nullptr)}};
}

const Check& certificate_check() {
  static const CertificateCheck unit;
  return unit;
}

}  // namespace smtp_exporter::probes
