#pragma once

#include <toml++/toml.h>

#include "smtp_exporter/config.h"

namespace smtp_exporter::config {

// Reads and validates one [modules.NAME] table; throws ConfigError.
Module read_module(const toml::table& table, const std::string& path, const std::string& file);

}  // namespace smtp_exporter::config
