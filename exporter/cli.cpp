#include "smtp_exporter/cli.h"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>

#include "smtp_exporter/config.h"

namespace smtp_exporter::exporter {
namespace {

struct Flag {
  bool takes_value;
  std::function<bool(Options&, const std::string&, std::string&)> apply;
  const char* help;
};

Flag string_flag(std::string Options::*member, const char* help) {
  return {true, [member](Options& o, const std::string& v, std::string&) { return (o.*member = v), true; }, help};
}

Flag switch_flag(bool Options::*member, const char* help) {
  return {false, [member](Options& o, const std::string&, std::string&) { return (o.*member = true); }, help};
}

const std::map<std::string, Flag>& flags() {
  static const std::map<std::string, Flag> table{
      {"web.listen-address",
       {true,
        [](Options& o, const std::string& v, std::string&) {
          o.listen_addresses.push_back(v);
          return true;
        },
        "Address to listen on; repeatable. \":PORT\" means every IPv6 and IPv4 address. Default \":9587\"."}},
      {"web.config.file",
       string_flag(&Options::web_config_file,
                   "Web configuration file (exporter-toolkit YAML): TLS and basic authentication. Default: none.")},
      {"config.file", string_flag(&Options::config_file, "TOML configuration file. Default: the built-in modules.")},
      {"config.check", switch_flag(&Options::config_check, "Validate the configuration, print a summary and exit (0 valid, 1 invalid).")},
      {"log.level", string_flag(&Options::log_level, "Only log messages at or above this level: debug, info, warn, error. Default \"info\".")},
      {"log.format", string_flag(&Options::log_format, "Log format: logfmt or json. Default \"logfmt\".")},
      {"timeout-offset",
       {true,
        [](Options& o, const std::string& v, std::string& error) {
          // Seconds ("0.5", as blackbox_exporter) or a duration ("500ms").
          double seconds = 0;
          auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
          if (ec == std::errc() && end == v.data() + v.size() && std::isfinite(seconds) && seconds >= 0) {
            o.timeout_offset_seconds = seconds;
            return true;
          }
          if (auto d = config::parse_duration(v)) {
            o.timeout_offset_seconds = std::chrono::duration<double>(*d).count();
            return true;
          }
          error = "--timeout-offset: \"" + v + "\" is neither seconds nor a duration";
          return false;
        },
        "Subtracted from Prometheus' scrape timeout to bound probes. Default 0.5 (seconds) or e.g. \"500ms\"."}},
      {"runtime.threads",
       {true,
        [](Options& o, const std::string& v, std::string& error) {
          unsigned n = 0;
          auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
          if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > 256) {
            error = "--runtime.threads: \"" + v + "\" is not a number from 1 to 256";
            return false;
          }
          o.threads = n;
          return true;
        },
        "Threads running the event loop. Default 1 (enough for thousands of probes)."}},
      {"help", switch_flag(&Options::help, "Show this help and exit.")},
      {"version", switch_flag(&Options::version, "Print the version and exit.")},
  };
  return table;
}

}  // namespace

std::optional<FlagArgument> read_flag(const std::vector<std::string>& args, std::size_t& i,
                                      const std::function<std::optional<bool>(const std::string&)>& takes_value,
                                      std::string& error) {
  const std::string& arg = args[i];
  auto eq = arg.find('=');
  FlagArgument flag{arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2), {}};
  auto has_value = takes_value(flag.name);
  if (!has_value) {
    error = "unknown flag --" + flag.name;
    return std::nullopt;
  }
  if (*has_value) {
    if (eq != std::string::npos) {
      flag.value = arg.substr(eq + 1);
    } else if (i + 1 < args.size()) {
      flag.value = args[++i];
    } else {
      error = "flag --" + flag.name + " needs a value";
      return std::nullopt;
    }
  } else if (eq != std::string::npos) {
    error = "flag --" + flag.name + " takes no value";
    return std::nullopt;
  }
  return flag;
}

std::optional<Options> parse_flags(const std::vector<std::string>& args, std::string& error) {
  Options options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h") {
      options.help = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      error = "unexpected argument \"" + arg + "\"";
      return std::nullopt;
    }
    auto flag = read_flag(
        args, i,
        [](const std::string& name) -> std::optional<bool> {
          auto known = flags().find(name);
          if (known == flags().end()) return std::nullopt;
          return known->second.takes_value;
        },
        error);
    if (!flag) return std::nullopt;
    if (!flags().at(flag->name).apply(options, flag->value, error)) return std::nullopt;
  }
  if (options.listen_addresses.empty()) options.listen_addresses.push_back(":9587");
  return options;
}

std::string usage() {
  std::string out =
      "usage: smtp_exporter [flags]\n"
      "       smtp_exporter check TARGET [--module NAME] [--config.file FILE] [--output text|json]\n"
      "                           [--timeout DURATION] [--hostname NAME]\n\n"
      "Prometheus exporter probing SMTP servers: scrape /probe?target=HOST[:PORT]&module=NAME.\n\n"
      "Commands:\n"
      "  check TARGET\n"
      "      Probe TARGET once and print a diagnosis with likely causes and fixes; exit 0 healthy,\n"
      "      1 degraded, 2 unhealthy, 3 usage or configuration error (see smtp_exporter check --help).\n\n"
      "Flags:\n";
  for (const auto& [name, flag] : flags())
    out += "  --" + name + (flag.takes_value ? "=VALUE" : "") + "\n      " + flag.help + "\n";
  return out;
}

}  // namespace smtp_exporter::exporter
