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

using probes::failure_text;
using probes::milliseconds_text;
using probes::ProbeResult;
using probes::Stage;

namespace {

// ---- Text helpers ----------------------------------------------------------------------

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
  // Each unit's facts, in registry order (probes::report).
  probes::Report units = probes::report(r, s.module);
  for (const auto& f : units.facts) {
    fact(out, f.label, f.lines.empty() ? "" : f.lines.front());
    for (std::size_t i = 1; i < f.lines.size(); ++i) more(out, f.lines[i]);
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
  using probes::json_failure;
  using probes::json_number;
  using probes::json_text;
  using probes::json_texts;
  const CheckSubject& s = report.subject;
  const ProbeResult& r = report.result;

  json::Value stages = json::Value::array();
  for (const auto& stage : report.stages)
    stages.push_back({{"name", json_text(stage.name)}, {"seconds", json_number(stage.seconds)}, {"ok", stage.ok}});

  // Each finding with a stable id, for machines (the text is for people).
  json::Value details = json::Value::array();
  for (const auto& finding : r.health.entries) {
    FindingId id = identify(finding, r);
    details.push_back({{"checkId", json_text(id.check_id)},
                       {"severity", json_text(probes::to_string(finding.severity))},
                       {"category", json_text(id.category)},
                       {"runbook_url", id.runbook_url.empty() ? json::Value(nullptr) : json_text(id.runbook_url)},
                       {"text", json_text(finding.text)}});
  }

  json::Value remediation = json::Value::array();
  for (const auto& e : report.remediation)
    remediation.push_back({{"key", json_text(e.key)},
                           {"title", json_text(e.title)},
                           {"causes", json_texts(e.causes)},
                           {"fixes", json_texts(e.fixes)},
                           {"docker", json_texts(e.docker)},
                           {"kubernetes", json_texts(e.kubernetes)}});

  json::Value out{{"target", json_text(s.target)},
                  {"module", json_text(s.module_name)},
                  {"status", json_text(probes::title(r.health.status))},
                  {"durationMs", json_number(r.duration_seconds * 1000)},
                  {"timeoutSeconds", json_number(r.timeout_seconds)},
                  {"host", json_text(s.host)},
                  {"port", s.port},
                  {"address", r.ip.empty() ? json::Value(nullptr) : json_text(r.ip)},
                  {"stages", std::move(stages)},
                  {"failure", json_failure(r.failure)},
                  {"findings", json_texts(r.health.findings)},
                  {"findingDetails", std::move(details)}};
  // Each unit's part (greeting, extensions, tls, mx, send, ...), in registry order.
  probes::Report units = probes::report(r, s.module);  // named: a temporary would die before the loop
  for (auto& [key, value] : units.check.items()) out[key] = std::move(value);
  out["remediation"] = std::move(remediation);
  out["recheck"] = json_text(report.recheck);
  return json::dump(out) + "\n";
}

}  // namespace smtp_exporter::exporter
