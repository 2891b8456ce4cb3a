// Parsing of what a scraper sends to /probe: the query string and the target.
// Pure functions; every rejection comes with a one-line reason for the 400.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace smtp_exporter::exporter {

// Decodes %XX escapes and '+' (form encoding); nullopt when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view text);

// "a=1&b=x%20y" → {a: "1", b: "x y"}. A repeated key keeps its first value
// (as Go's url.Values.Get does for blackbox_exporter). nullopt + error on
// malformed encoding.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query, std::string& error);

struct Target {
  std::string host;  // DNS name or IP literal (IPv6 without brackets)
  std::optional<std::uint16_t> port;
};

// The probe's deadline: the module's timeout, lowered to the scrape timeout
// Prometheus announces (X-Prometheus-Scrape-Timeout-Seconds) minus `offset`, so
// the probe ends before Prometheus gives up on the scrape. When the offset is
// not smaller than the scrape timeout, the scrape timeout itself is the bound.
// `header` is null when the request has no such header; nullopt + error when
// its value is not a positive number.
std::optional<std::chrono::milliseconds> probe_timeout(std::chrono::milliseconds module_timeout,
                                                       const std::string* header, double offset_seconds,
                                                       std::string& error);

// HOST, HOST:PORT, IPv4, IPv4:PORT, [IPv6], [IPv6]:PORT or a bare IPv6 literal.
std::optional<Target> parse_target(std::string_view text, std::string& error);

}  // namespace smtp_exporter::exporter
