#include "smtp_exporter/cli.h"

#include <algorithm>
#include <cctype>
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
      {"web.external-url", "URL",
       "The URL under which the exporter is reachable (e.g. behind a reverse proxy): the landing page's links "
       "start with it, and its path is the default of --web.route-prefix. Default: none (links start with the "
       "route prefix).",
       [](Options& o, const std::string& v, std::string& error) {
         auto url = parse_external_url(v, error);
         return url && (o.external_url = *url, true);
       }},
      {"web.listen-address", "VALUE",
       "Address to listen on; repeatable. \":PORT\" means every IPv6 and IPv4 address. Default \":9587\".",
       [](Options& o, const std::string& v, std::string&) {
         o.listen_addresses.push_back(v);
         return true;
       }},
      {"web.route-prefix", "PATH",
       "Prefix of every HTTP route (/PATH/metrics, /PATH/probe, ...). Default: the path of --web.external-url, "
       "else \"/\".",
       [](Options& o, const std::string& v, std::string& error) {
         if (v.empty()) return true;  // as if not given (Prometheus)
         auto prefix = normalize_route_prefix(v, error);
         if (!prefix) error = "--web.route-prefix: " + error;
         return prefix && (o.route_prefix = *prefix, true);
       }},
      switch_flag("web.systemd-socket", &Options::systemd_socket,
                  "Listen on the sockets passed by systemd socket activation (LISTEN_FDS) instead of "
                  "--web.listen-address."),
  };
  return table;
}

// A character that cannot stand in a URL path as it is.
bool bad_path_char(char c) {
  return std::iscntrl(static_cast<unsigned char>(c)) || c == ' ' || c == '?' || c == '#' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool host_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'; }

// Why `authority` ("HOST", "HOST:PORT", "[IPV6]", "[IPV6]:PORT") is not one, or "".
std::string bad_authority(const std::string& authority) {
  if (authority.find('@') != std::string::npos) return "must not contain user information";
  std::size_t port_colon = std::string::npos;
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string::npos) return "IPv6 address without ']'";
    std::string v6 = authority.substr(1, close - 1);
    if (v6.empty() || v6.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
      return "\"" + v6 + "\" is not an IPv6 address";
    if (close + 1 < authority.size() && authority[close + 1] != ':')
      return "unexpected \"" + authority.substr(close + 1) + "\" after the IPv6 address";
    if (close + 1 < authority.size()) port_colon = close + 1;
  } else {
    port_colon = authority.find(':');
    std::string host = authority.substr(0, port_colon);
    if (host.empty()) return "has no host";
    if (!std::all_of(host.begin(), host.end(), host_name_char)) return "\"" + host + "\" is not a host name";
  }
  if (port_colon == std::string::npos) return "";
  std::string port = authority.substr(port_colon + 1);
  unsigned number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number > 65535)
    return "port \"" + port + "\" is not a number from 0 to 65535";
  return "";
}

}  // namespace

std::optional<std::string> parse_external_url(const std::string& url, std::string& error) {
  auto fail = [&](const std::string& why) {
    error = "--web.external-url: \"" + url + "\": " + why;
    return std::nullopt;
  };
  std::string lower = url.substr(0, std::min<std::size_t>(url.size(), 8));
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::size_t scheme_end = lower.starts_with("http://") ? 7 : lower.starts_with("https://") ? 8 : 0;
  if (scheme_end == 0) return fail("the scheme must be http:// or https://");
  if (url.find_first_of("?#") != std::string::npos) return fail("must not have a query or fragment");
  auto slash = url.find('/', scheme_end);
  std::string authority = url.substr(scheme_end, slash == std::string::npos ? std::string::npos : slash - scheme_end);
  if (std::string why = bad_authority(authority); !why.empty()) return fail(why);
  std::string path = slash == std::string::npos ? "" : url.substr(slash);
  if (std::any_of(path.begin(), path.end(), bad_path_char))
    return fail("the path has a character that must be percent-encoded");
  std::string out = url;
  while (out.size() > scheme_end + authority.size() && out.ends_with("/")) out.pop_back();
  return out;
}

std::string url_path(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  auto slash = url.find('/', scheme + 3);
  return slash == std::string::npos ? "" : url.substr(slash);
}

std::optional<std::string> normalize_route_prefix(const std::string& prefix, std::string& error) {
  if (std::any_of(prefix.begin(), prefix.end(), bad_path_char)) {
    error = "\"" + prefix + "\" has a character that cannot be in a path (space, control, '?', '#', non-ASCII)";
    return std::nullopt;
  }
  auto first = prefix.find_first_not_of('/');
  if (first == std::string::npos) return "/";
  auto last = prefix.find_last_not_of('/');
  return "/" + prefix.substr(first, last - first + 1);
}

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
  options.route_prefix.clear();  // not given, so far
  if (!parse_flag_table(flags(), args, options, unexpected, error)) return std::nullopt;
  // Listening on systemd's sockets, listen addresses only apply when given (main warns that they do not).
  if (options.listen_addresses.empty() && !options.systemd_socket) options.listen_addresses.push_back(":9587");
  if (options.route_prefix.empty()) {  // the external URL's path is valid in a prefix
    std::string unused;
    options.route_prefix = normalize_route_prefix(url_path(options.external_url), unused).value_or("/");
  }
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
