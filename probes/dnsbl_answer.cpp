// What a DNS blocklist's answer means (RFC 5782; probes/dnsbl_answer.h).
#include "dnsbl_answer.h"

#include <algorithm>

namespace smtp_exporter::probes {
namespace {

constexpr std::size_t kMaxReason = 200;

std::string dotted(std::uint32_t v) {
  return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 0xffu) + "." + std::to_string((v >> 8) & 0xffu) +
         "." + std::to_string(v & 0xffu);
}

std::string error_code_text(std::uint32_t low) {
  switch (low) {
    case 252: return "typo in the zone name or the DQS key (127.255.255.252)";
    case 254: return "query refused: use your own resolver, not a public one (127.255.255.254)";
    case 255: return "query refused: too many queries, use your own resolver or a DQS key (127.255.255.255)";
    default: return "query refused: use your own resolver (127.255.255." + std::to_string(low) + ")";
  }
}

}  // namespace

DnsblAnswer classify_dnsbl_answer(DnsblStatus status, std::string_view failure, const std::vector<std::uint32_t>& a) {
  DnsblAnswer out;
  if (status == DnsblStatus::not_found) return out;
  if (status == DnsblStatus::failed) {
    out.kind = DnsblAnswer::Kind::error;
    out.reason = "lookup failed: " + std::string(failure);
    return out;
  }
  std::vector<std::uint32_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (std::uint32_t v : sorted) out.codes.push_back(dotted(v));
  if (sorted.empty()) return out;
  out.kind = DnsblAnswer::Kind::error;
  for (std::uint32_t v : sorted) {
    if ((v >> 24) != 127) {
      out.reason = "answer " + dotted(v) +
                   " is outside 127.0.0.0/8: the resolver rewrites answers (use your own resolver)";
      return out;
    }
    if ((v & 0xffffff00u) == 0x7fffff00u) {
      out.reason = error_code_text(v & 0xffu);
      return out;
    }
    if (v == 0x7f000001u) {
      out.reason = "answer 127.0.0.1 is never a listing (RFC 5782 §5): the list refused the query";
      return out;
    }
  }
  out.kind = DnsblAnswer::Kind::listed;
  return out;
}

std::string dnsbl_reason(const std::vector<std::string>& texts) {
  std::string out;
  for (const auto& text : texts) {
    if (!out.empty()) out += "; ";
    for (char c : text) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (out.size() > kMaxReason) break;
  }
  if (out.size() > kMaxReason) out = out.substr(0, kMaxReason - 3) + "...";
  return out;
}

std::string dnsbl_redacted(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  constexpr std::string_view kShown = "<key>";
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + kShown.size()))
    text.replace(at, secret.size(), kShown);
  return text;
}

int dnsbl_code_value(const DnsblAnswer& answer) {
  if (answer.codes.empty()) return 0;
  const std::string& code = answer.codes.front();
  auto dot = code.rfind('.');
  int value = 0;
  for (std::size_t i = dot == std::string::npos ? 0 : dot + 1; i < code.size(); ++i)
    value = value * 10 + (code[i] - '0');
  return value;
}

std::string_view to_string(ZoneHealth h) {
  switch (h) {
    case ZoneHealth::unknown: return "unknown";
    case ZoneHealth::ok: return "ok";
    case ZoneHealth::broken: return "broken";
    case ZoneHealth::untestable: return "untestable";
  }
  return "unknown";
}

ZoneHealth judge_zone(const DnsblAnswer& test_listed, const DnsblAnswer& test_unlisted, std::string& detail) {
  for (const DnsblAnswer* a : {&test_listed, &test_unlisted})
    if (a->kind == DnsblAnswer::Kind::error) {
      detail = "its test entries could not be looked up: " + a->reason;
      return ZoneHealth::untestable;
    }
  if (test_listed.kind != DnsblAnswer::Kind::listed) {
    detail = "its test entry 127.0.0.2 is not listed (RFC 5782 §5): the zone answers nothing, or is gone";
    return ZoneHealth::broken;
  }
  if (test_unlisted.kind == DnsblAnswer::Kind::listed) {
    detail = "its test entry 127.0.0.1 is listed (RFC 5782 §5): the zone lists everything";
    return ZoneHealth::broken;
  }
  detail.clear();
  return ZoneHealth::ok;
}

}  // namespace smtp_exporter::probes
