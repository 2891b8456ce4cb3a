// Content-Encoding: gzip for the exposition (/metrics, /probe), as Prometheus
// asks for it and exporter-toolkit servers answer: scrapes of many series
// shrink several times over.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace smtp_exporter::exporter {

// Whether an Accept-Encoding header value allows gzip (RFC 9110 §12.5.3):
// "gzip" or "*" listed with a q-value above 0.
bool accepts_gzip(std::string_view accept_encoding);

// The gzip (RFC 1952) form of `data`.
std::string gzip(std::string_view data);

// The data of a gzip stream, or nullopt when it is not one or would exceed
// `limit` bytes (for reading what gzip() wrote, and compressed inputs).
std::optional<std::string> gunzip(std::string_view data, std::size_t limit = 16 << 20);

}  // namespace smtp_exporter::exporter
