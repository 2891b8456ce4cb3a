// The service extensions of an EHLO reply (RFC 5321 §4.1.1.1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smtp_exporter/probe_result.h"
#include "smtp_reply.h"

namespace smtp_exporter::probes {

struct EhloInfo {
  std::vector<EhloExtension> extensions;  // in advertised order, keywords unique
  // SIZE with a number, or without one (0: no fixed limit, RFC 1870); unset
  // when not advertised or when its parameter is not a number that fits in
  // 64 bits (then size_unparsable holds it: never read as 0, "no limit").
  std::optional<std::uint64_t> size_limit;
  std::optional<std::string> size_unparsable;
  std::vector<std::string> auth_mechanisms;  // from AUTH (and the old "AUTH=" form)
  std::vector<std::string> ignored_lines;    // lines that are not a valid ehlo-line
};

// `reply` is a complete 250 reply; its first line is the server's greeting.
EhloInfo parse_ehlo(const Reply& reply);

}  // namespace smtp_exporter::probes
