#include "ehlo_reply.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>

namespace smtp_exporter::probes {
namespace {

// ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool valid_keyword(std::string_view k) {
  if (k.empty() || k.size() > 64 || k.front() == '-') return false;
  return std::all_of(k.begin(), k.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void add_mechanisms(EhloInfo& info, std::string_view params) {
  std::istringstream words{std::string(params)};
  std::string word;
  while (words >> word) {
    word = upper(word);
    if (valid_keyword(word) &&
        std::find(info.auth_mechanisms.begin(), info.auth_mechanisms.end(), word) == info.auth_mechanisms.end())
      info.auth_mechanisms.push_back(word);
  }
}

}  // namespace

EhloInfo parse_ehlo(const Reply& reply) {
  EhloInfo info;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    std::string_view line = reply.lines[i];
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    std::size_t split = line.find_first_of(" =");
    std::string keyword = upper(line.substr(0, split));
    std::string_view params = split == std::string_view::npos ? std::string_view{} : line.substr(split + 1);
    while (!params.empty() && params.front() == ' ') params.remove_prefix(1);
    while (!params.empty() && params.back() == ' ') params.remove_suffix(1);
    if (!valid_keyword(keyword)) {
      info.ignored_lines.emplace_back(reply.lines[i]);
      continue;
    }
    if (keyword == "AUTH") add_mechanisms(info, params);  // "AUTH=LOGIN" is the pre-RFC 4954 form
    if (keyword == "SIZE" && !info.size_limit && !info.size_unparsable) {  // the first SIZE line wins
      std::uint64_t limit = 0;
      auto [end, ec] = std::from_chars(params.data(), params.data() + params.size(), limit);
      if (params.empty()) {
        info.size_limit = 0;
      } else if (ec == std::errc() && end == params.data() + params.size()) {
        info.size_limit = limit;
      } else {  // "10M", "-5", or more than 2^64 - 1 (out of range)
        info.size_unparsable = std::string(params);
      }
    }
    bool seen = std::any_of(info.extensions.begin(), info.extensions.end(),
                            [&](const EhloExtension& e) { return e.keyword == keyword; });
    if (!seen) info.extensions.push_back({keyword, std::string(params)});
  }
  return info;
}

}  // namespace smtp_exporter::probes
