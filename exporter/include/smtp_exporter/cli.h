// Command-line flags, in the Prometheus style: --name=value or --name value.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace smtp_exporter::exporter {

struct Options {
  std::vector<std::string> listen_addresses;  // default {":9587"}
  std::string config_file;                    // empty: built-in modules
  std::string web_config_file;                // empty: plain HTTP, no authentication
  bool config_check = false;                  // validate the config and exit
  std::string log_level = "info";
  std::string log_format = "logfmt";
  double timeout_offset_seconds = 0.5;
  unsigned threads = 1;
  bool help = false;
  bool version = false;
};

// One "--name[=value]" argument at args[i] (taking the value from args[i+1]
// when it is not attached; i then moves past it). `takes_value` says whether
// a known flag has a value, nullopt for an unknown flag. nullopt with a
// one-line `error` when the argument does not fit.
struct FlagArgument {
  std::string name;
  std::string value;
};
std::optional<FlagArgument> read_flag(const std::vector<std::string>& args, std::size_t& i,
                                      const std::function<std::optional<bool>(const std::string&)>& takes_value,
                                      std::string& error);

// nullopt with a one-line `error` on an unknown flag or a bad value.
std::optional<Options> parse_flags(const std::vector<std::string>& args, std::string& error);
std::string usage();

}  // namespace smtp_exporter::exporter
