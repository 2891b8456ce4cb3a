// Content-Encoding: gzip for the exposition (/metrics, /probe), as Prometheus
// asks for it and exporter-toolkit servers answer: scrapes of many series
// shrink several times over.
#pragma once

#include <string>
#include <string_view>

namespace smtp_exporter::exporter {

// Whether an Accept-Encoding header value allows gzip (RFC 9110 §12.5.3):
// "gzip" or "*" listed with a q-value above 0.
bool accepts_gzip(std::string_view accept_encoding);

// The gzip (RFC 1952) form of `data`.
std::string gzip(std::string_view data);

}  // namespace smtp_exporter::exporter
