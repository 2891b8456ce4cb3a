#include "views/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace smtp_exporter::exporter::json {

std::string dump(const Value& value) { return value.dump(-1, ' ', false, Value::error_handler_t::replace); }

Value rounded(double value, const char* format) {
  if (!std::isfinite(value)) return nullptr;
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  double kept = std::strtod(buf, nullptr);
  if (kept == std::trunc(kept) && std::fabs(kept) < 1e15) return static_cast<std::int64_t>(kept);
  return kept;
}

}  // namespace smtp_exporter::exporter::json
