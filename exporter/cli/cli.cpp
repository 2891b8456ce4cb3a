#include "smtp_exporter/cli.h"

#include <charconv>
#include <cmath>

#include "smtp_exporter/config.h"

namespace smtp_exporter::exporter {
namespace {

// In name order: the usage lists them as the table has them.
const FlagTable<Options>& flags() {
  static const FlagTable<Options> table{
      switch_flag("config.check", &Options::config_check,
                  "Validate the configuration, print a summary and exit (0 valid, 1 invalid)."),
      string_flag("config.file", "VALUE", &Options::config_file, "TOML configuration file. Default: the built-in modules."),
      switch_flag("help", &Options::help, "Show this help and exit."),
      string_flag("log.format", "VALUE", &Options::log_format, "Log format: logfmt or json. Default \"logfmt\"."),
      string_flag("log.level", "VALUE", &Options::log_level,
                  "Only log messages at or above this level: debug, info, warn, error. Default \"info\"."),
      {"runtime.threads", "VALUE", "Threads running the event loop. Default 1 (enough for thousands of probes).",
       [](Options& o, const std::string& v, std::string& error) {
         unsigned n = 0;
         auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
         if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > 256) {
           error = "--runtime.threads: \"" + v + "\" is not a number from 1 to 256";
           return false;
         }
         o.threads = n;
         return true;
       }},
      {"timeout-offset", "VALUE",
       "Subtracted from Prometheus' scrape timeout to bound probes. Default 0.5 (seconds) or e.g. \"500ms\".",
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
       }},
      switch_flag("version", &Options::version, "Print the version and exit."),
      string_flag("web.config.file", "VALUE", &Options::web_config_file,
                  "Web configuration file (exporter-toolkit YAML): TLS and basic authentication. Default: none."),
      {"web.listen-address", "VALUE",
       "Address to listen on; repeatable. \":PORT\" means every IPv6 and IPv4 address. Default \":9587\".",
       [](Options& o, const std::string& v, std::string&) {
         o.listen_addresses.push_back(v);
         return true;
       }},
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
  auto unexpected = [](const std::string& arg, std::string& why) {
    why = "unexpected argument \"" + arg + "\"";
    return false;
  };
  if (!parse_flag_table(flags(), args, options, unexpected, error)) return std::nullopt;
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
  return out + flag_table_usage(flags());
}

}  // namespace smtp_exporter::exporter
