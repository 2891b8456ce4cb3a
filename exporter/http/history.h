// The last probe results, kept in memory for the landing page and /logs
// (blackbox_exporter's "Recent Probes"). Bounded; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace smtp_exporter::exporter {

struct HistoryEntry {
  std::uint64_t id = 0;
  std::string target;
  std::string module;
  bool success = false;
  std::chrono::system_clock::time_point at;
  double duration_seconds = 0;
  // Makes the text &debug=true would have returned. Rendered only when
  // someone looks (/logs): most probes are never looked at.
  std::function<std::string()> debug_text;
};

class History {
 public:
  explicit History(std::size_t capacity = 100) : capacity_(capacity) {}

  // Stores the entry under a new id, dropping the oldest beyond capacity.
  std::uint64_t add(HistoryEntry entry);
  std::vector<HistoryEntry> list() const;  // newest first, without debug_text
  std::optional<std::string> debug_text(std::uint64_t id) const;

 private:
  mutable std::mutex mutex_;
  std::size_t capacity_;
  std::uint64_t next_id_ = 0;
  std::deque<HistoryEntry> entries_;
};

}  // namespace smtp_exporter::exporter
