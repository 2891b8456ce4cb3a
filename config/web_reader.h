// [web] and [limits] of the TOML configuration (config/web.cpp, config/limits.cpp).
#pragma once

#include <string>
#include <toml++/toml.h>

#include "smtp_exporter/config.h"

namespace smtp_exporter::config {

// Letters, digits, '-' and '_' in dot-separated labels of 1 to 63 characters.
bool valid_host_name(std::string_view name);
// An IPv4 or IPv6 literal (no brackets, no zone) into `out`; false otherwise.
bool parse_address(std::string_view text, std::array<unsigned char, 16>& out, bool& ipv6);

// Reads and validates the [web] table. Throws ConfigError.
WebSettings read_web(const toml::table& table, const std::string& file);

// Reads and validates the [limits] table (config/limits.cpp). Throws ConfigError.
Limits read_limits(const toml::table& table, const std::string& file);

}  // namespace smtp_exporter::config
