// [web] of the TOML configuration (config/web.cpp).
#pragma once

#include <string>
#include <toml++/toml.h>

#include "smtp_exporter/config.h"

namespace smtp_exporter::config {

// Reads and validates the [web] table. Throws ConfigError.
WebSettings read_web(const toml::table& table, const std::string& file);

}  // namespace smtp_exporter::config
