#include "http/history.h"

namespace smtp_exporter::exporter {

std::uint64_t History::add(HistoryEntry entry) {
  std::lock_guard lock(mutex_);
  entry.id = next_id_++;
  entries_.push_back(std::move(entry));
  while (entries_.size() > capacity_) entries_.pop_front();
  return entries_.back().id;
}

std::vector<HistoryEntry> History::list() const {
  std::lock_guard lock(mutex_);
  std::vector<HistoryEntry> out;
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it)
    out.push_back({it->id, it->target, it->module, it->success, it->at, it->duration_seconds, {}});
  return out;
}

std::optional<std::string> History::debug_text(std::uint64_t id) const {
  std::function<std::string()> render;
  {
    std::lock_guard lock(mutex_);
    for (const auto& e : entries_)
      if (e.id == id) render = e.debug_text;
  }
  if (!render) return std::nullopt;
  return render();
}

}  // namespace smtp_exporter::exporter
