// DANE for SMTP (RFC 7672), a session unit that runs before the connection:
// the validated look-ups of the host's addresses and of its TLSA records
// (libunbound, dnssec.h), then, through the session's TLS hook, OpenSSL's
// DANE for the handshake (SSL_dane_enable, SSL_dane_tlsa_add) and our own
// match of every record against the presented chain (tlsa.h), so a rollover
// can be watched. docs/dane.md.
#include "checks/dane.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gather.h"
#include "smtp_exporter/report.h"
#include "smtp_session.h"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
constexpr std::string_view kName = "dane";
constexpr int kTypeA = 1, kTypeAAAA = 28, kTypeMX = 15, kTypeTLSA = 52, kTypeDNSKEY = 48;

int rank(DnssecStatus s) {
  switch (s) {
    case DnssecStatus::secure: return 0;
    case DnssecStatus::insecure: return 1;
    case DnssecStatus::indeterminate: return 2;
    case DnssecStatus::bogus: return 3;
  }
  return 2;
}
DnssecStatus worst(DnssecStatus a, DnssecStatus b) { return rank(a) >= rank(b) ? a : b; }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// Which answer of the chain failed validation, first in the order they are
// asked (the MX set, then the addresses, then the TLSA records).
std::string bogus_answer(const DaneSection& d) {
  if (d.mx_status == DnssecStatus::bogus) return "the MX records naming " + d.host;
  if (d.address_status == DnssecStatus::bogus) return "the addresses of " + d.host;
  return d.tlsa_name + " TLSA";
}

std::string describe(const ValidatedAnswer& a) {
  if (a.status == DnssecStatus::bogus) return a.why_bogus;
  return a.error.empty() ? std::string(to_string(a.status)) : a.error;
}

// The presented chain as DER, leaf first.
std::vector<Bytes> presented_der(SSL* ssl) {
  std::vector<Bytes> out;
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  for (int i = 0; chain && i < sk_X509_num(chain); ++i) {
    unsigned char* der = nullptr;
    int n = i2d_X509(sk_X509_value(chain, i), &der);
    if (n <= 0) continue;
    out.emplace_back(der, der + n);
    OPENSSL_free(der);
  }
  return out;
}

std::string records_text(const std::vector<DaneRecord>& records) {
  std::string out;
  for (const auto& r : records) out += (out.empty() ? "" : "; ") + to_text(r.record);
  return out;
}

std::atomic<std::uint64_t> background_generation{0};
std::atomic<int> anchor_ok{-1};  // -1: not checked (no module uses dane)

// The /metrics self-test: the anchor's own zone must validate (its DNSKEY
// secure), or every probe's "insecure" could be a broken validator's.
asio::awaitable<void> self_test(ValidatorOptions options, std::uint64_t generation) {
  auto executor = co_await asio::this_coro::executor;
  std::string zone = anchor_zone(options);
  while (generation == background_generation) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    ValidatedAnswer a = co_await validated_lookup(options, zone, kTypeDNSKEY, deadline);
    if (generation != background_generation) co_return;
    anchor_ok = a.status == DnssecStatus::secure && a.havedata ? 1 : 0;
    asio::steady_timer wait(executor, std::chrono::minutes(5));
    boost::system::error_code ec;
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

class Dane final : public Check {
 public:
  std::string_view name() const override { return kName; }
  Phase phase() const override { return Phase::session; }

  asio::awaitable<Next> run(CheckContext& context) const override {
    SmtpSession& s = *context.session;
    const ProbeRequest& request = context.request;
    boost::system::error_code ec;
    asio::ip::make_address(request.host, ec);
    if (!ec) {
      s.note(LogEntry::Kind::info, "DANE: " + request.host + " is an address; TLSA records need a host name");
      co_return Next::go_on;
    }
    auto started = Clock::now();
    ValidatorOptions options = validator_options(request.module.dns);
    auto deadline = context.deadline.at();
    DaneSection section;
    section.host = lower(request.host);

    // The host's addresses (RFC 7672 §2.2.2: their status decides whether
    // TLSA applies, and a CNAME makes its target the first TLSA base), and
    // for an MX host the MX answer that named it (§2.2.1), at once.
    std::string host = section.host;
    std::string domain = lower(request.mail_domain);
    const std::string* names[] = {&host, &host, &domain};
    const int types[] = {kTypeA, kTypeAAAA, kTypeMX};
    std::vector<ValidatedAnswer> answers = co_await gather<ValidatedAnswer>(
        domain.empty() ? 2 : 3, [&](std::size_t i) { return validated_lookup(options, *names[i], types[i], deadline); });
    if (answers.size() == 3) {
      const ValidatedAnswer& mx = answers[2];
      section.mx_status = mx.status;
      if (mx.status == DnssecStatus::bogus || mx.status == DnssecStatus::indeterminate) {
        std::string why = describe(mx);
        section.detail = why;
        FailureReason reason =
            mx.status == DnssecStatus::bogus ? FailureReason::dnssec_bogus : FailureReason::tlsa_lookup_error;
        result_of(s, std::move(section));
        s.fail(Stage::resolve, reason, "validated look-up of the MX records of " + domain + ": " + why);
        co_return Next::end;
      }
    }
    std::vector<ValidatedAnswer> addresses(answers.begin(), answers.begin() + 2);
    section.address_status = DnssecStatus::secure;
    bool any_answer = false;
    for (const auto& a : addresses) {
      if (a.status == DnssecStatus::indeterminate) continue;  // judged below: one family may fail
      any_answer = true;
      section.address_status = worst(section.address_status, a.status);
      if (a.status == DnssecStatus::bogus) section.detail = a.why_bogus;
    }
    if (!any_answer) {
      section.address_status = DnssecStatus::indeterminate;
      section.detail = describe(addresses[0]);
    }
    std::string canonical = host;
    for (const auto& a : addresses)
      if (a.havedata && !a.canonname.empty() && lower(a.canonname) != host) canonical = lower(a.canonname);

    if (section.address_status == DnssecStatus::bogus) {
      std::string detail = "DNSSEC validation of the addresses of " + host + " failed: " + section.detail;
      result_of(s, std::move(section));
      s.fail(Stage::resolve, FailureReason::dnssec_bogus, detail);
      co_return Next::end;
    }
    if (section.address_status == DnssecStatus::indeterminate) {
      std::string detail = "validated look-up of the addresses of " + host + ": " + section.detail;
      result_of(s, std::move(section));
      s.fail(Stage::resolve, FailureReason::tlsa_lookup_error, detail);
      co_return Next::end;
    }

    // TLSA: at the CNAME target first when the addresses are secure, then
    // at the name itself (RFC 7672 §2.2.2).
    std::string port = std::to_string(request.port);
    std::vector<std::string> bases;
    if (canonical != host && section.address_status == DnssecStatus::secure) bases.push_back(canonical);
    bases.push_back(host);
    ValidatedAnswer tlsa;
    for (const auto& base : bases) {
      section.tlsa_name = "_" + port + "._tcp." + base;
      section.host = base;
      tlsa = co_await validated_lookup(options, section.tlsa_name, kTypeTLSA, deadline);
      if (tlsa.havedata || tlsa.status != DnssecStatus::secure) break;
    }
    section.tlsa_status = tlsa.status;
    if (tlsa.status == DnssecStatus::bogus) {
      std::string detail = "DNSSEC validation of " + section.tlsa_name + " TLSA failed: " + tlsa.why_bogus;
      section.detail = tlsa.why_bogus;
      result_of(s, std::move(section));
      s.fail(Stage::resolve, FailureReason::dnssec_bogus, detail);
      co_return Next::end;
    }
    if (tlsa.status == DnssecStatus::indeterminate) {
      std::string detail = "validated look-up of " + section.tlsa_name + " TLSA: " + describe(tlsa);
      section.detail = describe(tlsa);
      result_of(s, std::move(section));
      s.fail(Stage::resolve, FailureReason::tlsa_lookup_error, detail);
      co_return Next::end;
    }
    int malformed = 0;
    for (const auto& rdata : tlsa.rdata) {
      auto record = parse_tlsa_rdata(rdata.data(), rdata.size());
      if (!record) {
        ++malformed;
        continue;
      }
      section.records.push_back({*record, usable(*record), -1});
    }
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::string found = section.records.empty() ? "no TLSA records" : records_text(section.records);
    s.note(LogEntry::Kind::info, "DANE: " + section.tlsa_name + " (" + std::string(to_string(section.tlsa_status)) +
                                     "), addresses of " + host + " " + std::string(to_string(section.address_status)) +
                                     (section.mx_status ? ", MX of " + domain + " " + std::string(to_string(*section.mx_status)) : "") +
                                     ": " + found + (malformed ? " (" + std::to_string(malformed) + " malformed)" : "") + " in " +
                                     std::to_string(seconds) + "s");
    if (!section.records.empty()) {
      if (!section.applies())
        s.note(LogEntry::Kind::info, "DANE: the chain of answers (MX, addresses, TLSA) is insecure: senders ignore these records");
      s.set_tls_hook(hook(s, section, host, canonical));
    }
    result_of(s, std::move(section));
    co_return Next::go_on;
  }

  void series(const ProbeResult& result, std::vector<Series>& out) const override {
    if (result.mx_hosts.empty()) {
      host_series(result, {}, out);
      return;
    }
    for (const auto& h : result.mx_hosts) host_series(h.result, {{"mx", h.exchange}, {"ip", h.ip}}, out);
  }

  // The chain of answers, each record and whether it matches, and what
  // OpenSSL's DANE decided (the host's; a mail domain's hosts are in the MX
  // unit's lines and in the series).
  void report(const ProbeResult& result, const config::Module&, Report& out) const override {
    const auto* s = section<DaneSection>(result, kName);
    if (!s) return;
    Fact fact{"DANE", {}};
    std::string chain = "DNSSEC " + std::string(to_string(s->status())) + " (TLSA " +
                        std::string(to_string(s->tlsa_status)) + ", addresses " +
                        std::string(to_string(s->address_status)) +
                        (s->mx_status ? ", MX " + std::string(to_string(*s->mx_status)) : "") + ")";
    if (!s->detail.empty()) chain += ": " + safe_text(s->detail);
    fact.lines.push_back(safe_text(s->tlsa_name) + ": " + chain);
    Json records = Json::array();
    for (const auto& r : s->records) {
      std::string state = !r.usable ? "unusable" : !s->handshake ? "not tried" : r.depth >= 0 ? "matches at depth " + std::to_string(r.depth) : "does not match";
      fact.lines.push_back(safe_text(to_text(r.record)) + " (" + state + ")");
      records.push_back({{"usage", r.record.usage},
                         {"selector", r.record.selector},
                         {"matchingType", r.record.matching_type},
                         {"usable", r.usable},
                         {"matchDepth", r.depth >= 0 ? Json(r.depth) : Json(nullptr)}});
    }
    if (s->records.empty()) fact.lines.push_back("no TLSA records");
    if (s->handshake)
      fact.lines.push_back(std::string(s->verified ? "authenticated by DANE" : "not authenticated by DANE") +
                           (s->applies() ? (s->rollover_ready() ? "; ready for a key rollover" : "; not ready for a key rollover") : ""));
    out.facts.push_back(std::move(fact));
    out.check["dane"] = {{"tlsaName", json_text(s->tlsa_name)},
                         {"dnssecStatus", json_text(to_string(s->status()))},
                         {"records", std::move(records)},
                         {"usableRecords", s->usable_count()},
                         {"matchingRecords", s->matching_count()},
                         {"verified", s->verified},
                         {"rolloverReady", s->rollover_ready()}};
    out.healthz["daneVerified"] = s->verified;
  }

  void findings(const ProbeResult& result, const config::Module&, std::vector<Finding>& out) const override {
    host_findings(result, result, out);
    for (const auto& h : result.mx_hosts) host_findings(result, h.result, out);
  }

  const std::vector<Remediation>& remediations() const override {
    static const std::vector<Remediation> entries{
        {"dane/mismatch",
         "No usable TLSA record matches the server's certificate",
         {"The certificate or its key changed (a renewal with a new key, e.g. certbot without --reuse-key) and the "
          "TLSA records still name the old one: every DANE-enforcing sender defers mail to {host}, then bounces it.",
          "The TLSA record was published with a typo, or with the digest of another host's certificate."},
         {"Compute the 3 1 1 digest of the key the server presents now: openssl s_client -starttls smtp -connect "
          "{host}:{port} </dev/null 2>/dev/null | openssl x509 -noout -pubkey | openssl pkey -pubin -outform DER | "
          "openssl dgst -sha256 -hex",
          "Of a certificate file: openssl x509 -in CERT.pem -noout -pubkey | openssl pkey -pubin -outform DER | "
          "openssl dgst -sha256 -hex",
          "Publish _{port}._tcp.{host}. IN TLSA 3 1 1 <digest> in the signed zone, wait for the TTL, then check: "
          "dig +dnssec TLSA _{port}._tcp.{host}",
          "Or, if the old key is still at hand, put it back on the server until the new record is published."},
         {},
         {}},
        {"dane/dnssec_bogus",
         "DNSSEC validation of the MX, address or TLSA records fails",
         {"An answer DANE relies on (the mail domain's MX records, the host's A/AAAA records or its TLSA records) "
          "is signed but does not validate: expired RRSIGs (the zone is no longer re-signed), a DS at the parent "
          "that matches no DNSKEY after a key rollover, or a broken signer. Validating senders treat the name as "
          "nonexistent and defer mail."},
         {"See which answer and why (the finding names it): delv @1.1.1.1 MX {domain}, delv @1.1.1.1 A {host}, "
          "delv @1.1.1.1 TLSA _{port}._tcp.{host} (or drill -S / https://dnsviz.net).",
          "Re-sign the zone (ldns-signzone, dnssec-signzone, or the DNS provider's signer) and check the "
          "signatures' expiry: dig +dnssec SOA ZONE.",
          "After a KSK rollover: compare the parent's DS with the zone's DNSKEY (dig DS ZONE, dig DNSKEY ZONE)."},
         {},
         {}},
        {"dane/tlsa_lookup_error",
         "The validated look-up of the MX, address or TLSA records gave no answer",
         {"The resolver (the [dns] servers, or the root servers without them) timed out, refused, or answered "
          "SERVFAIL for the mail domain's MX records, the host's addresses or its TLSA records; their DNSSEC "
          "status is unknown, so DANE cannot be judged.",
          "The validator itself cannot validate: see smtp_exporter_dnssec_trust_anchor_ok on /metrics."},
         {"Ask by hand: dig +dnssec MX {domain}, dig +dnssec A {host}, dig +dnssec TLSA _{port}._tcp.{host}",
          "Check the trust anchor: /usr/share/dns/root.key (package dns-root-data) or [dns] trust_anchor_file."},
         {},
         {}},
        {"dane/rollover_not_ready",
         "Only the current key is published: a key change will break mail",
         {"Every usable TLSA record matches the certificate presented today, and none is published for the next "
          "key: when the key changes, DANE-enforcing senders defer mail until the new record is published and its "
          "TTL has passed."},
         {"Publish the next key first: generate it, add _{port}._tcp.{host}. IN TLSA 3 1 1 <digest of the new "
          "key> beside the current record, wait at least twice the TTL, then deploy the new key, then remove the "
          "old record.",
          "Or publish a DANE-TA record (2 1 1) of the issuing CA beside the DANE-EE one.",
          "certbot: renew with --reuse-key so the 3 1 1 digest stays the same."},
         {},
         {}},
        {"dane/insecure_tlsa",
         "TLSA records are published in an insecure chain of answers",
         {"The zone of the TLSA records, or of the host's addresses, is not signed (or its DS is missing at the "
          "parent): senders ignore the records, so they protect nothing."},
         {"Sign the zone and publish its DS at the registrar; check with dig +dnssec TLSA _{port}._tcp.{host} (the "
          "ad flag from a validating resolver)."},
         {},
         {}},
        {"dane/no_usable_records",
         "Only unusable TLSA records are published",
         {"RFC 7672 §3.1: for SMTP only DANE-TA(2) and DANE-EE(3) count; PKIX-TA(0) and PKIX-EE(1) records are "
          "unusable. Senders still require TLS but do not authenticate the server."},
         {"Replace them with 3 1 1 records (the digest of the server's public key): openssl x509 -in CERT.pem "
          "-noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -hex"},
         {},
         {}},
    };
    return entries;
  }

  void process_series(std::vector<Series>& out) const override {
    int ok = anchor_ok;
    if (ok < 0) return;
    out.push_back({"smtp_exporter_dnssec_trust_anchor_ok",
                   "Whether the DNSSEC validator of the dane unit validates its trust anchor's zone (1) or not (0).",
                   {},
                   static_cast<double>(ok)});
  }

  void start(const asio::any_io_executor& executor, const config::Config& config) const override {
    std::uint64_t generation = ++background_generation;
    bool used = std::any_of(config.modules.begin(), config.modules.end(),
                            [](const auto& m) { return m.second.checks.contains(std::string(kName)); });
    if (!used) {
      anchor_ok = -1;
      return;
    }
    asio::co_spawn(asio::make_strand(executor), self_test(validator_options(config.dns), generation), asio::detached);
  }

 private:
  static void result_of(SmtpSession& s, DaneSection section) {
    s.result.sections.insert_or_assign(std::string(kName), std::move(section));
  }

  // OpenSSL's DANE for the handshake, and the per-record match after it.
  static TlsHook hook(SmtpSession& s, const DaneSection& section, const std::string& host,
                      const std::string& canonical) {
    ProbeResult* result = &s.result;
    std::vector<TlsaRecord> records;
    for (const auto& r : section.records)
      if (r.usable) records.push_back(r.record);
    bool enforce = section.applies() && !records.empty();
    std::string base = section.host;
    TlsHook h;
    if (enforce) {
      h.before = [records, base, host, canonical](SSL* ssl) {
        // RFC 7672 §3.2: SNI and the reference identifiers are the TLSA base
        // domain and the MX host name; DANE-EE checks no name (§3.1.1).
        SSL_set_tlsext_host_name(ssl, base.c_str());
        if (SSL_dane_enable(ssl, base.c_str()) <= 0) return;
        SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
        for (const std::string& other : {host, canonical})
          if (other != base) SSL_add1_host(ssl, other.c_str());
        for (const auto& r : records)
          SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.matching_type, r.data.data(), r.data.size());
      };
    }
    bool unusable_only = section.applies() && records.empty();
    h.after = [result, enforce, unusable_only](SSL* ssl, const std::vector<int>& x509_errors,
                                               TlsInfo& tls) -> std::optional<std::optional<Failure>> {
      auto* dane = std::any_cast<DaneSection>(&result->sections[std::string(kName)]);
      if (!dane) return std::nullopt;
      dane->handshake = true;
      std::vector<Bytes> chain = presented_der(ssl);
      for (auto& r : dane->records) r.depth = match_depth(r.record, chain);
      if (unusable_only) {
        result->log.push_back({std::chrono::system_clock::now(), LogEntry::Kind::info,
                               "DANE: only unusable TLSA records: TLS is required but not authenticated (RFC 7672 "
                               "§2.2)"});
        return std::optional<Failure>{};
      }
      if (!enforce) return std::nullopt;  // insecure records: the module's PKIX judgment
      std::uint8_t usage = 0, selector = 0, mtype = 0;
      const unsigned char* data = nullptr;
      std::size_t length = 0;
      dane->authority_depth = SSL_get0_dane_authority(ssl, nullptr, nullptr);
      if (SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data, &length) >= 0) dane->authority_usage = usage;
      dane->verified = dane->authority_depth >= 0 && x509_errors.empty() && SSL_get_verify_result(ssl) == X509_V_OK;
      if (dane->verified) {
        tls.verified = true;
        result->log.push_back({std::chrono::system_clock::now(), LogEntry::Kind::info,
                               "DANE: authenticated by a " + std::to_string(dane->authority_usage) + " " +
                                   std::to_string(selector) + " " + std::to_string(mtype) +
                                   " record at depth " + std::to_string(dane->authority_depth)});
        return std::optional<Failure>{};
      }
      std::string problems;
      for (int e : x509_errors)
        problems += std::string(problems.empty() ? "" : ", ") + X509_verify_cert_error_string(e);
      return std::optional<Failure>{Failure{Stage::tls, FailureReason::dane_mismatch,
                                            "no usable TLSA record of " + dane->tlsa_name +
                                                " authenticates the server (" + problems + ")"}};
    };
    return h;
  }

  static void host_series(const ProbeResult& r, const std::vector<std::pair<std::string, std::string>>& extra,
                          std::vector<Series>& out) {
    const auto* d = section<DaneSection>(r, kName);
    if (!d) return;
    auto with = [&](std::vector<std::pair<std::string, std::string>> labels) {
      labels.insert(labels.end(), extra.begin(), extra.end());
      return labels;
    };
    DnssecStatus status = d->status();
    for (auto s : {DnssecStatus::secure, DnssecStatus::insecure, DnssecStatus::bogus, DnssecStatus::indeterminate})
      out.push_back({"probe_smtp_dane_dnssec_status",
                     "The DNSSEC status of the answers DANE relies on (an MX host's MX set, the host's addresses, its TLSA), "
                     "a state set.",
                     with({{"status", std::string(to_string(s))}}), s == status ? 1.0 : 0.0});
    out.push_back({"probe_smtp_dane_tlsa_records", "TLSA records published for the host and port.", with({}),
                   static_cast<double>(d->records.size())});
    out.push_back({"probe_smtp_dane_usable_records",
                   "TLSA records usable for SMTP (RFC 7672: DANE-TA or DANE-EE) from a secure chain of answers.",
                   with({}), static_cast<double>(d->applies() ? d->usable_count() : 0)});
    // What the presented chain says: only once a handshake ran with the
    // records in hand (a server that is down has no mismatch).
    if (!d->handshake) return;
    out.push_back({"probe_smtp_dane_matching_records",
                   "Usable TLSA records that match the chain the server presented.", with({}),
                   static_cast<double>(d->matching_count())});
    out.push_back({"probe_smtp_dane_verified", "Whether the TLS handshake was authenticated by DANE.", with({}),
                   d->verified ? 1.0 : 0.0});
    out.push_back({"probe_smtp_dane_rollover_ready",
                   "Whether a key change can happen without breaking DANE (docs/dane.md has the rule).", with({}),
                   d->rollover_ready() ? 1.0 : 0.0});
    for (const auto& rec : d->records)
      out.push_back({"probe_smtp_dane_tlsa_record_match",
                     "Whether each TLSA record matches the presented chain, and at which depth (none: no match).",
                     with({{"usage", std::to_string(rec.record.usage)},
                           {"selector", std::to_string(rec.record.selector)},
                           {"matching_type", std::to_string(rec.record.matching_type)},
                           {"depth", rec.depth < 0 ? "none" : std::to_string(rec.depth)}}),
                     rec.depth < 0 ? 0.0 : 1.0});
  }

  // Findings of one host's result; a failure of the probe itself is not
  // repeated (it is the verdict already).
  static void host_findings(const ProbeResult& probe, const ProbeResult& r, std::vector<Finding>& out) {
    const auto* d = section<DaneSection>(r, kName);
    if (!d) return;
    auto failed_with = [&](FailureReason reason) {
      return &probe == &r && probe.failure && probe.failure->reason == reason;
    };
    DnssecStatus status = d->status();
    if (status == DnssecStatus::bogus) {
      if (!failed_with(FailureReason::dnssec_bogus))
        out.push_back({"dane/dnssec_bogus", Health::unhealthy,
                       "DNSSEC validation of " + bogus_answer(*d) + " fails: " + d->detail});
      return;
    }
    if (!d->records.empty() && !d->applies() && status == DnssecStatus::insecure) {
      out.push_back({"dane/insecure_tlsa", Health::degraded,
                     "TLSA records of " + d->tlsa_name + " are in an insecure chain of answers: senders ignore them"});
      return;
    }
    if (!d->applies() || !d->handshake) return;
    if (d->usable_count() == 0) {
      out.push_back({"dane/no_usable_records", Health::degraded,
                     d->tlsa_name + " has only unusable TLSA records (usage 0 or 1): TLS is not authenticated"});
      return;
    }
    if (!d->verified || d->matching_count() == 0) {
      if (!failed_with(FailureReason::dane_mismatch))
        out.push_back({"dane/mismatch", Health::unhealthy,
                       "no usable TLSA record of " + d->tlsa_name + " matches the certificate: mail is deferred"});
      return;
    }
    if (!d->rollover_ready())
      out.push_back({"dane/rollover_not_ready", Health::degraded,
                     "only the current key of " + d->host + " is in " + d->tlsa_name +
                         ": a key change will break mail (publish the next key first)"});
  }
};

}  // namespace

DnssecStatus DaneSection::status() const {
  DnssecStatus s = worst(address_status, tlsa_status);
  return mx_status ? worst(*mx_status, s) : s;
}

int DaneSection::usable_count() const {
  return static_cast<int>(std::count_if(records.begin(), records.end(), [](const DaneRecord& r) { return r.usable; }));
}

int DaneSection::matching_count() const {
  return static_cast<int>(
      std::count_if(records.begin(), records.end(), [](const DaneRecord& r) { return r.usable && r.depth >= 0; }));
}

bool DaneSection::rollover_ready() const {
  if (!applies()) return false;
  std::vector<TlsaRecord> all;
  std::vector<int> depths;
  for (const auto& r : records) {
    all.push_back(r.record);
    depths.push_back(r.depth);
  }
  return probes::rollover_ready(all, depths);
}

const Check& dane_check() {
  static const Dane unit;
  return unit;
}

}  // namespace smtp_exporter::probes
