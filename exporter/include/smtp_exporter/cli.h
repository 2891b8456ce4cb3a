// Command-line flags, in the Prometheus style: --name=value or --name value.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace smtp_exporter::exporter {

struct Options {
  std::vector<std::string> listen_addresses;  // default {":9587"}
  std::string config_file;                    // empty: built-in modules
  bool config_check = false;                  // validate the config and exit
  std::string log_level = "info";
  std::string log_format = "logfmt";
  double timeout_offset_seconds = 0.5;
  unsigned threads = 1;
  bool help = false;
  bool version = false;
};

// nullopt with a one-line `error` on an unknown flag or a bad value.
std::optional<Options> parse_flags(const std::vector<std::string>& args, std::string& error);
std::string usage();

}  // namespace smtp_exporter::exporter
