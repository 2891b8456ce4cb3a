// spdlog does the locking and the writing; the line itself is built here
// (format_line): logfmt by hand, JSON with nlohmann::json.
#include "smtp_exporter/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "views/json.h"
#include "views/text.h"

namespace smtp_exporter::log {
namespace {

Format g_format = Format::logfmt;

constexpr std::string_view name_of(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void setup(std::string_view level, std::string_view format) {
  Level parsed = Level::info;
  bool known = false;
  for (Level l : {Level::debug, Level::info, Level::warn, Level::error})
    if (name_of(l) == level) parsed = l, known = true;
  if (!known) throw std::invalid_argument("unknown log level \"" + std::string(level) + "\" (debug, info, warn, error)");
  if (format == "logfmt") {
    g_format = Format::logfmt;
  } else if (format == "json") {
    g_format = Format::json;
  } else {
    throw std::invalid_argument("unknown log format \"" + std::string(format) + "\" (logfmt, json)");
  }
  spdlog::drop("smtp_exporter");  // setup() may run again (tests, reload)
  auto logger = spdlog::stderr_logger_mt("smtp_exporter");
  logger->set_pattern("%v");
  logger->set_level(to_spdlog(parsed));
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(logger);
}

bool enabled(Level level) { return spdlog::default_logger_raw()->should_log(to_spdlog(level)); }

std::string format_line(Format format, Level level, std::string_view timestamp, std::string_view message,
                        Fields fields) {
  if (format == Format::json) {
    exporter::json::Value line{{"ts", timestamp}, {"level", name_of(level)}, {"msg", message}};
    for (const auto& [key, value] : fields) line[std::string(key)] = value;
    return exporter::json::dump(line);
  }
  using exporter::logfmt_value;
  std::string line = "ts=" + std::string(timestamp) + " level=" + std::string(name_of(level)) + " msg=" +
                     logfmt_value(message);
  for (const auto& [key, value] : fields) line += " " + std::string(key) + "=" + logfmt_value(value);
  return line;
}

void write(Level level, std::string_view message, Fields fields) {
  if (!enabled(level)) return;
  std::string line = format_line(g_format, level, exporter::rfc3339(std::chrono::system_clock::now()), message, fields);
  spdlog::default_logger_raw()->log(to_spdlog(level), "{}", line);
}

}  // namespace smtp_exporter::log
