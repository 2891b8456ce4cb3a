// The exporter's configuration: probe modules, parsed from TOML and validated.
// Plain data; nothing here knows about sockets, HTTP or Prometheus.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <optional>
#include <stdexcept>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter::config {

using Duration = std::chrono::milliseconds;

// none: plain SMTP; starttls: STARTTLS required; implicit: TLS from the first
// byte (port 465); opportunistic: STARTTLS when offered, as MTAs do.
enum class TlsMode { none, starttls, implicit, opportunistic };
enum class IpProtocol { ip4, ip6 };
enum class TlsVersion { tls10, tls11, tls12, tls13 };
// The steps of a conversation, in order, as `quit_after` names them.
// Where a probe may stop (quit_after), in order. `mx`: after a mail domain's
// MX lookup, before any SMTP connection (a DNS-only check).
enum class Step { mx, connect, banner, ehlo, tls, auth, mail, rcpt, data };

std::string_view to_string(TlsMode);
std::string_view to_string(IpProtocol);
std::string_view to_string(TlsVersion);
std::string_view to_string(Step);

// Client-side TLS settings ([modules.NAME.tls_config], as blackbox_exporter).
struct TlsConfig {
  std::string server_name;  // SNI and verification name; empty: the target host
  std::string ca_file;      // empty: the system's trust store
  std::string cert_file;    // client certificate (with key_file)
  std::string key_file;
  bool insecure_skip_verify = false;
  std::optional<TlsVersion> min_version;
  std::optional<TlsVersion> max_version;
  std::string ciphers;  // OpenSSL cipher list for TLS 1.2 and below; empty: OpenSSL's default

  bool operator==(const TlsConfig&) const = default;
};

// Name resolution (c-ares): [dns] for every module, dns_* keys per module.
struct DnsConfig {
  std::vector<std::string> servers;  // "IP", "IP:PORT" or "[IPV6]:PORT"; empty: /etc/resolv.conf
  Duration timeout{0};               // first try, doubled on each retry; 0: resolv.conf's
  int tries = 0;                     // 0: resolv.conf's
  // [dns] trust_anchor_file: DS or DNSKEY records (zone-file format) the
  // DNSSEC validator of the dane unit trusts; empty: the root's
  // (/usr/share/dns/root.key, dns-root-data). Not a per-module key.
  std::string trust_anchor_file;
};

// A login ([auth], [receive]): a user name and its password. The secret is
// read when the config is loaded and kept here only: to_toml() prints the
// file or variable name, never the password, and the probe never logs it.
struct Credentials {
  std::string username;
  std::string password_file;  // exactly one of password_file and password_env
  std::string password_env;
  std::string password;  // the secret itself
  // Loaded with Secrets::when_used and the variable unset: the error that
  // loading would have thrown ("FILE:LINE:COL: ...password_env: ..."), for
  // the one command that uses this module to report.
  std::string password_error;
};

// SMTP AUTH ([modules.NAME.auth]).
struct AuthConfig : Credentials {
  // SASL mechanisms the probe may use, in order of preference.
  std::vector<std::string> mechanisms{"CRAM-MD5", "LOGIN", "PLAIN"};
  // Send credentials over a connection without TLS.
  bool allow_plaintext_auth = false;
};

// A test message ([modules.NAME.send]): MAIL FROM, RCPT TO, DATA.
struct SendConfig {
  std::string from;
  std::vector<std::string> to;
  std::string subject_prefix = "[smtp_exporter]";
  std::string body = "Test message sent by smtp_exporter to check mail delivery.\n";
  std::vector<std::pair<std::string, std::string>> headers;  // extra header lines, in name order
};

// [modules.NAME.receive]: where the test message of [send] must arrive, for
// the `receive` unit (docs/delivery.md): an IMAP mailbox or a Maildir.
struct ReceiveConfig : Credentials {  // the IMAP login (empty with maildir)
  enum class ImapTls { implicit, starttls };
  // IMAP: "host:port" (empty with maildir).
  std::string imap;
  std::string imap_host;  // parsed from `imap`, IPv6 without brackets
  std::uint16_t imap_port = 0;
  ImapTls tls = ImapTls::implicit;
  TlsConfig tls_config;  // CA, client certificate, server_name for the IMAP server
  // The Junk folder by name; empty: the one LIST flags \Junk (RFC 6154).
  std::string junk_folder;
  // Maildir: the directory holding new/ and cur/ (its Junk folder: .Junk/).
  std::string maildir;
  // How long to wait for arrival after the 250 to DATA.
  Duration timeout = std::chrono::seconds(60);
  // Polling interval when the server offers no IDLE (and for Maildir's
  // rescan when inotify is not available).
  Duration poll_interval = std::chrono::seconds(1);
  // Authentication-Results fields of this authserv-id only are read; empty:
  // none (the receiver's decision is not reported).
  std::string authserv_id;
};

// [dnsbl]: the DNS blocklists (RFC 5782) the `dnsbl` unit asks about every
// address a probe connects to, and about the outbound `addresses` (docs/dnsbl.md).
struct DnsblZone {
  std::string name;  // as listed in `zones`: the `zone` label and what the operator reads
  // Spamhaus DQS (or any keyed list): queries go to REVERSED.KEY.NAME. The key
  // comes from key_file or key_env and is never shown (to_toml writes only
  // the file or variable name; no log, metric or error message holds it).
  std::string key_file;
  std::string key_env;
  std::string key;
  bool degraded = false;  // severity = "degraded": a listing makes a probe degraded, not unhealthy
};

struct DnsblConfig {
  std::vector<DnsblZone> zones;        // at least one
  std::vector<std::string> addresses;  // outbound IPs looked up in the background, shown on /metrics
  // A zone is not asked again about the same address, nor tested (RFC 5782
  // §5), more often than this; answers are cached by their TTL up to it.
  Duration min_interval = std::chrono::minutes(5);
};

// One probe recipe, selected by `module=NAME` on /probe.
struct Module {
  std::uint16_t port = 25;
  TlsMode tls = TlsMode::none;
  TlsConfig tls_config;
  Duration timeout = std::chrono::seconds(10);
  // Argument of EHLO/HELO; empty means the host's FQDN, filled in at startup.
  std::string ehlo_name;
  int expect_banner_code = 220;
  // Preferred address family; with fallback, the other one is used when the
  // name has no address of the preferred family (blackbox_exporter semantics).
  IpProtocol ip_protocol = IpProtocol::ip6;
  bool ip_protocol_fallback = true;
  DnsConfig dns;  // [dns] with this module's dns_* keys applied
  // The target is a mail domain: probe every host of its MX set.
  bool mx = false;
  // The check units this module turns on (`fcrdns = true`, ...): the names of
  // config/module.cpp's kCheckSwitches, as probes/checks.cpp registers them.
  std::set<std::string> checks;
  // [dnsbl] of the configuration (null without one), shared by every module:
  // the `dnsbl` unit reads it through the request's module.
  std::shared_ptr<const DnsblConfig> dnsbl;
  // The mta_sts unit: how long a fetched policy is reused per domain (0s:
  // fetched on every probe), and the policy host's port, 443 by RFC 8461
  // §3.3: another value exists only for tests on unprivileged ports.
  Duration mta_sts_cache = std::chrono::seconds(60);
  std::uint16_t mta_sts_policy_port = 443;
  // Health (probe_smtp_health): slower greetings and certificates closer to
  // expiry than these make a working server "degraded". 0s: no latency limit.
  Duration degraded_banner_latency = std::chrono::seconds(2);
  int degraded_cert_days = 14;
  std::optional<AuthConfig> auth;  // authenticate after EHLO (and STARTTLS)
  std::optional<SendConfig> send;  // then send a test message
  std::optional<ReceiveConfig> receive;  // and find it in the mailbox (needs send)
  // A 4xx reply to AUTH, MAIL, RCPT or DATA (greylisting) starts the whole
  // conversation again, up to `retries` more times, `retry_delay` apart,
  // within the probe's deadline.
  int retries = 0;
  Duration retry_delay = std::chrono::seconds(5);
  // Stop after this step with QUIT (e.g. rcpt: check that recipients are
  // accepted without sending). nullopt: every configured step runs.
  std::optional<Step> quit_after;
  // Expected replies per command, by stage name (ehlo, starttls, auth, mail,
  // rcpt, data): patterns like "554" or "5xx". A matching refusal ends the
  // probe successfully (negative checks: relaying denied, AUTH refused
  // before TLS); any other reply fails it.
  std::map<std::string, std::vector<std::string>> expect_code;
};

// Whether `code` matches one of `patterns` ("554", "55x", "5xx").
bool code_matches(const std::vector<std::string>& patterns, int code);

// Agent mode: a target the exporter probes on its own, on an interval
// ([[targets]]), served on /metrics and /healthz.
struct ScheduledTarget {
  std::string name;    // unique; the target_name label and the /healthz check name
  std::string target;  // as /probe's target parameter (HOST[:PORT], mx:DOMAIN)
  std::string module;
  Duration interval = std::chrono::seconds(60);
  std::map<std::string, std::string> labels;  // added to its series on /metrics
  std::string where;  // "FILE:LINE:COLUMN" of its target key, for errors found later
  std::vector<std::string> tags = {};         // added to its /healthz check's tags
  std::string description = {};               // what it is, in its /healthz check's data
};

// One entry of [web] allowed_targets, parsed: a host name (exact, or a
// "*." suffix wildcard), or an IP network (an address is a /32 or /128).
struct AllowedTarget {
  enum class Kind { name, wildcard, network };
  Kind kind = Kind::name;
  std::string text;  // as written in the file
  std::string name;  // name: lower case, no trailing dot; wildcard: ".example.org"
  std::array<unsigned char, 16> address{};  // network: IPv4 in the first 4 bytes
  bool ipv6 = false;
  int prefix = 0;
};

// [web]: limits on what HTTP clients may ask for. Empty allowed_targets:
// every target is allowed.
struct WebSettings {
  std::vector<AllowedTarget> allowed_targets;
};

// Parses one allowed_targets entry; nullopt with a one-line `error`.
std::optional<AllowedTarget> parse_allowed_target(std::string_view text, std::string& error);
// Whether /probe may probe `host` (a name, a mail domain, or an IP literal
// without brackets). Names match names only, addresses match networks only:
// a name is never resolved here.
bool target_allowed(const WebSettings& web, std::string_view host);
// [web] as TOML ("" when there is nothing to show).
std::string to_toml(const WebSettings& web);

// [limits]: what keeps an overloaded exporter answering.
struct Limits {
  // /probe requests running at once; above it /probe answers 503 at once
  // instead of queueing. 0: sized for the machine from the open-files limit
  // (exporter/core/open_files.h).
  int max_concurrent_probes = 0;
  // HTTP connections open at once; at the limit the oldest idle keep-alive
  // connection is closed for a new one, and without an idle one the new one
  // is refused. 0: sized from the open-files limit, leaving room for the
  // probes' sockets and for /metrics (exporter/core/open_files.cpp).
  int max_connections = 0;
};

// [limits] as TOML ("" when everything is at its default).
std::string to_toml(const Limits& limits);

struct Config {
  DnsConfig dns;
  std::map<std::string, Module> modules;
  std::vector<ScheduledTarget> targets;
  WebSettings web;  // [web]
  Limits limits;    // [limits]
  std::shared_ptr<const DnsblConfig> dnsbl;  // [dnsbl]; null without one
  // Where the config came from: a file path, or "<built-in defaults>".
  std::string source;
};

// The module used when none is named (/probe without module=, `check`
// without --module): smtp_banner if defined, else the only module; nullopt
// when neither applies.
std::optional<std::string> default_module(const Config& config);

// A configuration error; what() reads "FILE:LINE:COLUMN: KEY: reason".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// When a module's secret must be there. The server and the agent need every
// module's at start; `check` only the module it runs (an unrelated module's
// unset password_env must not stop it): AuthConfig::password_error.
enum class Secrets { required, when_used };

// Reads and validates a TOML config file. Throws ConfigError.
Config load_file(const std::string& path, Secrets secrets = Secrets::required);
// Parses TOML text; `source` names it in error messages. Throws ConfigError.
Config load_string(std::string_view toml, const std::string& source, Secrets secrets = Secrets::required);
// The built-in modules used when no --config.file is given.
Config default_config();

// Prometheus duration ("500ms", "10s", "1m30s"); nullopt when malformed.
std::optional<Duration> parse_duration(std::string_view text);
// Renders a duration back in Prometheus form ("1m30s", "500ms", "0s").
std::string format_duration(Duration d);

// [dnsbl] as TOML ("" without one); the keys themselves are never written.
std::string to_toml(const DnsblConfig& dnsbl);

// The effective configuration as TOML, for the /config page and debug output.
std::string to_toml(const Config& config);
std::string to_toml(const std::string& name, const Module& module);

}  // namespace smtp_exporter::config
