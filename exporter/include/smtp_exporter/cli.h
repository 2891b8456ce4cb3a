// Command-line flags, in the Prometheus style: --name=value or --name value.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
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

// One flag of a command (the exporter, `check`), for parse_flag_table and
// flag_table_usage: the name without "--", the placeholder of its value in
// the usage (empty: a switch, which takes no value), the help, and what it
// does with the value (false with a one-line `error` for a bad value).
template <typename Options>
struct Flag {
  std::string name;
  std::string value_name;
  std::string help;
  std::function<bool(Options&, const std::string& value, std::string& error)> apply;
};
template <typename Options>
using FlagTable = std::vector<Flag<Options>>;

template <typename Options>
Flag<Options> string_flag(std::string name, std::string value_name, std::string Options::*member, std::string help) {
  return {std::move(name), std::move(value_name), std::move(help),
          [member](Options& o, const std::string& v, std::string&) { return (o.*member = v), true; }};
}

template <typename Options>
Flag<Options> switch_flag(std::string name, bool Options::*member, std::string help) {
  return {std::move(name), "", std::move(help),
          [member](Options& o, const std::string&, std::string&) { return (o.*member = true); }};
}

// Applies every argument to `options`: "-h" sets options.help, "--name[=value]"
// and "--name value" run the flag of `table`, anything else goes to
// `positional`. false with a one-line `error` at the first that does not fit.
template <typename Options>
bool parse_flag_table(const FlagTable<Options>& table, const std::vector<std::string>& args, Options& options,
                      const std::function<bool(const std::string& arg, std::string& error)>& positional,
                      std::string& error) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h") {
      options.help = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      if (!positional(arg, error)) return false;
      continue;
    }
    const Flag<Options>* flag = nullptr;
    auto takes_value = [&](const std::string& name) -> std::optional<bool> {
      for (const auto& known : table)
        if (known.name == name) return (flag = &known), !known.value_name.empty();
      return std::nullopt;
    };
    auto parsed = read_flag(args, i, takes_value, error);
    if (!parsed || !flag->apply(options, parsed->value, error)) return false;
  }
  return true;
}

// "  --name=VALUE_NAME" (or "  --name" for a switch), then "      help", one
// flag after the other in table order.
template <typename Options>
std::string flag_table_usage(const FlagTable<Options>& table) {
  std::string out;
  for (const auto& flag : table) {
    out.append("  --").append(flag.name);
    if (!flag.value_name.empty()) out.append("=").append(flag.value_name);
    out.append("\n      ").append(flag.help).append("\n");
  }
  return out;
}

// nullopt with a one-line `error` on an unknown flag or a bad value.
std::optional<Options> parse_flags(const std::vector<std::string>& args, std::string& error);
std::string usage();

}  // namespace smtp_exporter::exporter
