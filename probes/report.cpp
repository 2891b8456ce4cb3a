// The units' reports walked in registry order, and the text and JSON helpers
// every unit's report uses (smtp_exporter/report.h).
#include "smtp_exporter/report.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "smtp_exporter/check.h"

namespace smtp_exporter::probes {

Report report(const ProbeResult& result, const config::Module& module) {
  Report out;
  for (const Check* check : checks()) check->report(result, module, out);
  return out;
}

std::string safe_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [&](unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", c);
    out += buf;
  };
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    std::size_t length = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k)
      valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    if (valid && length == 3) {  // no overlong forms, no surrogates
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      valid = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
    }
    if (valid && length == 4) {
      auto c1 = static_cast<unsigned char>(text[i + 1]);
      valid = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
    }
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      hex(c);
      ++i;
    }
  }
  return out;
}

std::string milliseconds_text(double seconds) {
  char buf[32];
  double ms = seconds * 1000;
  std::snprintf(buf, sizeof buf, ms < 1 ? "%.3f ms" : "%.1f ms", ms);
  return buf;
}

std::string utc_text(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string days_left_text(double days) {
  long whole = whole_days(days);
  if (days < 0) {
    if (whole == 0) return "expired less than a day ago";
    return "expired " + std::to_string(-whole) + (whole == -1 ? " day ago" : " days ago");
  }
  if (whole == 0) return "less than a day left";
  return std::to_string(whole) + (whole == 1 ? " day left" : " days left");
}

std::string failure_text(const Failure& f) {
  return std::string(to_string(f.stage)) + " failed (" + std::string(to_string(f.reason)) + "): " + safe_text(f.detail);
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : std::string(separator)) + item;
  return out;
}

Json rounded(double value, const char* format) {
  if (!std::isfinite(value)) return nullptr;
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  double kept = std::strtod(buf, nullptr);
  if (kept == std::trunc(kept) && std::fabs(kept) < 1e15) return static_cast<std::int64_t>(kept);
  return kept;
}

Json json_text(std::string_view value) { return safe_text(value); }

Json json_texts(const std::vector<std::string>& items) {
  Json out = Json::array();
  for (const auto& item : items) out.push_back(json_text(item));
  return out;
}

Json json_number(double value) { return rounded(value, "%.9g"); }

Json json_failure(const std::optional<Failure>& f) {
  if (!f) return nullptr;
  return {{"stage", json_text(to_string(f->stage))},
          {"reason", json_text(to_string(f->reason))},
          {"detail", json_text(f->detail)}};
}

}  // namespace smtp_exporter::probes
