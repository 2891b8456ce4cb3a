// One [modules.NAME] table: its keys, their checks, and its TOML rendering.
#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "module_reader.h"
#include "table_reader.h"
#include "toml_writer.h"

namespace smtp_exporter::config {
namespace {

// Hostname-ish check for ehlo_name: what RFC 5321 allows as a domain or an
// address literal, and never a character that could break the command line.
bool valid_ehlo_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '.' || c == '-' || c == '_' || c == '[' || c == ']' || c == ':'))
      return false;
  }
  return true;
}

constexpr std::pair<std::string_view, TlsMode> kTlsModes[] = {{"none", TlsMode::none},
                                                               {"starttls", TlsMode::starttls},
                                                               {"implicit", TlsMode::implicit},
                                                               {"opportunistic", TlsMode::opportunistic}};
constexpr std::pair<std::string_view, TlsVersion> kTlsVersions[] = {
    {"TLS10", TlsVersion::tls10}, {"TLS11", TlsVersion::tls11}, {"TLS12", TlsVersion::tls12}, {"TLS13", TlsVersion::tls13}};

}  // namespace

TlsConfig read_tls_config(const toml::table& table, const std::string& path, const std::string& file) {
  TableReader reader(table, path, file);
  TlsConfig tls;
  if (auto name = reader.string("server_name")) tls.server_name = *name;
  tls.ca_file = readable_file(reader, "ca_file", file);
  tls.cert_file = readable_file(reader, "cert_file", file);
  tls.key_file = readable_file(reader, "key_file", file);
  if (tls.cert_file.empty() != tls.key_file.empty())
    reader.fail(tls.cert_file.empty() ? "key_file" : "cert_file", "cert_file and key_file must be given together");
  if (auto skip = reader.boolean("insecure_skip_verify")) tls.insecure_skip_verify = *skip;
  if (auto v = reader.string("min_version")) tls.min_version = parse_enum(reader, "min_version", *v, kTlsVersions);
  if (auto v = reader.string("max_version")) tls.max_version = parse_enum(reader, "max_version", *v, kTlsVersions);
  if (tls.min_version && tls.max_version && *tls.min_version > *tls.max_version)
    reader.fail("max_version", "must not be lower than min_version");
  if (auto ciphers = reader.string("ciphers")) tls.ciphers = *ciphers;
  reader.finish();
  return tls;
}

namespace {

// A mailbox for MAIL FROM / RCPT TO: printable ASCII, no spaces or angle
// brackets, local@domain. (`from` is required too: a test message with the
// null reverse path would have its bounces lost, and some servers refuse it.)
bool valid_mailbox(std::string_view address) {
  for (char c : address) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 || c == '<' || c == '>') return false;
  }
  auto at = address.rfind('@');
  return at != std::string_view::npos && at > 0 && at + 1 < address.size();
}

// [A-Za-z_][A-Za-z0-9_]*: the names a shell and systemd's Environment= use.
bool valid_environment_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// The secret file's content minus one trailing newline.
std::string read_secret_file(TableReader& reader, std::string_view key, const std::string& path,
                             std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) reader.fail(key, "cannot read \"" + path + "\": " + std::strerror(errno));
  // Bounded: a path such as /dev/zero or a log file given by mistake must
  // not read forever (the secret is never shown, so the size is the hint).
  constexpr std::size_t kMaxSecret = 4096;
  std::string secret(kMaxSecret + 1, '\0');
  in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
  secret.resize(static_cast<std::size_t>(in.gcount()));
  if (secret.size() > kMaxSecret)
    reader.fail(key, "\"" + path + "\" is longer than " + std::to_string(kMaxSecret) + " bytes: not a " +
                         std::string(what) + " file");
  if (secret.ends_with("\n")) secret.pop_back();
  if (secret.ends_with("\r")) secret.pop_back();
  return secret;
}

}  // namespace

// A path that must name a readable file; checked at load time so a typo is
// reported with its line instead of failing every probe. A relative path is
// relative to the config file's directory, as in Prometheus' own configs.
std::string readable_file(TableReader& reader, std::string_view key, const std::string& config_file) {
  auto path = reader.string(key);
  if (!path) return {};
  if (path->empty()) reader.fail(key, "must not be empty");
  std::filesystem::path p(*path);
  if (p.is_relative() && std::filesystem::path(config_file).has_parent_path())
    path = (std::filesystem::path(config_file).parent_path() / p).string();
  if (!std::ifstream(*path)) reader.fail(key, "cannot read \"" + *path + "\": " + std::strerror(errno));
  return *path;
}

Secret read_secret(TableReader& reader, std::string_view file_key, std::string_view env_key, std::string_view what,
                   bool required, Secrets secrets) {
  Secret secret;
  auto env = reader.string(env_key);
  bool has_file = reader.raw().contains(file_key);
  std::string both = std::string(file_key) + " and " + std::string(env_key);
  if (env && has_file) reader.fail(env_key, "give exactly one of " + both);
  if (!env && !has_file) {
    if (required) reader.fail("", "one of " + both + " is required");
    return secret;
  }
  if (has_file) {
    secret.file = readable_file(reader, file_key, reader.file());
    secret.value = read_secret_file(reader, file_key, secret.file, what);
    return secret;
  }
  if (env->empty()) reader.fail(env_key, "must not be empty");
  // Not echoed: an operator who pasted the secret here must not find it
  // in a log line.
  if (!valid_environment_name(*env))
    reader.fail(env_key,
                "must be the name of an environment variable (letters, digits and '_', not starting with a "
                "digit); the value is not shown");
  const char* value = std::getenv(env->c_str());
  secret.env = *env;
  if (!value) {
    if (secrets == Secrets::required) reader.fail(env_key, "environment variable " + *env + " is not set");
    try {  // the same message, kept for when the module is used
      reader.fail(env_key, "environment variable " + *env + " is not set");
    } catch (const ConfigError& e) {
      secret.error = e.what();
    }
    return secret;
  }
  secret.value = value;
  return secret;
}

void read_credentials(TableReader& reader, Credentials& login, Secrets secrets, const std::string& missing) {
  auto username = reader.string("username");
  if (!username || username->empty()) reader.fail(username ? "username" : "", missing);
  login.username = *username;
  Secret password = read_secret(reader, "password_file", "password_env", "password", true, secrets);
  login.password_file = std::move(password.file);
  login.password_env = std::move(password.env);
  login.password = std::move(password.value);
  login.password_error = std::move(password.error);
}

void insert_credentials(toml::table& table, const Credentials& login) {
  table.insert("username", login.username);
  if (!login.password_file.empty()) table.insert("password_file", login.password_file);
  if (!login.password_env.empty()) table.insert("password_env", login.password_env);
}

namespace {

AuthConfig read_auth(const toml::table& table, const std::string& path, const std::string& file, Secrets secrets) {
  TableReader reader(table, path, file);
  AuthConfig auth;
  read_credentials(reader, auth, secrets, "username is required");
  if (auto mechanisms = reader.strings("mechanisms")) {
    if (mechanisms->empty()) reader.fail("mechanisms", "must name at least one mechanism");
    std::vector<std::string> chosen;
    for (auto name : *mechanisms) {
      for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (name != "PLAIN" && name != "LOGIN" && name != "CRAM-MD5")
        reader.fail("mechanisms", "unsupported mechanism \"" + name + "\" (expected PLAIN, LOGIN or CRAM-MD5)");
      if (std::find(chosen.begin(), chosen.end(), name) != chosen.end())
        reader.fail("mechanisms", "mechanism \"" + name + "\" listed twice");
      chosen.push_back(name);
    }
    auth.mechanisms = std::move(chosen);
  }
  if (auto plain = reader.boolean("allow_plaintext_auth")) auth.allow_plaintext_auth = *plain;
  reader.finish();
  return auth;
}

// Header field names (RFC 5322 §3.6.8) the probe writes itself.
constexpr std::string_view kOwnHeaders[] = {"from", "to", "subject", "date", "message-id", "x-smtp-exporter-token"};

SendConfig read_send(const toml::table& table, const std::string& path, const std::string& file) {
  TableReader reader(table, path, file);
  SendConfig send;
  auto from = reader.string("from");
  if (!from) reader.fail("", "from is required");
  if (!valid_mailbox(*from)) reader.fail("from", "\"" + *from + "\" is not a mail address (local@domain)");
  send.from = *from;
  auto to = reader.strings("to");
  if (!to || to->empty()) reader.fail(to ? "to" : "", "to must list at least one recipient");
  for (const auto& address : *to)
    if (!valid_mailbox(address)) reader.fail("to", "\"" + address + "\" is not a mail address (local@domain)");
  send.to = *to;
  if (auto prefix = reader.string("subject_prefix")) send.subject_prefix = *prefix;
  if (auto body = reader.text("body")) send.body = *body;
  if (const toml::table* headers = reader.table("headers")) {
    TableReader h(*headers, reader.qualified("headers"), file);
    for (const auto& [key, node] : *headers) {
      std::string name(key.str());
      // RFC 5322 §3.6.8: printable US-ASCII except ':' (no space).
      bool valid_name = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return c > 32 && c < 127 && c != ':';
      });
      if (!valid_name) h.fail(name, "not a valid header field name (printable ASCII, no space or ':')");
      auto value = h.string(name);
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (std::find(std::begin(kOwnHeaders), std::end(kOwnHeaders), lower) != std::end(kOwnHeaders))
        h.fail(name, "the probe writes this header itself");
      send.headers.emplace_back(name, *value);
    }
  }
  reader.finish();
  return send;
}

// The check units a module can turn on with `NAME = true` (probes/checks.cpp).
const std::vector<std::string_view> kCheckSwitches{
    "fcrdns",
    "dnsbl",
    "dane",
    "mta_sts",
};

constexpr std::pair<std::string_view, IpProtocol> kIpProtocols[] = {{"ip4", IpProtocol::ip4},
                                                                     {"ip6", IpProtocol::ip6}};


}  // namespace

std::string_view to_string(TlsMode mode) {
  for (const auto& [name, m] : kTlsModes)
    if (m == mode) return name;
  return "unknown";
}

std::string_view to_string(TlsVersion version) {
  for (const auto& [name, v] : kTlsVersions)
    if (v == version) return name;
  return "unknown";
}

std::string_view to_string(IpProtocol protocol) {
  for (const auto& [name, p] : kIpProtocols)
    if (p == protocol) return name;
  return "unknown";
}

namespace {

// "IP", "IP:PORT" or "[IPV6]:PORT", as c-ares takes them.
bool valid_dns_server(const std::string& s) {
  auto is_ip = [](const std::string& text, int family) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(family, text.c_str(), buf) == 1;
  };
  auto valid_port = [](const std::string& p) {
    return !p.empty() && p.size() <= 5 && p.find_first_not_of("0123456789") == std::string::npos &&
           std::stoul(p) >= 1 && std::stoul(p) <= 65535;
  };
  if (s.starts_with("[")) {
    auto close = s.find(']');
    if (close == std::string::npos || !is_ip(s.substr(1, close - 1), AF_INET6)) return false;
    return close + 1 == s.size() || (s[close + 1] == ':' && valid_port(s.substr(close + 2)));
  }
  if (is_ip(s, AF_INET6)) return true;
  auto colon = s.find(':');
  if (colon == std::string::npos) return is_ip(s, AF_INET);
  return is_ip(s.substr(0, colon), AF_INET) && valid_port(s.substr(colon + 1));
}

}  // namespace

DnsConfig read_dns(TableReader& reader, DnsConfig dns, std::string_view servers_key, std::string_view timeout_key,
                   std::string_view tries_key) {
  if (auto servers = reader.strings(servers_key)) {
    for (const auto& s : *servers)
      if (!valid_dns_server(s))
        reader.fail(servers_key, "\"" + s + "\" is not IP, IP:PORT or [IPV6]:PORT");
    dns.servers = *servers;
  }
  if (auto timeout = reader.string(timeout_key)) {
    auto d = parse_duration(*timeout);
    if (!d || *d <= Duration::zero())
      reader.fail(timeout_key, "invalid duration \"" + *timeout + "\" (use e.g. \"500ms\", \"2s\")");
    dns.timeout = *d;
  }
  if (auto tries = reader.integer(tries_key)) {
    if (*tries < 1 || *tries > 10) reader.fail(tries_key, "must be between 1 and 10");
    dns.tries = static_cast<int>(*tries);
  }
  return dns;
}

Module read_module(const toml::table& table, const std::string& path, const std::string& file,
                   const DnsConfig& dns_defaults, Secrets secrets) {
  TableReader reader(table, path, file);
  Module m;
  m.dns = read_dns(reader, dns_defaults, "dns_servers", "dns_timeout", "dns_tries");
  if (auto mx = reader.boolean("mx")) m.mx = *mx;
  if (auto latency = reader.string("degraded_banner_latency")) {
    auto d = parse_duration(*latency);
    if (!d) reader.fail("degraded_banner_latency", "invalid duration \"" + *latency + "\" (use e.g. \"2s\"; \"0s\" disables)");
    m.degraded_banner_latency = *d;
  }
  if (auto days = reader.integer("degraded_cert_days")) {
    if (*days < 0 || *days > 3650) reader.fail("degraded_cert_days", "must be between 0 and 3650");
    m.degraded_cert_days = static_cast<int>(*days);
  }
  if (auto port = reader.integer("port")) {
    if (*port < 1 || *port > 65535) reader.fail("port", "must be between 1 and 65535");
    m.port = static_cast<std::uint16_t>(*port);
  }
  if (auto tls = reader.string("tls")) m.tls = parse_enum(reader, "tls", *tls, kTlsModes);
  if (const toml::table* tls_config = reader.table("tls_config"))
    m.tls_config = read_tls_config(*tls_config, reader.qualified("tls_config"), file);
  if (auto timeout = reader.string("timeout")) {
    auto d = parse_duration(*timeout);
    if (!d) reader.fail("timeout", "invalid duration \"" + *timeout + "\" (use e.g. \"500ms\", \"10s\", \"1m\")");
    if (*d <= Duration::zero()) reader.fail("timeout", "must be greater than 0");
    m.timeout = *d;
  }
  if (auto name = reader.string("ehlo_name")) {
    if (!valid_ehlo_name(*name))
      reader.fail("ehlo_name", "must be a host name or address literal (letters, digits, '.', '-', '_', '[', ']', ':')");
    m.ehlo_name = *name;
  }
  if (auto code = reader.integer("expect_banner_code")) {
    if (*code < 200 || *code > 599) reader.fail("expect_banner_code", "must be an SMTP reply code (200-599)");
    m.expect_banner_code = static_cast<int>(*code);
  }
  if (auto protocol = reader.string("ip_protocol"))
    m.ip_protocol = parse_enum(reader, "ip_protocol", *protocol, kIpProtocols);
  if (auto fallback = reader.boolean("ip_protocol_fallback")) m.ip_protocol_fallback = *fallback;
  if (auto retries = reader.integer("retries")) {
    if (*retries < 0 || *retries > 10) reader.fail("retries", "must be between 0 and 10");
    m.retries = static_cast<int>(*retries);
  }
  if (auto delay = reader.string("retry_delay")) {
    auto d = parse_duration(*delay);
    if (!d) reader.fail("retry_delay", "invalid duration \"" + *delay + "\" (use e.g. \"5s\")");
    m.retry_delay = *d;
  }
  for (std::string_view unit : kCheckSwitches)
    if (reader.boolean(unit).value_or(false)) m.checks.emplace(unit);
  if (auto cache = reader.string("mta_sts_cache")) {
    auto d = parse_duration(*cache);
    if (!d) reader.fail("mta_sts_cache", "invalid duration \"" + *cache + "\" (use e.g. \"60s\"; \"0s\" disables)");
    m.mta_sts_cache = *d;
  }
  if (auto port = reader.integer("mta_sts_policy_port")) {
    if (*port < 1 || *port > 65535) reader.fail("mta_sts_policy_port", "must be between 1 and 65535");
    m.mta_sts_policy_port = static_cast<std::uint16_t>(*port);
  }
  if (const toml::table* auth = reader.table("auth")) m.auth = read_auth(*auth, reader.qualified("auth"), file, secrets);
  if (const toml::table* send = reader.table("send")) m.send = read_send(*send, reader.qualified("send"), file);
  if (const toml::table* receive = reader.table("receive")) {
    m.receive = read_receive(*receive, reader.qualified("receive"), file, secrets);
    if (!m.send) reader.fail("receive", "needs [send]: the message to find is the test message");
    // The module's timeout bounds every probe (/probe, the agent, check): a
    // longer wait would be cut short by the deadline without a word.
    if (m.receive->timeout >= m.timeout) {
      TableReader r(*receive, reader.qualified("receive"), file);
      r.fail(receive->contains("timeout") ? "timeout" : "",
             "timeout (" + format_duration(m.receive->timeout) + ") must be shorter than the module's timeout (" +
                 format_duration(m.timeout) + "): the probe's deadline bounds the wait");
    }
  }
  if (m.mx && (m.auth || m.send))
    reader.fail("mx", "cannot be combined with [auth] or [send]: probe one submission server, not an MX set");
  read_steps(reader, m);
  reader.finish();
  return m;
}

toml::table tls_config_table(const TlsConfig& t) {
  toml::table tls{{"insecure_skip_verify", t.insecure_skip_verify}};
  for (const auto& [key, value] : {std::pair<const char*, const std::string&>{"server_name", t.server_name},
                                   {"ca_file", t.ca_file},
                                   {"cert_file", t.cert_file},
                                   {"key_file", t.key_file},
                                   {"ciphers", t.ciphers}})
    if (!value.empty()) tls.insert(key, value);
  if (t.min_version) tls.insert("min_version", std::string(to_string(*t.min_version)));
  if (t.max_version) tls.insert("max_version", std::string(to_string(*t.max_version)));
  return tls;
}

std::string to_toml(const Config& config) {
  // append(), not operator+: GCC 12 at -O3 reports a false -Wrestrict on
  // chained string concatenation here (GCC PR 105329).
  std::string out = "# source: ";
  out.append(config.source).append("\n");
  // [dns] servers, timeout and tries show in every module (dns_*, resolved);
  // the trust anchor belongs to the process's validator, not to a module.
  if (!config.dns.trust_anchor_file.empty())
    out.append("\n").append(
        toml_text(toml::table{{"dns", toml::table{{"trust_anchor_file", config.dns.trust_anchor_file}}}}));
  for (const auto& [name, module] : config.modules) out.append("\n").append(to_toml(name, module));
  if (!config.targets.empty()) {
    toml::array targets;
    for (const auto& t : config.targets) {
      toml::table labels;
      for (const auto& [k, v] : t.labels) labels.insert(k, v);
      toml::table entry{{"name", t.name},
                        {"target", t.target},
                        {"module", t.module},
                        {"interval", format_duration(t.interval)},
                        {"labels", std::move(labels)}};
      if (!t.tags.empty()) {
        toml::array tags;
        for (const auto& tag : t.tags) tags.push_back(tag);
        entry.insert("tags", std::move(tags));
      }
      if (!t.description.empty()) entry.insert("description", t.description);
      targets.push_back(std::move(entry));
    }
    out.append("\n").append(toml_text(toml::table{{"targets", std::move(targets)}}));
  }
  if (std::string web = to_toml(config.web); !web.empty()) out.append("\n").append(web);
  if (std::string limits = to_toml(config.limits); !limits.empty()) out.append("\n").append(limits);
  if (config.dnsbl) out.append("\n").append(to_toml(*config.dnsbl));
  return out;
}

// Built with toml++ so that strings are escaped correctly; unset optional
// values are omitted (an empty path is not a valid value).
std::string to_toml(const std::string& name, const Module& m) {
  toml::table module{{"port", m.port},
                     {"tls", std::string(to_string(m.tls))},
                     {"timeout", format_duration(m.timeout)},
                     {"expect_banner_code", m.expect_banner_code},
                     {"ip_protocol", std::string(to_string(m.ip_protocol))},
                     {"ip_protocol_fallback", m.ip_protocol_fallback}};
  if (!m.ehlo_name.empty()) module.insert("ehlo_name", m.ehlo_name);
  module.insert("mx", m.mx);
  for (const auto& unit : m.checks) module.insert(unit, true);
  if (m.checks.contains("mta_sts")) {  // only with the unit: keeps the rendering of other modules unchanged
    module.insert("mta_sts_cache", format_duration(m.mta_sts_cache));
    if (m.mta_sts_policy_port != 443) module.insert("mta_sts_policy_port", m.mta_sts_policy_port);
  }
  module.insert("degraded_banner_latency", format_duration(m.degraded_banner_latency));
  module.insert("degraded_cert_days", m.degraded_cert_days);
  if (m.retries > 0) {  // only when retrying: keeps the rendering of plain modules unchanged
    module.insert("retries", m.retries);
    module.insert("retry_delay", format_duration(m.retry_delay));
  }
  // The resolved dns settings ([dns] with the module's dns_* applied).
  if (!m.dns.servers.empty()) {
    toml::array servers;
    for (const auto& s : m.dns.servers) servers.push_back(s);
    module.insert("dns_servers", std::move(servers));
  }
  if (m.dns.timeout > Duration::zero()) module.insert("dns_timeout", format_duration(m.dns.timeout));
  if (m.dns.tries > 0) module.insert("dns_tries", m.dns.tries);
  toml::table tls = tls_config_table(m.tls_config);
  module.insert("tls_config", std::move(tls));
  if (m.auth) {
    toml::table auth{{"allow_plaintext_auth", m.auth->allow_plaintext_auth}};
    insert_credentials(auth, *m.auth);
    toml::array mechanisms;
    for (const auto& name : m.auth->mechanisms) mechanisms.push_back(name);
    auth.insert("mechanisms", std::move(mechanisms));
    module.insert("auth", std::move(auth));
  }
  steps_to_toml(m, module);
  std::string out = toml_text(toml::table{{"modules", toml::table{{name, std::move(module)}}}});
  if (m.send) {
    // Written apart from the module, with escaped strings (the body may hold
    // line breaks) and quoted keys where needed (a header name may hold the
    // characters ' " or .). A table's section may follow its siblings' in TOML.
    toml::array to;
    for (const auto& address : m.send->to) to.push_back(address);
    out.append("[modules.").append(name).append(".send]\n");
    out.append(toml_text(toml::table{{"from", m.send->from},
                                     {"to", std::move(to)},
                                     {"subject_prefix", m.send->subject_prefix},
                                     {"body", m.send->body}},
                         true));
    if (!m.send->headers.empty()) {
      out.append("[modules.").append(name).append(".send.headers]\n");
      for (const auto& [header, value] : m.send->headers) {
        std::string line = toml_text(toml::table{{"v", value}}, true);  // v = "VALUE"
        out.append(toml_key(header)).append(line.substr(1, line.find('\n')));
      }
      out.append("\n");
    }
  }
  if (m.receive) out.append(receive_to_toml(name, *m.receive));
  return out;
}

}  // namespace smtp_exporter::config
