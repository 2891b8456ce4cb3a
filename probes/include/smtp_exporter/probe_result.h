// What one probe found: plain data, filled by the probe and read by the
// metrics renderer and the debug page. No sockets, HTTP or Prometheus here.
#pragma once

#include <any>
#include <chrono>
#include <functional>
#include <map>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smtp_exporter::probes {

// The steps of the conversation, in order. Also the `stage` of a failure and
// the `phase` label of probe_smtp_duration_seconds. `tls` is the handshake
// (right after connect with implicit TLS, after STARTTLS otherwise);
// `starttls` is the STARTTLS command, whose failures include its handshake.
// auth, mail, rcpt and data run only when the module has [auth] / [send].
// receive: finding the test message in the mailbox (the `receive` unit).
// mta_sts: the MTA-STS unit of a mail domain (TXT records, the policy fetch).
enum class Stage { mx, resolve, connect, tls, banner, ehlo, starttls, quit, auth, mail, rcpt, data, receive, mta_sts };
std::string_view to_string(Stage);

enum class FailureReason {
  nxdomain,         // DNS: the name does not exist
  nodata,           // DNS: the name exists but has no address (of a usable family)
  servfail,         // DNS: the resolver failed (SERVFAIL)
  dns_error,        // DNS: any other resolver failure
  refused,          // TCP connection refused (stage connect), or DNS query refused (stage resolve)
  unreachable,      // network or host unreachable
  connection_error,  // any other socket error (refused, unreachable, closed are the specific ones)
  timeout,          // the probe deadline passed during this stage
  closed,           // the server closed (or reset) the connection
  protocol_error,   // the bytes received are not a valid SMTP reply
  unexpected_code,  // a valid reply with a code other than the expected one
  null_mx,          // the domain says it accepts no mail (MX 0 ".", RFC 7505)
  no_reachable_mx,  // no host of the MX set could be connected to
  not_offered,      // STARTTLS required but not advertised in EHLO; AUTH or no common mechanism
  tls_error,        // the TLS handshake failed
  certificate_error,  // the handshake worked but the certificate did not verify
  plaintext_auth_refused,  // AUTH configured but no TLS, and allow_plaintext_auth is off
  auth_error,              // the server rejected the credentials (535, other 5xx)
  temporary_failure,       // a 4xx reply (auth, mail, rcpt, data)
  permanent_failure,       // a 5xx reply (mail, rcpt, data)
  dane_mismatch,      // DANE (RFC 7672): secure TLSA records, none of the usable ones authenticates the server
  dnssec_bogus,       // DANE: an answer the check relies on failed DNSSEC validation
  tlsa_lookup_error,  // DANE: the validated look-up of TLSA or the host's addresses gave no answer
  // The receive side ([receive]): the mailbox could not be reached, refused
  // the login, or answered something else than expected; or the message did
  // not arrive within the receive timeout; or it arrived, in the Junk
  // folder (health degraded: the mail is there, the receiver distrusts it).
  imap_connect,
  imap_auth,
  imap_error,
  not_delivered,
  delivered_to_junk,
  // MTA-STS (probes/checks/mta_sts.cpp, stage mta_sts)
  txt_missing,               // no _mta-sts TXT record starting with v=STSv1
  txt_invalid,               // more than one, or a malformed one
  policy_fetch_error,        // the policy host: resolve, connect, TLS, HTTP, deadline
  policy_certificate_error,  // the policy host's certificate is not valid for mta-sts.DOMAIN
  policy_http_status,        // not HTTP 200 (redirects are not followed)
  policy_content_type,       // not text/plain
  policy_too_large,          // over 64 KiB
  policy_invalid,            // the body does not parse as an RFC 8461 policy
};
std::string_view to_string(FailureReason);

struct Failure {
  Stage stage;
  FailureReason reason;
  std::string detail;  // one human-readable line, safe to show
};

// One EHLO keyword line: "SIZE 10240000" → {"SIZE", "10240000"}.
struct EhloExtension {
  std::string keyword;  // upper-cased
  std::string params;
};

// One certificate as presented by the server.
struct Certificate {
  std::int64_t not_before = 0;  // Unix seconds
  std::int64_t not_after = 0;   // Unix seconds
  std::string subject;          // RFC 2253, e.g. "CN=mail.example.com"
  std::string issuer;
  std::string serial;              // lower-case hex
  std::string fingerprint_sha256;  // lower-case hex of the DER encoding
};

struct TlsInfo {
  std::string version;  // "TLS 1.3" (blackbox_exporter's spelling)
  std::string cipher;   // OpenSSL name, e.g. "TLS_AES_256_GCM_SHA384"
  std::string server_name;  // the name verified against (SNI when not an IP)
  bool verified = false;
  // Every verification problem found, as short reasons: expired,
  // not_yet_valid, self_signed, unknown_ca, hostname_mismatch, ... (unique).
  std::vector<std::string> verify_errors;
  std::string verify_detail;  // OpenSSL's text for the first problem
  std::vector<Certificate> presented_chain;  // leaf first, as sent
  std::vector<Certificate> verified_chain;   // leaf to trust anchor, when verified
  // Leaf notAfter minus the time of the probe, in days; negative once expired.
  std::optional<double> leaf_days_to_expiry;
};

// Step-by-step record of the conversation for `&debug=true`.
struct LogEntry {
  enum class Kind { info, sent, received, error };
  std::chrono::system_clock::time_point at;
  Kind kind;
  std::string text;  // printable; never holds a secret
};

// Health in three states, as health-check endpoints report it; see
// smtp_exporter/health.h for the rules.
enum class Health { healthy, degraded, unhealthy };
std::string_view to_string(Health);  // "healthy"
std::string_view title(Health);      // "Healthy", as /healthz and the check report write it

// One thing found that makes a result worse than healthy. `key` names its
// remediation entry ("fcrdns/no_ptr", "health/cert_expiring"); empty for
// the probe's failure, whose entries follow from its stage and reason.
struct Finding {
  std::string key;
  Health severity = Health::degraded;
  std::string text;  // one sentence, safe to show
};

struct HealthVerdict {
  Health status = Health::healthy;
  // One sentence per finding that made it worse than healthy, worst first.
  std::vector<std::string> findings;
  // The same findings, in the same order, with their keys and severities.
  std::vector<Finding> entries = {};
};

// Days as people read them, everywhere (check, /healthz, findings): whole
// days toward zero, so 4.99 days left is "4 days" and an expiry 2.01 days
// ago is "2 days ago"; /healthz's two decimals are cut the same way (4.99).
inline long whole_days(double days) { return static_cast<long>(days); }

struct MxHost;

// What the MX lookup of a mail domain found, and what each host did.
struct MxInfo {
  struct Record {
    std::string exchange;
    int preference = 0;
  };
  std::string domain;           // the mail domain looked up
  std::vector<Record> records;  // sorted by preference, then name
  bool implicit = false;  // no MX: the domain's own addresses (RFC 5321 §5.1)
  bool null_mx = false;   // MX 0 "." (RFC 7505): no mail accepted
  int reachable = 0;      // hosts with at least one address that accepted TCP
  bool dns_only = false;  // quit_after = "mx": the hosts were not probed
};

struct ProbeResult {
  bool success = false;
  double duration_seconds = 0;
  double timeout_seconds = 0;  // the deadline actually applied
  std::optional<int> ip_protocol;  // 4 or 6, once an address was chosen
  std::string ip;                  // the address connected to
  // Time spent in each stage that ran, in order.
  std::vector<std::pair<Stage, double>> stage_seconds;
  std::optional<double> banner_latency_seconds;  // TCP established → greeting complete
  std::optional<int> banner_code;
  std::optional<int> last_code;  // code of the last reply seen
  std::vector<std::string> banner_lines;
  std::string ehlo_greeting;  // first line of the last EHLO reply: "mx.example.com Hello ..."
  std::vector<EhloExtension> extensions;
  bool helo_fallback = false;  // EHLO was rejected and HELO worked
  std::optional<std::uint64_t> size_limit;  // SIZE parameter; 0 = no fixed limit
  std::vector<std::string> auth_mechanisms;
  // TLS: whether STARTTLS was offered (known once EHLO ran in plain text),
  // whether AUTH was offered before TLS (credentials could be sent in clear),
  // and the session's facts once a handshake completed.
  std::optional<bool> starttls_offered;
  std::optional<bool> auth_before_tls;
  std::optional<TlsInfo> tls;
  bool tls_established = false;
  std::optional<Failure> failure;
  // SMTP AUTH and test message ([auth], [send] in the module).
  std::optional<bool> auth_success;  // set when the module configures auth
  std::string auth_mechanism;        // the SASL mechanism used, once chosen
  struct Recipient {
    std::string address;
    int code = 0;  // reply to RCPT TO
  };
  std::vector<Recipient> recipients;
  std::string enhanced_status_code;  // RFC 3463 "5.7.8" of the last reply carrying one
  std::string message_token;         // the 6-character token of the message sent
  bool message_accepted = false;     // 250 after the message data
  // When that 250 arrived (the delivery round trip starts here) and the
  // wall-clock time the message carries in X-Smtp-Exporter-Token (sent=).
  std::optional<std::chrono::steady_clock::time_point> message_accepted_at;
  std::int64_t message_sent_unix = 0;
  // Conversations run (retries after 4xx); set for modules with auth or send.
  std::optional<int> attempts;
  // The temporary failure of each attempt that was retried, in order.
  std::vector<Failure> retried;
  HealthVerdict health;  // set when the probe finishes
  std::vector<LogEntry> log;
  // The check units' parts of the result (smtp_exporter/check.h), by unit name.
  std::map<std::string, std::any, std::less<>> sections;
  // Mail domain probes only: the MX set and one probe per host address.
  std::optional<MxInfo> mx;
  std::vector<MxHost> mx_hosts;

  std::optional<double> seconds_in(Stage stage) const {
    for (const auto& [s, seconds] : stage_seconds)
      if (s == stage) return seconds;
    return std::nullopt;
  }
};

// One address of one MX host, probed like any single target.
struct MxHost {
  std::string exchange;
  int preference = 0;
  std::string ip;
  bool reachable = false;  // TCP connected (whatever happened next)
  ProbeResult result;
};

}  // namespace smtp_exporter::probes
