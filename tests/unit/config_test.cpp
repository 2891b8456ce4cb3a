// Config loading and validation. Every invalid config is one small file under
// tests/config/, named by what is wrong, with the exact message it must give.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <toml++/toml.h>
#include <tuple>

#include "bad_file.h"
#include "smtp_exporter/config.h"
#include "toml_writer.h"

namespace smtp_exporter::config {
namespace {

using namespace std::chrono_literals;

const std::string kDir = SMTP_EXPORTER_TEST_CONFIG_DIR;

std::string version(const std::optional<TlsVersion>& v) { return v ? std::string(to_string(*v)) : "(unset)"; }

// Every field, comparable and printable.
auto fields(const Module& m) {
  const TlsConfig& t = m.tls_config;
  return std::make_tuple(m.port, to_string(m.tls), m.timeout.count(), m.ehlo_name, m.expect_banner_code,
                         to_string(m.ip_protocol), m.ip_protocol_fallback, t.server_name, t.ca_file, t.cert_file,
                         t.key_file, t.insecure_skip_verify, version(t.min_version), version(t.max_version),
                         t.ciphers);
}

using bad_files::BadFile;

std::string load_error(const std::string& path) {
  return bad_files::load_error<ConfigError>([](const std::string& p) { load_file(p); }, path);
}

class InvalidConfig : public testing::TestWithParam<BadFile> {};

TEST_P(InvalidConfig, FailsWithLocatedMessage) {
  const std::string path = kDir + "/" + GetParam().file;
  EXPECT_EQ(load_error(path), path + ":" + GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Files, InvalidConfig,
    testing::Values(
        BadFile{"invalid-tls-mode.toml",
                "2:7: modules.smtp.tls: invalid value \"sometimes\" "
                "(expected one of: none, starttls, implicit, opportunistic)"},
        BadFile{"unknown-module-key.toml", "3:10: modules.smtp.timeot: unknown key"},
        BadFile{"unknown-top-level-key.toml", "1:18: scrape_timeout: unknown key"},
        BadFile{"port-out-of-range.toml", "2:8: modules.smtp.port: must be between 1 and 65535"},
        BadFile{"port-not-integer.toml", "2:8: modules.smtp.port: expected an integer"},
        BadFile{"invalid-timeout.toml",
                "2:11: modules.smtp.timeout: invalid duration \"10\" (use e.g. \"500ms\", \"10s\", \"1m\")"},
        BadFile{"negative-timeout.toml",
                "2:11: modules.smtp.timeout: invalid duration \"-1s\" (use e.g. \"500ms\", \"10s\", \"1m\")"},
        BadFile{"zero-timeout.toml", "2:11: modules.smtp.timeout: must be greater than 0"},
        BadFile{"invalid-ip-protocol.toml",
                "2:15: modules.smtp.ip_protocol: invalid value \"ipv4\" (expected one of: ip4, ip6)"},
        BadFile{"ip-protocol-fallback-not-boolean.toml",
                "2:24: modules.smtp.ip_protocol_fallback: expected a boolean"},
        BadFile{"invalid-expect-banner-code.toml",
                "2:22: modules.smtp.expect_banner_code: must be an SMTP reply code (200-599)"},
        BadFile{"invalid-ehlo-name.toml",
                "2:13: modules.smtp.ehlo_name: must be a host name or address literal "
                "(letters, digits, '.', '-', '_', '[', ']', ':')"},
        BadFile{"invalid-module-name.toml",
                "1:1: modules.smtp banner: module names may use only letters, digits, '_' and '-' (at most 64)"},
        BadFile{"no-modules.toml", "1:1: modules: no module defined (add a [modules.NAME] table)"},
        BadFile{"toml-syntax-error.toml", "2:8: Error while parsing value: could not determine value type"},
        BadFile{"module-not-a-table.toml", "2:8: modules.smtp: expected a table"},
        BadFile{"modules-not-a-table.toml", "1:11: modules: expected a table"},
        BadFile{"invalid-tls-version.toml",
                "2:15: modules.smtp.tls_config.min_version: invalid value \"TLS1.2\" "
                "(expected one of: TLS10, TLS11, TLS12, TLS13)"},
        BadFile{"tls-min-version-above-max.toml",
                "3:15: modules.smtp.tls_config.max_version: must not be lower than min_version"},
        BadFile{"tls-ca-file-missing.toml",
                "2:11: modules.smtp.tls_config.ca_file: cannot read \"/nonexistent/ca.pem\": "
                "No such file or directory"},
        BadFile{"tls-key-without-cert.toml",
                "2:12: modules.smtp.tls_config.key_file: cert_file and key_file must be given together"},
        BadFile{"unknown-tls-config-key.toml", "2:10: modules.smtp.tls_config.verify: unknown key"},
        BadFile{"invalid-dns-server.toml",
                "2:11: dns.servers: \"dns.example.com\" is not IP, IP:PORT or [IPV6]:PORT"},
        BadFile{"invalid-dns-timeout.toml",
                "2:15: modules.smtp.dns_timeout: invalid duration \"fast\" (use e.g. \"500ms\", \"2s\")"},
        BadFile{"dns-tries-out-of-range.toml", "2:13: modules.smtp.dns_tries: must be between 1 and 10"},
        BadFile{"dns-servers-not-an-array.toml", "2:15: modules.smtp.dns_servers: expected an array of strings"},
        BadFile{"unknown-dns-key.toml", "2:11: dns.retries: unknown key"},
        BadFile{"dns-trust-anchor-file-missing.toml",
                "2:21: dns.trust_anchor_file: cannot read \"/nonexistent/anchor.ds\": No such file or directory"},
        BadFile{"dane-without-tls.toml", "2:8: modules.smtp.dane: needs TLS: set tls = \"starttls\" or \"implicit\" (docs/dane.md)"},
        BadFile{"mx-not-boolean.toml", "2:6: modules.smtp.mx: expected a boolean"},
        BadFile{"duplicate-target-name.toml", "9:8: targets[1].name: duplicate target name \"a\""},
        // The fuzz finding tests/fuzz/corpus/config_loader/crash-newline-in-target.toml.
        BadFile{"target-with-line-break.toml", "5:10: targets[0].target: must not contain line breaks"},
        BadFile{"target-name-with-control-character.toml", "4:8: targets[0].name: must not contain control characters"},
        BadFile{"send-header-name-with-space.toml",
                "8:13: modules.smtp.send.headers.X Probe: not a valid header field name (printable ASCII, no space or ':')"},
        // The value is not echoed: it may be a password pasted in the wrong place.
        BadFile{"auth-password-env-not-a-variable-name.toml",
                "3:16: modules.smtp.auth.password_env: must be the name of an environment variable (letters, digits "
                "and '_', not starting with a digit); the value is not shown"},
        BadFile{"target-unknown-module.toml", "6:10: targets[0].module: unknown module \"nope\""},
        BadFile{"target-interval-too-short.toml",
                "7:12: targets[0].interval: invalid interval \"500ms\" (a duration of at least 1s, e.g. \"30s\")"},
        BadFile{"target-without-name.toml", "3:1: targets[0]: a target needs a non-empty name"},
        BadFile{"target-reserved-label.toml",
                "7:26: targets[0].labels.target_name: not a usable Prometheus label name (reserved: target_name, __*)"},
        BadFile{"targets-not-tables.toml", "1:11: targets: expected [[targets]] tables"},
        BadFile{"unknown-target-key.toml", "7:11: targets[0].timeout: unknown key"},
        BadFile{"auth-without-username.toml", "1:1: modules.smtp.auth: username is required"},
        BadFile{"auth-password-file-and-env.toml",
                "4:16: modules.smtp.auth.password_env: give exactly one of password_file and password_env"},
        BadFile{"auth-without-password.toml",
                "1:1: modules.smtp.auth: one of password_file and password_env is required"},
        BadFile{"auth-password-env-unset.toml", "3:16: modules.smtp.auth.password_env: environment variable "
                                                "SMTP_EXPORTER_TEST_UNSET_VARIABLE is not set"},
        BadFile{"auth-password-file-missing.toml", "3:17: modules.smtp.auth.password_file: cannot read "
                                                   "\"/nonexistent/password\": No such file or directory"},
        BadFile{"auth-password-file-too-long.toml", "3:17: modules.smtp.auth.password_file: \"/dev/zero\" is "
                                                    "longer than 4096 bytes: not a password file"},
        BadFile{"auth-unknown-mechanism.toml", "4:14: modules.smtp.auth.mechanisms: unsupported mechanism "
                                               "\"XOAUTH2\" (expected PLAIN, LOGIN or CRAM-MD5)"},
        BadFile{"auth-duplicate-mechanism.toml",
                "4:14: modules.smtp.auth.mechanisms: mechanism \"PLAIN\" listed twice"},
        BadFile{"auth-allow-plaintext-not-boolean.toml",
                "4:24: modules.smtp.auth.allow_plaintext_auth: expected a boolean"},
        BadFile{"send-without-recipients.toml", "3:6: modules.smtp.send.to: to must list at least one recipient"},
        BadFile{"send-without-from.toml", "1:1: modules.smtp.send: from is required"},
        // [receive] (config/receive.cpp)
        BadFile{"receive-without-send.toml",
                "1:1: modules.smtp.receive: needs [send]: the message to find is the test message"},
        BadFile{"receive-imap-and-maildir.toml", "6:11: modules.smtp.receive.maildir: give exactly one of imap and maildir"},
        BadFile{"receive-without-mailbox.toml", "4:1: modules.smtp.receive: one of imap and maildir is required"},
        BadFile{"receive-invalid-imap.toml",
                "5:8: modules.smtp.receive.imap: \"::1:993\" is not HOST:PORT (an IPv6 address in brackets)"},
        BadFile{"receive-without-password.toml",
                "4:1: modules.smtp.receive: one of password_file and password_env is required"},
        BadFile{"receive-without-username.toml", "4:1: modules.smtp.receive: username is required with imap"},
        BadFile{"receive-invalid-tls.toml",
                "6:7: modules.smtp.receive.tls: invalid value \"none\" (expected one of: implicit, starttls)"},
        BadFile{"receive-maildir-with-username.toml", "6:12: modules.smtp.receive.username: only with imap"},
        BadFile{"receive-invalid-timeout.toml",
                "6:11: modules.smtp.receive.timeout: invalid duration \"soon\" (use e.g. \"1s\", \"60s\")"},
        BadFile{"receive-poll-interval-above-timeout.toml",
                "7:17: modules.smtp.receive.poll_interval: must not be longer than timeout"},
        BadFile{"receive-unknown-key.toml", "6:10: modules.smtp.receive.folder: unknown key"},
        BadFile{"receive-timeout-not-below-module-timeout.toml",
                "6:11: modules.smtp.receive.timeout: timeout (10s) must be shorter than the module's timeout (10s): "
                "the probe's deadline bounds the wait"},
        BadFile{"receive-invalid-authserv-id.toml",
                "6:15: modules.smtp.receive.authserv_id: must be the receiver's authserv-id (a host name, no spaces)"},
        BadFile{"send-invalid-recipient.toml",
                "3:6: modules.smtp.send.to: \"<bad>\" is not a mail address (local@domain)"},
        BadFile{"send-reserved-header.toml",
                "7:11: modules.smtp.send.headers.Subject: the probe writes this header itself"},
        BadFile{"mx-with-send.toml",
                "2:6: modules.smtp.mx: cannot be combined with [auth] or [send]: probe one submission server, not an "
                "MX set"},
        BadFile{"retries-out-of-range.toml", "2:11: modules.smtp.retries: must be between 0 and 10"},
        BadFile{"mta-sts-cache-invalid.toml", "3:17: modules.smtp.mta_sts_cache: invalid duration \"1 minute\" (use e.g. \"60s\"; \"0s\" disables)"},
        BadFile{"mta-sts-policy-port-out-of-range.toml", "3:23: modules.smtp.mta_sts_policy_port: must be between 1 and 65535"},
        BadFile{"send-subject-prefix-line-break.toml",
                "4:18: modules.smtp.send.subject_prefix: must not contain line breaks"},
        BadFile{"invalid-quit-after.toml", "2:14: modules.smtp.quit_after: invalid value \"helo\" (expected one of: "
                                           "mx, connect, banner, ehlo, tls, auth, mail, rcpt, data)"},
        BadFile{"quit-after-mx-without-mx.toml",
                "2:14: modules.smtp.quit_after: needs mx = true (the target is a mail domain)"},
        BadFile{"quit-after-rcpt-without-send.toml",
                "2:14: modules.smtp.quit_after: needs a [send] table (from, to)"},
        BadFile{"quit-after-tls-without-tls.toml",
                "3:14: modules.smtp.quit_after: needs tls = starttls, implicit or opportunistic"},
        BadFile{"quit-after-auth-without-auth.toml",
                "2:14: modules.smtp.quit_after: needs an [auth] table or expect_code.auth"},
        BadFile{"expect-code-unknown-stage.toml",
                "2:10: modules.smtp.expect_code.banner: unknown stage (expected one of: ehlo, starttls, auth, mail, "
                "rcpt, data; the greeting has expect_banner_code)"},
        BadFile{"invalid-expect-code.toml", "6:8: modules.smtp.expect_code.rcpt: expected a reply code (e.g. 554), "
                                            "a pattern (\"5xx\") or an array of them"},
        BadFile{"expect-code-empty.toml", "6:8: modules.smtp.expect_code.rcpt: must list at least one reply code"},
        BadFile{"expect-code-auth-with-auth.toml",
                "6:8: modules.smtp.expect_code.auth: cannot be combined with an [auth] table: this check sends AUTH "
                "without credentials and expects a refusal"},
        BadFile{"expect-code-rcpt-without-send.toml",
                "2:8: modules.smtp.expect_code.rcpt: needs a [send] table (from, to)"},
        BadFile{"expect-code-starttls-without-starttls.toml",
                "5:12: modules.smtp.expect_code.starttls: needs tls = starttls or opportunistic"},
        BadFile{"expect-code-after-quit-after.toml",
                "2:14: modules.smtp.quit_after: the probe stops before expect_code.rcpt is checked"},
        BadFile{"web-invalid-cidr.toml", "2:36: web.allowed_targets: \"192.0.2.0/33\" is not a network: the "
                                         "prefix length must be a number from 0 to 32"},
        BadFile{"web-invalid-ipv6-prefix.toml", "2:20: web.allowed_targets: \"2001:db8::/129\" is not a network: "
                                                "the prefix length must be a number from 0 to 128"},
        BadFile{"web-cidr-host-bits.toml",
                "2:20: web.allowed_targets: \"192.0.2.1/24\" has host bits set (the network is 192.0.2.0/24)"},
        BadFile{"web-invalid-target.toml",
                "2:20: web.allowed_targets: \"mail.example.com:25\" is neither a host name, a \"*.DOMAIN\" "
                "wildcard, an IP address nor a network such as \"192.0.2.0/24\""},
        BadFile{"web-invalid-wildcard.toml", "2:20: web.allowed_targets: \"*.*.example.com\" is not a wildcard: "
                                             "write \"*.\" followed by a domain name"},
        BadFile{"web-allowed-targets-not-array.toml", "2:19: web.allowed_targets: expected an array of strings"},
        BadFile{"web-unknown-key.toml", "2:18: web.allowed_target: unknown key"},
        BadFile{"web-not-a-table.toml", "1:7: web: expected a table"},
        BadFile{"limits-negative-max-connections.toml",
                "2:19: limits.max_connections: must be from 1 to 1000000, or 0 to size it for the machine"},
        BadFile{"limits-negative-max-concurrent-probes.toml",
                "2:25: limits.max_concurrent_probes: must be from 1 to 1000000, or 0 to size it for the machine"},
        BadFile{"limits-max-concurrent-probes-not-integer.toml",
                "2:25: limits.max_concurrent_probes: expected an integer"},
        BadFile{"limits-unknown-key.toml", "2:24: limits.max_concurrent_probe: unknown key"}),
    [](const testing::TestParamInfo<BadFile>& info) {
      std::string name = info.param.file.substr(0, info.param.file.find('.'));
      for (char& c : name)
        if (c == '-') c = '_';
      return name;
    });

TEST(LoadFile, GoodFileWithEveryKey) {
  const std::string path = kDir + "/good.toml";
  Config config = load_file(path);
  EXPECT_EQ(config.source, path);
  ASSERT_EQ(config.modules.size(), 4u);
  for (const char* name : {"mx", "submission-v6_only", "opportunistic", "defaults"})
    ASSERT_TRUE(config.modules.contains(name)) << name;
  EXPECT_EQ(config.limits.max_concurrent_probes, 5000);
  EXPECT_EQ(config.limits.max_connections, 2000);

  const Module& mx = config.modules.at("mx");
  EXPECT_EQ(mx.port, 2525);
  EXPECT_EQ(mx.tls, TlsMode::starttls);
  EXPECT_EQ(mx.timeout, 150s);
  EXPECT_EQ(mx.ehlo_name, "probe.example.org");
  EXPECT_EQ(mx.expect_banner_code, 554);
  EXPECT_EQ(mx.ip_protocol, IpProtocol::ip4);
  EXPECT_FALSE(mx.ip_protocol_fallback);
  EXPECT_EQ(mx.retries, 3);
  EXPECT_EQ(mx.retry_delay, 2s);
  EXPECT_EQ(mx.tls_config.server_name, "mx.example.org");
  EXPECT_TRUE(mx.tls_config.insecure_skip_verify);
  EXPECT_EQ(mx.tls_config.min_version, TlsVersion::tls12);
  EXPECT_EQ(mx.tls_config.max_version, TlsVersion::tls13);
  EXPECT_EQ(mx.tls_config.ciphers, "ECDHE+AESGCM:!aNULL");
  EXPECT_EQ(mx.tls_config.ca_file, "");
  EXPECT_TRUE(mx.mx);
  EXPECT_EQ(mx.dns.servers, std::vector<std::string>{"[2001:db8::53]:5353"});
  EXPECT_EQ(mx.dns.timeout, 250ms);
  EXPECT_EQ(mx.dns.tries, 1);
  EXPECT_TRUE(mx.checks.contains("mta_sts"));
  EXPECT_EQ(mx.mta_sts_cache, 5min);
  EXPECT_EQ(mx.mta_sts_policy_port, 8443);
  // Modules without dns_* keys inherit [dns].
  const DnsConfig& inherited = config.modules.at("defaults").dns;
  EXPECT_EQ(inherited.servers, (std::vector<std::string>{"127.0.0.1:5353", "[::1]:53", "192.0.2.53"}));
  EXPECT_EQ(inherited.timeout, 1s);
  EXPECT_EQ(inherited.tries, 3);
  EXPECT_FALSE(config.modules.at("defaults").mx);

  const Module& sub = config.modules.at("submission-v6_only");
  EXPECT_EQ(sub.port, 465);
  EXPECT_EQ(sub.tls, TlsMode::implicit);
  EXPECT_EQ(sub.timeout, 500ms);
  EXPECT_EQ(sub.ehlo_name, "[IPv6:2001:db8::10]");
  EXPECT_EQ(sub.expect_banner_code, 220);
  EXPECT_EQ(sub.ip_protocol, IpProtocol::ip6);
  EXPECT_TRUE(sub.ip_protocol_fallback);

  Module opportunistic;
  opportunistic.tls = TlsMode::opportunistic;
  opportunistic.tls_config.min_version = TlsVersion::tls10;
  EXPECT_EQ(fields(config.modules.at("opportunistic")), fields(opportunistic));
  EXPECT_EQ(fields(config.modules.at("defaults")), fields(Module{}));
}

// File keys must name readable files: any file of the test tree will do.
// Every key that names a file (they must be readable at load), the process's
// [dns] trust_anchor_file among them.
std::string tls_files_toml() {
  const std::string file = kDir + "/good.toml";
  return "[dns]\ntrust_anchor_file = \"" + file + "\"\n[modules.client_cert.tls_config]\nca_file = \"" + file +
         "\"\ncert_file = \"" + file + "\"\nkey_file = \"" + file + "\"\n";
}

TEST(LoadFile, WebAllowedTargets) {
  Config config = load_file(kDir + "/good.toml");
  ASSERT_EQ(config.web.allowed_targets.size(), 5u);
  EXPECT_EQ(config.web.allowed_targets[1].kind, AllowedTarget::Kind::wildcard);
  EXPECT_EQ(config.web.allowed_targets[3].kind, AllowedTarget::Kind::network);
  EXPECT_TRUE(config.web.allowed_targets[3].ipv6);
  EXPECT_EQ(config.web.allowed_targets[3].prefix, 32);
  EXPECT_EQ(config.web.allowed_targets[4].prefix, 32);
  EXPECT_FALSE(config.web.allowed_targets[4].ipv6);
  // Rendered as TOML that loads back to the same list.
  std::string text = to_toml(config.web);
  EXPECT_EQ(text.rfind("[web]\n", 0), 0u) << text;
  Config again = load_string(text + "[modules.a]\n", "again.toml");
  ASSERT_EQ(again.web.allowed_targets.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i)
    EXPECT_EQ(again.web.allowed_targets[i].text, config.web.allowed_targets[i].text);
  EXPECT_EQ(to_toml(WebSettings{}), "");
  EXPECT_TRUE(load_string("[modules.a]\n", "x.toml").web.allowed_targets.empty());
}

TEST(LoadString, TlsFiles) {
  const Config config = load_string(tls_files_toml(), "inline");
  const TlsConfig& t = config.modules.at("client_cert").tls_config;
  EXPECT_EQ(t.ca_file, kDir + "/good.toml");
  EXPECT_EQ(t.cert_file, kDir + "/good.toml");
  EXPECT_EQ(t.key_file, kDir + "/good.toml");
  EXPECT_EQ(config.dns.trust_anchor_file, kDir + "/good.toml");
}

// /config shows [dns] trust_anchor_file (the dane unit's validator trusts it),
// and no [dns] table when it is not set: servers, timeout and tries show in
// each module as dns_*.
TEST(ToToml, ShowsTheTrustAnchorFileOnlyWhenSet) {
  const std::string text = to_toml(load_string(tls_files_toml(), "inline"));
  EXPECT_NE(text.find("\n[dns]\ntrust_anchor_file = '" + kDir + "/good.toml'\n"), std::string::npos) << text;
  const std::string without = to_toml(load_string("[dns]\nservers = [\"127.0.0.1\"]\n[modules.a]\n", "inline"));
  EXPECT_EQ(without.find("[dns]"), std::string::npos) << without;
  EXPECT_EQ(without.find("trust_anchor_file"), std::string::npos) << without;
}

TEST(LoadString, NamesTheSourceInErrors) {
  try {
    load_string("[modules.a]\nport = 0\n", "inline");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "inline:2:8: modules.a.port: must be between 1 and 65535");
  }
  Config config = load_string("[modules.a]\nport = 65535\n", "inline");
  EXPECT_EQ(config.source, "inline");
  EXPECT_EQ(config.modules.at("a").port, 65535);
}

TEST(LoadFile, MissingFile) {
  const std::string path = kDir + "/does-not-exist.toml";
  EXPECT_EQ(load_error(path), path + ": cannot open: No such file or directory");
}

TEST(DefaultConfig, BuiltInModules) {
  Config config = default_config();
  EXPECT_EQ(config.source, "<built-in defaults>");
  ASSERT_EQ(config.modules.size(), 6u);  // and mx_only, mta_sts: DefaultConfig.MxOnlyIsADnsOnlyCheck, .MtaSts
  // The four SMTP modules:
  for (const auto& [name, port, tls] : {std::tuple{"smtp_banner", 25, TlsMode::none},
                                        {"smtp_starttls", 25, TlsMode::starttls},
                                        {"submission", 587, TlsMode::starttls},
                                        {"smtps", 465, TlsMode::implicit}}) {
    ASSERT_TRUE(config.modules.contains(name)) << name;
    Module expected;
    expected.port = static_cast<std::uint16_t>(port);
    expected.tls = tls;
    EXPECT_EQ(fields(config.modules.at(name)), fields(expected)) << name;
  }
  const Module defaults;
  EXPECT_EQ(defaults.timeout, 10s);
  EXPECT_EQ(defaults.ehlo_name, "");
  EXPECT_EQ(defaults.expect_banner_code, 220);
  EXPECT_EQ(defaults.ip_protocol, IpProtocol::ip6);
  EXPECT_TRUE(defaults.ip_protocol_fallback);
  EXPECT_FALSE(defaults.tls_config.insecure_skip_verify);
  EXPECT_FALSE(defaults.tls_config.min_version.has_value());
}

TEST(ToToml, RendersEveryKey) {
  Module m;
  m.port = 2525;
  m.tls = TlsMode::starttls;
  m.timeout = 90s;
  m.ehlo_name = "probe.example.org";
  m.ip_protocol = IpProtocol::ip4;
  m.ip_protocol_fallback = false;
  m.tls_config.server_name = "mx\"quoted\\name";
  m.tls_config.max_version = TlsVersion::tls12;
  toml::table t = toml::parse(to_toml("mx", m));
  std::ostringstream rendered;
  rendered << t;
  EXPECT_EQ(t.size(), 1u) << rendered.str();
  EXPECT_EQ(t["modules"].as_table()->size(), 1u) << rendered.str();
  const auto mx = t["modules"]["mx"];
  EXPECT_EQ(mx["port"].value<int>(), 2525);
  EXPECT_EQ(mx["tls"].value<std::string>(), "starttls");
  EXPECT_EQ(mx["timeout"].value<std::string>(), "1m30s");
  EXPECT_EQ(mx["ehlo_name"].value<std::string>(), "probe.example.org");
  EXPECT_EQ(mx["expect_banner_code"].value<int>(), 220);
  EXPECT_EQ(mx["ip_protocol"].value<std::string>(), "ip4");
  EXPECT_EQ(mx["ip_protocol_fallback"].value<bool>(), false);
  EXPECT_EQ(mx["tls_config"]["server_name"].value<std::string>(), "mx\"quoted\\name");
  EXPECT_EQ(mx["tls_config"]["max_version"].value<std::string>(), "TLS12");
  EXPECT_EQ(mx["tls_config"]["insecure_skip_verify"].value<bool>(), false);
  // Unset values are left out: `ehlo_name = ""` (this host's FQDN) or an empty path would not load.
  for (const char* key : {"ca_file", "cert_file", "key_file", "min_version", "ciphers"})
    EXPECT_FALSE(mx["tls_config"][key]) << key;
  EXPECT_FALSE(toml::parse(to_toml("d", Module{}))["modules"]["d"]["ehlo_name"]);
}

TEST(DefaultConfig, MxOnlyIsADnsOnlyCheck) {
  const Config config = default_config();
  const Module& m = config.modules.at("mx_only");
  EXPECT_TRUE(m.mx);
  EXPECT_EQ(m.quit_after, Step::mx);
  // Rendered and loaded again.
  Config again = load_string(to_toml("mx_only", m), "again.toml");
  EXPECT_EQ(again.modules.at("mx_only").quit_after, Step::mx);
}

TEST(DefaultConfig, MtaStsChecksPolicyCoverageAndStarttls) {
  const Config config = default_config();
  const Module& m = config.modules.at("mta_sts");
  EXPECT_TRUE(m.mx);
  EXPECT_EQ(m.tls, TlsMode::starttls);  // each MX host's certificate verified (PKIX)
  EXPECT_TRUE(m.checks.contains("mta_sts"));
  EXPECT_EQ(m.mta_sts_cache, 60s);
  EXPECT_EQ(m.mta_sts_policy_port, 443);
  Config again = load_string(to_toml("mta_sts", m), "again.toml");
  const Module& back = again.modules.at("mta_sts");
  EXPECT_TRUE(back.checks.contains("mta_sts"));
  EXPECT_EQ(back.mta_sts_cache, 60s);
  EXPECT_EQ(back.mta_sts_policy_port, 443);
}

class ToTomlRoundTrip : public testing::TestWithParam<std::string> {};

TEST_P(ToTomlRoundTrip, ParsesBackToTheSameModules) {
  Config original = GetParam() == "default"  ? default_config()
                    : GetParam() == "files" ? load_string(tls_files_toml(), "inline")
                                             : load_file(kDir + "/good.toml");
  const std::string text = to_toml(original);
  EXPECT_EQ(text.rfind("# source: " + original.source + "\n", 0), 0u) << text;
  Config parsed;
  ASSERT_NO_THROW(parsed = load_string(text, "round-trip")) << text;
  ASSERT_EQ(parsed.modules.size(), original.modules.size()) << text;
  for (const auto& [name, module] : original.modules) {
    ASSERT_TRUE(parsed.modules.contains(name)) << name;
    EXPECT_EQ(fields(parsed.modules.at(name)), fields(module)) << name;
  }
  EXPECT_EQ(parsed.limits.max_concurrent_probes, original.limits.max_concurrent_probes);
  EXPECT_EQ(parsed.limits.max_connections, original.limits.max_connections);
  EXPECT_EQ(parsed.dns.trust_anchor_file, original.dns.trust_anchor_file);
}

INSTANTIATE_TEST_SUITE_P(Configs, ToTomlRoundTrip, testing::Values("default", "good", "files"));

}  // namespace
}  // namespace smtp_exporter::config

namespace smtp_exporter::config {
namespace {

// [auth] and [send]: the secret is loaded, kept, and never rendered.
TEST(LoadString, AuthAndSendWithSecretFromEnvironment) {
  ::setenv("SMTP_EXPORTER_TEST_PASSWORD", "s3cr3t-Pa55", 1);
  Config config = load_string(R"(
[modules.submit]
tls = "starttls"
retries = 2
retry_delay = "1s"
[modules.submit.auth]
username = "probe@example.test"
password_env = "SMTP_EXPORTER_TEST_PASSWORD"
mechanisms = ["plain", "LOGIN"]
allow_plaintext_auth = true
[modules.submit.send]
from = "probe@example.test"
to = ["a@example.test", "b@example.test"]
subject_prefix = "[probe]"
body = "hello"
[modules.submit.send.headers]
X-Probe = "yes"
)",
                              "inline.toml");
  const Module& m = config.modules.at("submit");
  EXPECT_EQ(m.retries, 2);
  EXPECT_EQ(m.retry_delay, 1s);
  ASSERT_TRUE(m.auth.has_value());
  EXPECT_EQ(m.auth->username, "probe@example.test");
  EXPECT_EQ(m.auth->password, "s3cr3t-Pa55");
  EXPECT_EQ(m.auth->password_env, "SMTP_EXPORTER_TEST_PASSWORD");
  EXPECT_EQ(m.auth->mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN"}));
  EXPECT_TRUE(m.auth->allow_plaintext_auth);
  ASSERT_TRUE(m.send.has_value());
  EXPECT_EQ(m.send->to, (std::vector<std::string>{"a@example.test", "b@example.test"}));
  EXPECT_EQ(m.send->subject_prefix, "[probe]");
  EXPECT_EQ(m.send->headers, (std::vector<std::pair<std::string, std::string>>{{"X-Probe", "yes"}}));
  std::string text = to_toml(config);
  EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << text;
  EXPECT_NE(text.find("password_env = 'SMTP_EXPORTER_TEST_PASSWORD'"), std::string::npos) << text;
  // The rendering loads again to the same module.
  Config again = load_string(to_toml("submit", m), "again.toml");
  EXPECT_EQ(again.modules.at("submit").auth->password, "s3cr3t-Pa55");
  EXPECT_EQ(again.modules.at("submit").send->headers, m.send->headers);
  EXPECT_EQ(again.modules.at("submit").retries, 2);
}

TEST(LoadFile, AuthPasswordFileLosesOneTrailingNewline) {
  const std::string path = ::testing::TempDir() + "/smtp_exporter_password";
  {
    std::ofstream(path) << "pw with spaces\n\n";
  }
  Config config = load_string("[modules.a.auth]\nusername = \"u\"\npassword_file = \"" + path + "\"\n", "x.toml");
  EXPECT_EQ(config.modules.at("a").auth->password, "pw with spaces\n");
  EXPECT_EQ(config.modules.at("a").auth->mechanisms, (std::vector<std::string>{"CRAM-MD5", "LOGIN", "PLAIN"}));
  EXPECT_FALSE(config.modules.at("a").auth->allow_plaintext_auth);
  EXPECT_EQ(to_toml(config).find("pw with"), std::string::npos);
}

TEST(LoadFile, TrustAnchorFileIsRelativeToTheConfigFile) {
  const std::string dir = ::testing::TempDir() + "/smtp_exporter_anchor";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/anchor.ds") << "lab. 3600 IN DS 1 13 2 00\n";
  std::ofstream(dir + "/exporter.toml") << "[dns]\ntrust_anchor_file = \"anchor.ds\"\n[modules.a]\n";
  EXPECT_EQ(load_file(dir + "/exporter.toml").dns.trust_anchor_file, dir + "/anchor.ds");
}

}  // namespace
}  // namespace smtp_exporter::config

namespace smtp_exporter::config {
namespace {

TEST(LoadString, TargetsTagsAndDescriptionLoadAndRenderBack) {
  Config config = load_string(R"(
[modules.smtp_banner]
[[targets]]
name = "mx"
target = "mx.example.org"
tags = ["prod", "edge"]
description = "inbound MX of example.org"
)",
                              "inline.toml");
  ASSERT_EQ(config.targets.size(), 1u);
  EXPECT_EQ(config.targets[0].tags, (std::vector<std::string>{"prod", "edge"}));
  EXPECT_EQ(config.targets[0].description, "inbound MX of example.org");
  Config again = load_string(to_toml(config), config.source);
  EXPECT_EQ(again.targets[0].tags, config.targets[0].tags);
  EXPECT_EQ(again.targets[0].description, config.targets[0].description);
  EXPECT_THROW(load_string("[modules.smtp_banner]\n[[targets]]\nname = \"a\"\ntarget = \"b\"\ntags = [\"\"]\n", "x"),
               ConfigError);
}

// The fuzz finding tests/fuzz/corpus/config_loader/crash-quoted-header-key.toml: header names
// that are valid RFC 5322 field names but not TOML bare keys, and a body that starts with a line
// break, render to TOML that loads again to the same values and renders the same.
TEST(ToToml, QuotesKeysAndEscapesLineBreaksSoThatTheRenderingLoadsAgain) {
  Config config = load_string(R"(
[modules.submit.auth]
username = "u"
password_file = "/dev/null"
[modules.submit.send]
from = "a@example.org"
to = ["b@example.org"]
subject_prefix = "it's"
body = "\nstarts with a line break\tand a tab\r\n"
headers."X-Q'''a" = "v"
headers.'X"Q.b' = "it's"
headers.X-Plain = "p"
)",
                              "inline.toml");
  const Module& m = config.modules.at("submit");
  const std::string first = to_toml(config);
  Config again;
  ASSERT_NO_THROW(again = load_string(first, config.source)) << first;
  EXPECT_EQ(again.modules.at("submit").send->headers, m.send->headers) << first;
  EXPECT_EQ(again.modules.at("submit").send->body, "\nstarts with a line break\tand a tab\r\n") << first;
  EXPECT_EQ(again.modules.at("submit").send->subject_prefix, "it's") << first;
  EXPECT_EQ(to_toml(again), first);
  EXPECT_NE(first.find(R"("X-Q'''a" = "v")"), std::string::npos) << first;
  EXPECT_NE(first.find(R"("X\"Q.b" = "it's")"), std::string::npos) << first;
  EXPECT_NE(first.find("\nX-Plain = \"p\""), std::string::npos) << first;
}

TEST(ToTomlKey, BareOnlyForBareKeyCharacters) {
  EXPECT_EQ(toml_key("X-Probe_1"), "X-Probe_1");
  EXPECT_EQ(toml_key("a.b"), "\"a.b\"");
  EXPECT_EQ(toml_key("it's"), "\"it's\"");
  EXPECT_EQ(toml_key("q\"b\\s"), "\"q\\\"b\\\\s\"");
  EXPECT_EQ(toml_key("\x01"), "\"\\u0001\"");
  EXPECT_EQ(toml_key(""), "\"\"");
}

}  // namespace
}  // namespace smtp_exporter::config

namespace smtp_exporter::config {
namespace {
using namespace std::chrono_literals;

// [receive]: IMAP with a password from the environment; the secret is kept,
// never rendered, and the rendering loads again.
TEST(LoadString, ReceiveImapWithSecretFromEnvironment) {
  ::setenv("SMTP_EXPORTER_TEST_IMAP_PASSWORD", "imap-s3cr3t", 1);
  Config config = load_string(R"(
[modules.e2e]
timeout = "30s"
[modules.e2e.send]
from = "probe@example.test"
to = ["sink@example.test"]
[modules.e2e.receive]
imap = "[::1]:10993"
tls = "starttls"
username = "sink@example.test"
password_env = "SMTP_EXPORTER_TEST_IMAP_PASSWORD"
junk_folder = "Spam"
authserv_id = "mail.example.test"
timeout = "20s"
poll_interval = "500ms"
[modules.e2e.receive.tls_config]
server_name = "mail.example.test"
insecure_skip_verify = true
)",
                              "inline.toml");
  const Module& m = config.modules.at("e2e");
  ASSERT_TRUE(m.receive.has_value());
  EXPECT_EQ(m.receive->imap_host, "::1");
  EXPECT_EQ(m.receive->imap_port, 10993);
  EXPECT_EQ(m.receive->tls, ReceiveConfig::ImapTls::starttls);
  EXPECT_EQ(m.receive->password, "imap-s3cr3t");
  EXPECT_EQ(m.receive->junk_folder, "Spam");
  EXPECT_EQ(m.receive->timeout, 20s);
  EXPECT_EQ(m.receive->poll_interval, 500ms);
  EXPECT_EQ(m.receive->tls_config.server_name, "mail.example.test");
  std::string text = to_toml(config);
  EXPECT_EQ(text.find("imap-s3cr3t"), std::string::npos) << text;
  EXPECT_NE(text.find("password_env = 'SMTP_EXPORTER_TEST_IMAP_PASSWORD'"), std::string::npos) << text;
  EXPECT_NE(text.find("[modules.e2e.receive.tls_config]"), std::string::npos) << text;
  Config again = load_string(to_toml("e2e", m), "again.toml");
  const ReceiveConfig& r = *again.modules.at("e2e").receive;
  EXPECT_EQ(r.password, "imap-s3cr3t");
  EXPECT_EQ(r.imap, "[::1]:10993");
  EXPECT_EQ(r.authserv_id, "mail.example.test");
  EXPECT_EQ(r.poll_interval, 500ms);
  EXPECT_TRUE(r.tls_config.insecure_skip_verify);
}

TEST(LoadString, ReceiveMaildirDefaults) {
  Config config = load_string(
      "[modules.m]\ntimeout = \"90s\"\n[modules.m.send]\nfrom = \"a@example.test\"\nto = [\"b@example.test\"]\n"
      "[modules.m.receive]\nmaildir = \"/srv/mail/sink\"\n",
      "inline.toml");
  const ReceiveConfig& r = *config.modules.at("m").receive;
  EXPECT_EQ(r.maildir, "/srv/mail/sink");
  EXPECT_TRUE(r.imap.empty());
  EXPECT_EQ(r.timeout, 60s);
  EXPECT_EQ(r.poll_interval, 1s);
  Config again = load_string(to_toml("m", config.modules.at("m")), "again.toml");
  EXPECT_EQ(again.modules.at("m").receive->maildir, "/srv/mail/sink");
}

}  // namespace
}  // namespace smtp_exporter::config
