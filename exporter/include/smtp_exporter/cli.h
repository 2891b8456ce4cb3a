// Command-line flags, in the Prometheus style: --name=value or --name value.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace smtp_exporter::exporter {

struct Options {
  std::vector<std::string> listen_addresses;  // default {":9587"}; empty with --web.systemd-socket
  std::string config_file;                    // empty: built-in modules
  std::string web_config_file;                // empty: plain HTTP, no authentication
  // --web.external-url, without a trailing '/' (empty: not given): the
  // absolute links of the landing page start with it.
  std::string external_url;
  // --web.route-prefix, normalized to "/" or "/a/b" (no trailing '/'); when
  // not given, the path of --web.external-url (as Prometheus does).
  std::string route_prefix = "/";
  bool systemd_socket = false;  // listen on the sockets systemd passes (LISTEN_FDS)
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

// --web.external-url: "http" or "https", "://", a host (name, IPv4, or
// [IPv6]), an optional port and path; no query, fragment or user info. The
// URL without trailing '/', or nullopt with a one-line `error`.
std::optional<std::string> parse_external_url(const std::string& url, std::string& error);
// The path of an external URL ("" when it has none).
std::string url_path(const std::string& url);
// --web.route-prefix as Prometheus normalizes it: "/" + the path without
// leading and trailing '/'. nullopt with a one-line `error` for a character
// that cannot be in a path (space, control, '?', '#').
std::optional<std::string> normalize_route_prefix(const std::string& prefix, std::string& error);

// nullopt with a one-line `error` on an unknown flag or a bad value.
std::optional<Options> parse_flags(const std::vector<std::string>& args, std::string& error);
std::string usage();

}  // namespace smtp_exporter::exporter
