// [web] and [limits] of the TOML configuration (config/web.cpp, config/limits.cpp).
#pragma once

#include <string>
#include <toml++/toml.h>

#include "smtp_exporter/config.h"

namespace smtp_exporter::config {

// Reads and validates the [web] table. Throws ConfigError.
WebSettings read_web(const toml::table& table, const std::string& file);

// Reads and validates the [limits] table (config/limits.cpp). Throws ConfigError.
Limits read_limits(const toml::table& table, const std::string& file);

}  // namespace smtp_exporter::config
