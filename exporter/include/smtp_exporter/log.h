// Structured logging in the Prometheus way: logfmt (default) or JSON lines on
// stderr, with a level filter. Messages are constant text; values go in fields.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace smtp_exporter::log {

enum class Level { debug, info, warn, error };
enum class Format { logfmt, json };

// Throws std::invalid_argument for an unknown level or format name.
void setup(std::string_view level, std::string_view format);

using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;
void write(Level level, std::string_view message, Fields fields = {});
bool enabled(Level level);
// The line write() logs, without the newline: "ts=... level=... msg=... key=value" or
// {"ts":...,"level":...,"msg":...,"key":"value"} (keys in this order; a repeated key keeps its last value).
std::string format_line(Format format, Level level, std::string_view timestamp, std::string_view message,
                        Fields fields);

inline void debug(std::string_view m, Fields f = {}) { write(Level::debug, m, f); }
inline void info(std::string_view m, Fields f = {}) { write(Level::info, m, f); }
inline void warn(std::string_view m, Fields f = {}) { write(Level::warn, m, f); }
inline void error(std::string_view m, Fields f = {}) { write(Level::error, m, f); }

}  // namespace smtp_exporter::log
