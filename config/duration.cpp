// Durations in the Prometheus form: units y w d h m s ms, largest first, each
// at most once ("1h30m", "500ms"), or a bare "0". Same grammar as
// prometheus/common's model.ParseDuration so configs read the same everywhere.
#include <array>
#include <charconv>
#include <cstdint>

#include "smtp_exporter/config.h"

namespace smtp_exporter::config {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t ms;
};
// Ordered largest first; "ms" precedes "m"/"s" only in matching (see below).
constexpr std::array<Unit, 7> kUnits{{{"y", 365LL * 24 * 3600 * 1000},
                                      {"w", 7LL * 24 * 3600 * 1000},
                                      {"d", 24LL * 3600 * 1000},
                                      {"h", 3600LL * 1000},
                                      {"m", 60LL * 1000},
                                      {"s", 1000},
                                      {"ms", 1}}};

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text == "0") return Duration::zero();
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t next_unit = 0;  // units must appear in decreasing order
  while (!text.empty()) {
    std::int64_t value = 0;
    if (text.front() < '0' || text.front() > '9') return std::nullopt;  // from_chars takes a '-'
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data()) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    // "ms" must win over "m" when both could match.
    std::size_t unit = kUnits.size();
    if (text.starts_with("ms")) {
      unit = 6;
    } else {
      for (std::size_t i = 0; i < 6; ++i)
        if (text.starts_with(kUnits[i].suffix)) unit = i;
    }
    if (unit == kUnits.size() || unit < next_unit) return std::nullopt;
    if (value > (INT64_MAX - total) / kUnits[unit].ms) return std::nullopt;
    total += value * kUnits[unit].ms;
    text.remove_prefix(kUnits[unit].suffix.size());
    next_unit = unit + 1;
  }
  return Duration(total);
}

std::string format_duration(Duration d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  for (const auto& unit : kUnits) {
    if (ms >= unit.ms) {
      out += std::to_string(ms / unit.ms);
      out += unit.suffix;
      ms %= unit.ms;
    }
  }
  return out;
}

}  // namespace smtp_exporter::config
