// The report of `smtp_exporter check`: the model built from a probe's result
// (stages, remediation with its placeholders filled in, the command that runs
// the check again) and its printing as text or JSON. Pure functions.
#include "views/check_report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>

#include <boost/asio/ip/address.hpp>

#include "views/json.h"
#include "views/text.h"

namespace smtp_exporter::exporter {

using probes::ProbeResult;
using probes::Stage;

std::string safe_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [&](unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", c);
    out += buf;
  };
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    std::size_t length = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k)
      valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    if (valid && length == 3) {  // no overlong forms, no surrogates
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      valid = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (valid && length == 4) {
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      valid = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      hex(c);
      ++i;
    }
  }
  return out;
}

namespace {

// ---- Text helpers ----------------------------------------------------------------------

std::string milliseconds_text(double seconds) {
  char buf[32];
  double ms = seconds * 1000;
  std::snprintf(buf, sizeof buf, ms < 1 ? "%.3f ms" : "%.1f ms", ms);
  return buf;
}

std::string utc_text(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// "29 days left", "expired 3 days ago", as classify_health counts days.
// Whole days toward zero, as every view counts them (probes::whole_days).
std::string days_left_text(double days) {
  long whole = probes::whole_days(days);
  if (days < 0) {
    if (whole == 0) return "expired less than a day ago";
    return "expired " + std::to_string(-whole) + (whole == -1 ? " day ago" : " days ago");
  }
  if (whole == 0) return "less than a day left";
  return std::to_string(whole) + (whole == 1 ? " day left" : " days left");
}

std::string failure_text(const probes::Failure& f) {
  return std::string(to_string(f.stage)) + " failed (" + std::string(to_string(f.reason)) + "): " + safe_text(f.detail);
}

std::string extension_text(const probes::EhloExtension& e) {
  return safe_text(e.params.empty() ? e.keyword : e.keyword + " " + e.params);
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : std::string(separator)) + item;
  return out;
}

std::string shell_word(const std::string& word) {
  bool plain = !word.empty();
  for (char c : word)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-_.:/[]=@+,").find(c) != std::string_view::npos))
      plain = false;
  if (plain) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The MX host the advice should name: the first failing one, else the first.
const probes::MxHost* focus_host(const ProbeResult& r) {
  for (const auto& h : r.mx_hosts)
    if (h.result.failure) return &h;
  return r.mx_hosts.empty() ? nullptr : &r.mx_hosts.front();
}

// ---- JSON helpers ----------------------------------------------------------------------
// Server text goes through safe_text, as in the text report; numbers keep 9
// significant digits.

json::Value text(std::string_view value) { return safe_text(value); }

json::Value texts(const std::vector<std::string>& items) {
  json::Value out = json::Value::array();
  for (const auto& item : items) out.push_back(text(item));
  return out;
}

json::Value number(double value) { return json::rounded(value, "%.9g"); }

template <typename T, typename F>
json::Value or_null(const std::optional<T>& value, F convert) {
  return value ? json::Value(convert(*value)) : json::Value(nullptr);
}

json::Value json_failure(const std::optional<probes::Failure>& f) {
  return or_null(f, [](const probes::Failure& failure) {
    return json::Value{{"stage", text(to_string(failure.stage))},
                       {"reason", text(to_string(failure.reason))},
                       {"detail", text(failure.detail)}};
  });
}

json::Value json_tls(const probes::TlsInfo& tls) {
  json::Value certificate;  // null
  if (!tls.presented_chain.empty()) {
    const probes::Certificate& leaf = tls.presented_chain.front();
    certificate = {{"subject", text(leaf.subject)},
                   {"issuer", text(leaf.issuer)},
                   {"serial", text(leaf.serial)},
                   {"fingerprintSha256", text(leaf.fingerprint_sha256)},
                   {"notBefore", text(rfc3339(std::chrono::system_clock::from_time_t(leaf.not_before)))},
                   {"notAfter", text(rfc3339(std::chrono::system_clock::from_time_t(leaf.not_after)))}};
  }
  return {{"version", text(tls.version)},
          {"cipher", text(tls.cipher)},
          {"serverName", text(tls.server_name)},
          {"verified", tls.verified},
          {"verifyErrors", texts(tls.verify_errors)},
          {"verifyDetail", text(tls.verify_detail)},
          {"certificate", std::move(certificate)},
          {"daysLeft", or_null(tls.leaf_days_to_expiry, number)}};
}

}  // namespace

// ---- Report model ----------------------------------------------------------------------

RemediationContext remediation_context(const CheckSubject& subject, const ProbeResult& result) {
  RemediationContext c;
  c.target = subject.target;
  c.module = subject.module_name;
  c.port = std::to_string(subject.port);
  c.implicit_tls = subject.module.tls == config::TlsMode::implicit;
  c.host = subject.host;
  c.address = result.ip.empty() ? subject.host : result.ip;
  const ProbeResult* session = &result;
  if (subject.mx) {
    c.domain = subject.host;
    if (const probes::MxHost* host = focus_host(result)) {
      c.host = host->exchange;
      c.address = host->ip;
      session = &host->result;
    } else if (result.mx && !result.mx->records.empty() && !result.mx->records.front().exchange.empty()) {
      c.host = result.mx->records.front().exchange;
      c.address = c.host;
    }
  } else {
    // mail.example.com → example.com for `dig MX`; a name with one dot or an
    // IP literal stays as it is.
    c.domain = subject.host;
    auto first_dot = subject.host.find('.');
    bool literal = subject.host.find(':') != std::string::npos ||
                   subject.host.find_first_not_of("0123456789.") == std::string::npos;
    if (!literal && first_dot != std::string::npos && subject.host.find('.', first_dot + 1) != std::string::npos)
      c.domain = subject.host.substr(first_dot + 1);
  }
  if (session->tls && !session->tls->server_name.empty()) {
    c.name = session->tls->server_name;
  } else if (!subject.server_name.empty()) {
    c.name = subject.server_name;
  } else if (!subject.module.tls_config.server_name.empty()) {
    c.name = subject.module.tls_config.server_name;
  } else {
    c.name = c.host;
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(subject.host, ec);
  c.host_is_address = !subject.mx && !ec;
  if (!subject.module.dns.servers.empty()) {
    // "IP", "IP:PORT" or "[IPV6]:PORT" as dig takes it: "IP -p PORT".
    std::string server = subject.module.dns.servers.front();
    std::string port;
    if (server.starts_with('[')) {
      auto close = server.find(']');
      if (close != std::string::npos && close + 1 < server.size() && server[close + 1] == ':') port = server.substr(close + 2);
      server = server.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    } else if (std::count(server.begin(), server.end(), ':') == 1) {
      port = server.substr(server.find(':') + 1);
      server = server.substr(0, server.find(':'));
    }
    c.dns_server = server + (port.empty() || port == "53" ? "" : " -p " + port);
  }
  return c;
}

CheckReport build_report(const CheckSubject& subject, ProbeResult result) {
  CheckReport report;
  report.subject = subject;
  result.log.clear();
  for (auto& host : result.mx_hosts) host.result.log.clear();

  // The failing phase: the failure's stage, except that a failure at
  // `starttls` after the handshake started is the handshake's (phase `tls`).
  std::optional<Stage> failed;
  if (result.failure) {
    failed = result.failure->stage;
    if (failed == Stage::starttls && result.seconds_in(Stage::tls)) failed = Stage::tls;
  }
  for (const auto& [stage, seconds] : result.stage_seconds) {
    CheckStage s{std::string(to_string(stage)), seconds, true, "ok"};
    if (failed && stage == *failed) {
      s.ok = false;
      s.outcome = std::string(to_string(result.failure->reason)) + ": " + safe_text(result.failure->detail);
    }
    report.stages.push_back(std::move(s));
  }

  RemediationContext context = remediation_context(subject, result);
  for (const Remediation* entry : remediation_for(result, subject.module)) {
    CheckRemediation r{std::string(entry->key), expand(entry->title, context), {}, {}, {}, {}};
    auto fill = [&](const std::vector<std::string_view>& from, std::vector<std::string>& to) {
      for (auto text : from)
        if (auto line = advice_line(text, context)) to.push_back(std::move(*line));
    };
    fill(entry->causes, r.causes);
    fill(entry->fixes, r.fixes);
    fill(entry->docker, r.docker);
    fill(entry->kubernetes, r.kubernetes);
    report.remediation.push_back(std::move(r));
  }

  report.recheck = "smtp_exporter check " + shell_word(subject.target) + " --module " + shell_word(subject.module_name);
  if (!subject.server_name.empty()) report.recheck += " --hostname " + shell_word(subject.server_name);
  if (!subject.config_file.empty()) report.recheck += " --config.file " + shell_word(subject.config_file);
  report.result = std::move(result);
  return report;
}

// ---- Text ------------------------------------------------------------------------------

namespace {

void fact(std::string& out, std::string_view label, const std::string& value) {
  std::string padded(label);
  padded.resize(std::max<std::size_t>(padded.size() + 1, 14), ' ');
  out += "  " + padded + value + "\n";
}

void more(std::string& out, const std::string& value) { out += std::string(16, ' ') + value + "\n"; }

void tls_facts(std::string& out, const probes::TlsInfo& tls, const config::Module& module) {
  fact(out, "TLS", safe_text(tls.version + ", " + tls.cipher) + " (server name " + safe_text(tls.server_name) + ")");
  if (!tls.presented_chain.empty()) {
    const probes::Certificate& leaf = tls.presented_chain.front();
    fact(out, "Certificate", "subject " + safe_text(leaf.subject));
    more(out, "issuer  " + safe_text(leaf.issuer));
    std::string expiry = "expires " + utc_text(leaf.not_after);
    if (tls.leaf_days_to_expiry) expiry += " (" + days_left_text(*tls.leaf_days_to_expiry) + ")";
    more(out, expiry);
  } else {
    fact(out, "Certificate", "none presented");
  }
  if (tls.verified) {
    fact(out, "Verification", "ok (trusted chain, valid dates, name matches)");
  } else {
    std::string text = "failed: " + safe_text(join(tls.verify_errors, ", "));
    if (!tls.verify_detail.empty()) text += " (" + safe_text(tls.verify_detail) + ")";
    if (module.tls == config::TlsMode::opportunistic || module.tls_config.insecure_skip_verify)
      text += "; not failing the probe (" +
              std::string(module.tls == config::TlsMode::opportunistic ? "opportunistic TLS" : "insecure_skip_verify") +
              ")";
    fact(out, "Verification", text);
  }
}

// AUTH and the test message: what the origin documents' SMTP executor
// returns (attempts, each attempt's error type, the token, the recipients).
void send_facts(std::string& out, const ProbeResult& r) {
  if (r.auth_success)
    fact(out, "AUTH", *r.auth_success ? "authenticated with " + safe_text(r.auth_mechanism)
                                       : "failed" + (r.auth_mechanism.empty() ? "" : " with " + safe_text(r.auth_mechanism)));
  if (!r.recipients.empty()) {
    std::vector<std::string> each;
    for (const auto& rcpt : r.recipients)
      each.push_back(safe_text(rcpt.address) + " " + std::to_string(rcpt.code) +
                     (rcpt.code / 100 == 2 ? " (accepted)" : " (refused)"));
    fact(out, "Recipients", join(each, ", "));
  }
  if (!r.message_token.empty())
    fact(out, "Message", std::string(r.message_accepted ? "accepted" : "not accepted") + ", token " + r.message_token);
  if (r.attempts) {
    fact(out, "Attempts", std::to_string(*r.attempts) + (r.retried.empty() ? "" : " (retried after a temporary failure)"));
    for (std::size_t i = 0; i < r.retried.size(); ++i)
      more(out, "attempt " + std::to_string(i + 1) + ": " + failure_text(r.retried[i]));
  }
}

std::string host_summary(const probes::MxHost& h) {
  std::string text = safe_text(h.exchange) + " (preference " + std::to_string(h.preference) + ", " + h.ip + "): ";
  const ProbeResult& r = h.result;
  if (r.failure) {
    text += failure_text(*r.failure);
  } else {
    text += "ok";
    if (r.banner_code && r.banner_latency_seconds)
      text += ", greeting " + std::to_string(*r.banner_code) + " in " + milliseconds_text(*r.banner_latency_seconds);
  }
  if (r.tls && r.tls->leaf_days_to_expiry)
    text += ", certificate " + days_left_text(*r.tls->leaf_days_to_expiry) + (r.tls->verified ? "" : " (not verified)");
  return text;
}

}  // namespace

std::string render_check_text(const CheckReport& report) {
  const CheckSubject& s = report.subject;
  const ProbeResult& r = report.result;
  std::string out = "Check of " + safe_text(s.target) + " with module " + safe_text(s.module_name) + ": " +
                    std::string(probes::title(r.health.status)) + " (" + milliseconds_text(r.duration_seconds) + ")\n";

  out += "\nStages:\n";
  for (const auto& stage : report.stages) {
    std::string name = stage.name;
    name.resize(10, ' ');
    std::string time = milliseconds_text(stage.seconds);
    time.insert(0, time.size() < 10 ? 10 - time.size() : 0, ' ');
    out += "  " + name + time + "  " + stage.outcome + "\n";
  }
  if (report.stages.empty()) out += "  (none ran)\n";

  out += "\nFacts:\n";
  if (r.failure) fact(out, "Failure", failure_text(*r.failure));
  if (s.mx) {
    fact(out, "Mail domain", safe_text(s.host) + ", port " + std::to_string(s.port));
  } else if (!r.ip.empty()) {
    fact(out, "Address", r.ip + " (IPv" + std::to_string(r.ip_protocol.value_or(4)) + "), port " + std::to_string(s.port));
  } else {
    fact(out, "Host", safe_text(s.host) + ", port " + std::to_string(s.port) + " (no address)");
  }
  if (r.banner_code) {
    std::string first = r.banner_lines.empty() ? "" : " " + safe_text(r.banner_lines.front());
    std::string latency = r.banner_latency_seconds ? " (after " + milliseconds_text(*r.banner_latency_seconds) + ")" : "";
    fact(out, "Greeting", std::to_string(*r.banner_code) + first + latency);
    for (std::size_t i = 1; i < r.banner_lines.size(); ++i)
      more(out, std::to_string(*r.banner_code) + " " + safe_text(r.banner_lines[i]));
  }
  if (r.helo_fallback) fact(out, "EHLO", "rejected; HELO accepted (no extensions known)");
  if (!r.extensions.empty()) {
    std::vector<std::string> names;
    for (const auto& e : r.extensions) names.push_back(extension_text(e));
    // After a failed handshake the list is the one advertised before TLS.
    std::string when = r.tls_established                                                     ? " (over TLS)"
                       : s.module.tls != config::TlsMode::none && r.starttls_offered.value_or(false) ? " (before TLS)"
                                                                                                 : "";
    fact(out, "Extensions", join(names, ", ") + when);
  }
  if (r.starttls_offered) fact(out, "STARTTLS", *r.starttls_offered ? "offered" : "not offered");
  if (r.auth_before_tls && *r.auth_before_tls)
    fact(out, "AUTH", "offered before TLS: credentials could be sent unencrypted");
  if (r.tls) tls_facts(out, *r.tls, s.module);
  send_facts(out, r);
  if (r.mx) {
    const probes::MxInfo& mx = *r.mx;
    if (mx.null_mx) {
      fact(out, "MX records", "null MX (MX 0 .): the domain accepts no mail");
    } else if (mx.implicit) {
      fact(out, "MX records", "none: mail goes to the domain's own address (implicit MX)");
    } else if (!mx.records.empty()) {
      std::vector<std::string> records;
      for (const auto& rec : mx.records) records.push_back(std::to_string(rec.preference) + " " + safe_text(rec.exchange));
      fact(out, "MX records", join(records, ", "));
    }
    if (!r.mx_hosts.empty()) {
      std::vector<std::string> hosts;
      for (const auto& h : r.mx_hosts)
        if (std::find(hosts.begin(), hosts.end(), h.exchange) == hosts.end()) hosts.push_back(h.exchange);
      fact(out, "Reachable", std::to_string(mx.reachable) + " of " + std::to_string(hosts.size()) + " MX host(s)");
      out += "  MX hosts:\n";
      for (const auto& h : r.mx_hosts) out += "    " + host_summary(h) + "\n";
    }
  }

  out += "\nFindings:\n";
  for (const auto& finding : r.health.findings) out += "  - " + safe_text(finding) + "\n";
  if (r.health.findings.empty()) out += "  none: the server works as expected\n";

  for (const auto& entry : report.remediation) {
    out += "\n" + entry.key + ": " + entry.title + "\n";
    out += "  Likely causes:\n";
    for (const auto& line : entry.causes) out += "    - " + line + "\n";
    out += "  How to fix:\n";
    auto platform = [&](std::string_view name, const std::vector<std::string>& lines) {
      if (lines.empty()) return;
      out += "    " + std::string(name) + ":\n";
      for (const auto& line : lines) out += "      - " + line + "\n";
    };
    platform("Debian / systemd", entry.fixes);
    platform("Docker", entry.docker);
    platform("Kubernetes", entry.kubernetes);
  }

  out += "\nCheck again: " + report.recheck + "\n";
  return out;
}

// ---- JSON ------------------------------------------------------------------------------

std::string render_check_json(const CheckReport& report) {
  const CheckSubject& s = report.subject;
  const ProbeResult& r = report.result;

  json::Value stages = json::Value::array();
  for (const auto& stage : report.stages)
    stages.push_back({{"name", text(stage.name)}, {"seconds", number(stage.seconds)}, {"ok", stage.ok}});

  json::Value greeting;  // null
  if (r.banner_code)
    greeting = {{"code", *r.banner_code},
                {"lines", texts(r.banner_lines)},
                {"latencySeconds", or_null(r.banner_latency_seconds, number)}};

  std::vector<std::string> extensions;
  for (const auto& e : r.extensions) extensions.push_back(e.params.empty() ? e.keyword : e.keyword + " " + e.params);

  json::Value mx;  // null
  if (r.mx) {
    json::Value records = json::Value::array();
    for (const auto& record : r.mx->records)
      records.push_back({{"exchange", text(record.exchange.empty() ? "." : record.exchange)},
                         {"preference", record.preference}});
    json::Value hosts = json::Value::array();
    for (const auto& h : r.mx_hosts)
      hosts.push_back({{"exchange", text(h.exchange)},
                       {"preference", h.preference},
                       {"ip", text(h.ip)},
                       {"reachable", h.reachable},
                       {"success", h.result.success},
                       {"greetingCode", or_null(h.result.banner_code, [](int code) { return code; })},
                       {"failure", json_failure(h.result.failure)},
                       {"tls", or_null(h.result.tls, json_tls)}});
    mx = {{"domain", text(s.host)},
          {"records", std::move(records)},
          {"implicit", r.mx->implicit},
          {"nullMx", r.mx->null_mx},
          {"reachable", r.mx->reachable},
          {"hosts", std::move(hosts)}};
  }

  // Each finding with a stable id, for machines (the text is for people).
  json::Value details = json::Value::array();
  for (const auto& finding : r.health.entries) {
    FindingId id = identify(finding, r);
    details.push_back({{"checkId", text(id.check_id)},
                       {"severity", text(probes::to_string(finding.severity))},
                       {"category", text(id.category)},
                       {"runbook_url", id.runbook_url.empty() ? json::Value(nullptr) : text(id.runbook_url)},
                       {"text", text(finding.text)}});
  }

  // AUTH and the test message (null when the module has neither).
  json::Value send;
  if (r.attempts) {
    json::Value recipients = json::Value::array();
    for (const auto& rcpt : r.recipients)
      recipients.push_back({{"address", text(rcpt.address)}, {"code", rcpt.code}, {"accepted", rcpt.code / 100 == 2}});
    json::Value attempt_errors = json::Value::array();
    for (const auto& f : r.retried) attempt_errors.push_back(json_failure(f));
    send = {{"attempts", *r.attempts},
            {"attemptErrors", std::move(attempt_errors)},
            {"authenticated", or_null(r.auth_success, [](bool ok) { return ok; })},
            {"authMechanism", r.auth_mechanism.empty() ? json::Value(nullptr) : text(r.auth_mechanism)},
            {"recipients", std::move(recipients)},
            {"token", r.message_token.empty() ? json::Value(nullptr) : text(r.message_token)},
            {"messageAccepted", r.message_accepted},
            {"errorType", r.failure ? text(probes::to_string(r.failure->reason)) : json::Value(nullptr)}};
  }

  json::Value remediation = json::Value::array();
  for (const auto& e : report.remediation)
    remediation.push_back({{"key", text(e.key)},
                           {"title", text(e.title)},
                           {"causes", texts(e.causes)},
                           {"fixes", texts(e.fixes)},
                           {"docker", texts(e.docker)},
                           {"kubernetes", texts(e.kubernetes)}});

  json::Value out{{"target", text(s.target)},
                  {"module", text(s.module_name)},
                  {"status", text(probes::title(r.health.status))},
                  {"durationMs", number(r.duration_seconds * 1000)},
                  {"timeoutSeconds", number(r.timeout_seconds)},
                  {"host", text(s.host)},
                  {"port", s.port},
                  {"address", r.ip.empty() ? json::Value(nullptr) : text(r.ip)},
                  {"stages", std::move(stages)},
                  {"failure", json_failure(r.failure)},
                  {"findings", texts(r.health.findings)},
                  {"findingDetails", std::move(details)},
                  {"greeting", std::move(greeting)},
                  {"extensions", texts(extensions)},
                  {"authMechanisms", texts(r.auth_mechanisms)},
                  {"starttlsOffered", or_null(r.starttls_offered, [](bool offered) { return offered; })},
                  {"tls", or_null(r.tls, json_tls)},
                  {"mx", std::move(mx)},
                  {"send", std::move(send)},
                  {"remediation", std::move(remediation)},
                  {"recheck", text(report.recheck)}};
  return json::dump(out) + "\n";
}

}  // namespace smtp_exporter::exporter
