#include "http/pages.h"

#include <cstdio>

#include "smtp_exporter/version.h"
#include "views/text.h"

namespace smtp_exporter::exporter {

std::string landing_page(const config::Config& config, const std::vector<HistoryEntry>& recent,
                         const std::string& base) {
  const std::string href = html_escape(base);
  std::string html =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>SMTP Exporter</title>"
      "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}</style></head><body>\n"
      "<h1>SMTP Exporter</h1>\n<p>Version " + std::string(kVersion) + " (" + std::string(kRevision) + ")</p>\n"
      "<form action=\"" + href + "/probe\">Target <input name=\"target\" placeholder=\"mail.example.com:25\"> Module "
      "<select name=\"module\">";
  for (const auto& [name, module] : config.modules)
    html += "<option>" + html_escape(name) + "</option>";
  auto link = [&href](const char* route, const char* label) {
    return "<li><a href=\"" + href + route + "\">" + label + "</a></li>";
  };
  html += "</select> <label><input type=\"checkbox\" name=\"debug\" value=\"true\"> debug</label> "
          "<input type=\"submit\" value=\"Probe\"></form>\n<ul>" +
          link("/probe?target=localhost:25&amp;module=smtp_banner&amp;debug=true", "Probe localhost:25 (debug)") +
          link("/metrics", "Exporter metrics") + link("/config", "Configuration") + link("/healthz", "Health (JSON)") +
          link("/-/healthy", "Liveness") + "</ul>\n<h2>Modules</h2>\n"
          "<table><tr><th>Name</th><th>Port</th><th>TLS</th><th>Timeout</th></tr>\n";
  for (const auto& [name, m] : config.modules)
    html += "<tr><td>" + html_escape(name) + "</td><td>" + std::to_string(m.port) + "</td><td>" +
            std::string(config::to_string(m.tls)) + "</td><td>" + config::format_duration(m.timeout) + "</td></tr>\n";
  html += "</table>\n<h2>Recent Probes</h2>\n<table><tr><th>Module</th><th>Target</th><th>Result</th>"
          "<th>Time</th><th>Duration</th><th>Debug</th></tr>\n";
  for (const auto& e : recent) {
    char duration[32];
    std::snprintf(duration, sizeof duration, "%.3fs", e.duration_seconds);
    html += "<tr><td>" + html_escape(e.module) + "</td><td>" + html_escape(e.target) + "</td><td>" +
            (e.success ? "Success" : "<strong>Failure</strong>") + "</td><td>" + rfc3339(e.at) + "</td><td>" +
            duration + "</td><td><a href=\"" + href + "/logs?id=" + std::to_string(e.id) + "\">Logs</a></td></tr>\n";
  }
  html += "</table>\n</body></html>\n";
  return html;
}

}  // namespace smtp_exporter::exporter
