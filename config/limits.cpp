// [limits]: bounds on what the exporter takes on at once.
#include "table_reader.h"
#include "toml_writer.h"
#include "web_reader.h"

namespace smtp_exporter::config {

// Far above what one process can hold (each probe needs two or three file
// descriptors), so a typo of an extra digit is caught.
constexpr std::int64_t kMaxConcurrentProbes = 1'000'000;

Limits read_limits(const toml::table& table, const std::string& file) {
  TableReader reader(table, "limits", file);
  Limits limits;
  if (auto n = reader.integer("max_concurrent_probes")) {
    if (*n < 0 || *n > kMaxConcurrentProbes)
      reader.fail("max_concurrent_probes", "must be from 1 to " + std::to_string(kMaxConcurrentProbes) +
                                               ", or 0 to size it for the machine");
    limits.max_concurrent_probes = static_cast<int>(*n);
  }
  if (auto n = reader.integer("max_connections")) {
    if (*n < 0 || *n > kMaxConcurrentProbes)
      reader.fail("max_connections", "must be from 1 to " + std::to_string(kMaxConcurrentProbes) +
                                         ", or 0 to size it for the machine");
    limits.max_connections = static_cast<int>(*n);
  }
  reader.finish();
  return limits;
}

std::string to_toml(const Limits& limits) {
  toml::table table;
  if (limits.max_concurrent_probes != 0) table.insert("max_concurrent_probes", limits.max_concurrent_probes);
  if (limits.max_connections != 0) table.insert("max_connections", limits.max_connections);
  if (table.empty()) return "";
  return toml_text(toml::table{{"limits", std::move(table)}});
}

}  // namespace smtp_exporter::config
