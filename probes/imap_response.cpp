// IMAP responses: a bounded parser over the bytes received so far. Liberal
// in what it takes as an atom (flags such as \Junk, section specs such as
// BODY[HEADER.FIELDS (X)] with their spaces), strict about structure: a
// literal's length, balanced lists, CRLF at the end, no NUL byte.
#include "imap_response.h"

#include <algorithm>
#include <cctype>

namespace smtp_exporter::probes::imap {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool equal_nocase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_status(std::string_view word) {
  for (std::string_view s : {"OK", "NO", "BAD", "BYE", "PREAUTH"})
    if (equal_nocase(word, s)) return true;
  return false;
}

std::optional<std::uint32_t> number(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (n > 0xffffffffULL) return std::nullopt;
  return static_cast<std::uint32_t>(n);
}

class Parser {
 public:
  Parser(std::string_view in, const Limits& limits, std::string& error) : in_(in), limits_(limits), error_(error) {}

  // The end of the first line (index of its CR), or npos; errors on a line
  // longer than the limit.
  Parse line_end(std::size_t from, std::size_t& end) {
    std::size_t lf = in_.find('\n', from);
    std::size_t limit = std::min(in_.size(), from + limits_.max_line);
    if (lf == std::string_view::npos || lf > limit) {
      if (in_.size() - from > limits_.max_line) return fail("line longer than " + std::to_string(limits_.max_line) + " bytes");
      return Parse::incomplete;
    }
    if (lf == from || in_[lf - 1] != '\r') return fail("line not ended by CRLF");
    end = lf - 1;
    return Parse::complete;
  }

  Parse run(std::size_t& used, Response& out) {
    std::size_t eol = 0;
    if (Parse p = line_end(0, eol); p != Parse::complete) return p;
    std::string_view line = in_.substr(0, eol);
    if (line.find('\0') != std::string_view::npos) return fail("NUL byte in a response");
    if (line.starts_with("+")) {
      out.type = Response::Type::continuation;
      out.text = std::string(line.substr(line.size() > 1 && line[1] == ' ' ? 2 : 1));
      used = eol + 2;
      return Parse::complete;
    }
    std::size_t space = line.find(' ');
    if (space == std::string_view::npos || space == 0) return fail("response without a tag and a space");
    std::string_view tag = line.substr(0, space);
    out.type = tag == "*" ? Response::Type::untagged : Response::Type::tagged;
    if (out.type == Response::Type::tagged) {
      for (char c : tag)
        if (static_cast<unsigned char>(c) <= 32 || c == '(' || c == ')' || c == '{' || c == '"' || c == '%' ||
            c == '\\' || c == '+' || static_cast<unsigned char>(c) >= 127)
          return fail("invalid tag");
      out.tag = std::string(tag);
    }
    std::string_view rest = line.substr(space + 1);
    std::string_view first = rest.substr(0, rest.find(' '));
    if (is_status(first) || out.type == Response::Type::tagged) {
      if (!is_status(first)) return fail("tagged response without OK, NO or BAD");
      out.status = upper(first);
      rest.remove_prefix(first.size());
      if (rest.starts_with(" ")) rest.remove_prefix(1);
      if (rest.starts_with("[")) {
        // The code ends at the first ']' outside parentheses.
        int depth = 0;
        std::size_t close = std::string_view::npos;
        for (std::size_t i = 1; i < rest.size(); ++i) {
          if (rest[i] == '(') ++depth;
          else if (rest[i] == ')') --depth;
          else if (rest[i] == ']' && depth <= 0) {
            close = i;
            break;
          }
        }
        if (close == std::string_view::npos) return fail("response code without ']'");
        std::string code(rest.substr(1, close - 1));
        for (char& c : code)
          if (c == '(' || c == ')') c = ' ';
        std::size_t i = 0;
        while (i < code.size()) {
          while (i < code.size() && code[i] == ' ') ++i;
          std::size_t j = i;
          while (j < code.size() && code[j] != ' ') ++j;
          if (j > i) {
            if (out.code.size() >= limits_.max_items) return fail("too many items");
            out.code.push_back(out.code.empty() ? upper(code.substr(i, j - i)) : code.substr(i, j - i));
          }
          i = j;
        }
        rest.remove_prefix(close + 1);
        if (rest.starts_with(" ")) rest.remove_prefix(1);
      }
      out.text = std::string(rest);
      used = eol + 2;
      return Parse::complete;
    }
    // Untagged data: items, with literals, up to the CRLF that ends it.
    pos_ = space + 1;
    line_start_ = 0;
    std::vector<Item>* stack[64];
    std::size_t depth = 0;
    stack[0] = &out.items;
    while (true) {
      if (pos_ >= in_.size()) return Parse::incomplete;
      if (pos_ - line_start_ > limits_.max_line) return fail("line longer than " + std::to_string(limits_.max_line) + " bytes");
      char c = in_[pos_];
      if (c == '\0') return fail("NUL byte in a response");
      if (c == ' ') {
        ++pos_;
        continue;
      }
      if (c == '\r') {
        if (pos_ + 1 >= in_.size()) return Parse::incomplete;
        if (in_[pos_ + 1] != '\n') return fail("CR without LF");
        if (depth != 0) return fail("unbalanced parentheses");
        used = pos_ + 2;
        return Parse::complete;
      }
      if (c == '\n') return fail("LF without CR");
      if (++items_ > limits_.max_items) return fail("too many items");
      if (c == '(') {
        if (depth + 1 >= limits_.max_depth || depth + 1 >= std::size(stack)) return fail("lists nested too deep");
        stack[depth]->push_back(Item{Item::Kind::list, {}, {}});
        stack[depth + 1] = &stack[depth]->back().items;
        ++depth;
        ++pos_;
        continue;
      }
      if (c == ')') {
        if (depth == 0) return fail("unbalanced parentheses");
        --depth;
        ++pos_;
        continue;
      }
      Item item{Item::Kind::string, {}, {}};
      Parse p = c == '"' ? quoted(item.text) : c == '{' ? literal(item.text) : atom(item.text, item.kind);
      if (p != Parse::complete) return p;
      stack[depth]->push_back(std::move(item));
    }
  }

 private:
  Parse fail(std::string why) {
    error_ = std::move(why);
    return Parse::error;
  }

  Parse quoted(std::string& text) {
    ++pos_;
    while (true) {
      if (pos_ >= in_.size()) return Parse::incomplete;
      char c = in_[pos_++];
      if (c == '"') return Parse::complete;
      if (c == '\r' || c == '\n' || c == '\0') return fail("line break in a quoted string");
      if (c == '\\') {
        if (pos_ >= in_.size()) return Parse::incomplete;
        c = in_[pos_++];
        if (c != '\\' && c != '"') return fail("invalid escape in a quoted string");
      }
      text.push_back(c);
    }
  }

  Parse literal(std::string& text) {
    std::size_t close = pos_ + 1;
    while (close < in_.size() && close - pos_ <= 12 && in_[close] != '}') ++close;
    if (close >= in_.size()) return Parse::incomplete;
    if (in_[close] != '}') return fail("invalid literal length");
    std::string_view digits = in_.substr(pos_ + 1, close - pos_ - 1);
    if (digits.ends_with("+")) digits.remove_suffix(1);  // LITERAL+ style, harmless from a server
    auto n = number(digits);
    if (!n) return fail("invalid literal length");
    if (*n > limits_.max_literal) return fail("literal longer than " + std::to_string(limits_.max_literal) + " bytes");
    if (close + 1 >= in_.size()) return Parse::incomplete;
    if (in_[close + 1] != '\r') return fail("literal length not followed by CRLF");
    if (close + 2 >= in_.size()) return Parse::incomplete;
    if (in_[close + 2] != '\n') return fail("literal length not followed by CRLF");
    std::size_t start = close + 3;
    if (in_.size() - start < *n) return Parse::incomplete;
    text.assign(in_.substr(start, *n));
    pos_ = start + *n;
    line_start_ = pos_;
    return Parse::complete;
  }

  Parse atom(std::string& text, Item::Kind& kind) {
    kind = Item::Kind::atom;
    std::size_t start = pos_;
    while (pos_ < in_.size()) {
      char c = in_[pos_];
      if (c == ' ' || c == '(' || c == ')' || c == '\r' || c == '\n' || c == '"' || c == '\0') break;
      if (c == '[') {
        // A section spec: up to its ']', spaces and parentheses included.
        std::size_t close = in_.find(']', pos_);
        std::size_t cr = in_.find('\r', pos_);
        if (close == std::string_view::npos) return cr == std::string_view::npos ? Parse::incomplete : fail("'[' without ']'");
        if (cr != std::string_view::npos && cr < close) return fail("'[' without ']'");
        pos_ = close + 1;
        continue;
      }
      ++pos_;
    }
    if (pos_ >= in_.size()) return Parse::incomplete;
    if (pos_ == start) return fail("unexpected character");
    text.assign(in_.substr(start, pos_ - start));
    return Parse::complete;
  }

  std::string_view in_;
  const Limits& limits_;
  std::string& error_;
  std::size_t pos_ = 0;
  std::size_t line_start_ = 0;
  std::size_t items_ = 0;
};

bool is_atom(const Item& item, std::string_view word) { return item.kind == Item::Kind::atom && equal_nocase(item.text, word); }

}  // namespace

Parse parse_response(std::string_view in, std::size_t& used, Response& out, std::string& error, const Limits& limits) {
  out = Response{};
  used = 0;
  Parser parser(in, limits, error);
  Parse p = parser.run(used, out);
  if (p != Parse::complete) {
    out = Response{};
    used = 0;
  }
  return p;
}

std::optional<std::vector<std::string>> capabilities(const Response& r) {
  std::vector<std::string> out;
  if (r.type != Response::Type::continuation && !r.code.empty() && r.code.front() == "CAPABILITY") {
    for (std::size_t i = 1; i < r.code.size(); ++i) out.push_back(upper(r.code[i]));
    return out;
  }
  if (r.type != Response::Type::untagged || r.items.empty() || !is_atom(r.items.front(), "CAPABILITY")) return std::nullopt;
  for (std::size_t i = 1; i < r.items.size(); ++i)
    if (r.items[i].kind == Item::Kind::atom) out.push_back(upper(r.items[i].text));
  return out;
}

bool ListEntry::has_flag(std::string_view flag) const {
  return std::any_of(flags.begin(), flags.end(), [&](const std::string& f) { return equal_nocase(f, flag); });
}

std::optional<ListEntry> list_entry(const Response& r) {
  if (r.type != Response::Type::untagged || r.items.size() != 4) return std::nullopt;
  if (!is_atom(r.items[0], "LIST") && !is_atom(r.items[0], "XLIST")) return std::nullopt;
  const Item& flags = r.items[1];
  const Item& delimiter = r.items[2];
  const Item& name = r.items[3];
  if (flags.kind != Item::Kind::list || name.kind == Item::Kind::list || delimiter.kind == Item::Kind::list)
    return std::nullopt;
  ListEntry entry;
  for (const Item& flag : flags.items)
    if (flag.kind == Item::Kind::atom) entry.flags.push_back(flag.text);
  if (!is_atom(delimiter, "NIL")) entry.delimiter = delimiter.text;
  entry.name = name.text;
  return entry;
}

std::optional<std::vector<std::uint32_t>> search_numbers(const Response& r) {
  if (r.type != Response::Type::untagged || r.items.empty() || !is_atom(r.items[0], "SEARCH")) return std::nullopt;
  std::vector<std::uint32_t> out;
  for (std::size_t i = 1; i < r.items.size(); ++i) {
    if (r.items[i].kind == Item::Kind::list) continue;  // (MODSEQ n) of CONDSTORE
    auto n = number(r.items[i].text);
    if (!n) return std::nullopt;
    out.push_back(*n);
  }
  return out;
}

std::optional<std::uint32_t> exists(const Response& r) {
  if (r.type != Response::Type::untagged || r.items.size() != 2 || !is_atom(r.items[1], "EXISTS")) return std::nullopt;
  return number(r.items[0].text);
}

std::optional<FetchData> fetch_data(const Response& r) {
  if (r.type != Response::Type::untagged || r.items.size() != 3 || !is_atom(r.items[1], "FETCH") ||
      r.items[2].kind != Item::Kind::list)
    return std::nullopt;
  auto sequence = number(r.items[0].text);
  if (!sequence) return std::nullopt;
  FetchData data;
  data.sequence = *sequence;
  const std::vector<Item>& pairs = r.items[2].items;
  for (std::size_t i = 0; i + 1 < pairs.size(); i += 2) {
    if (pairs[i].kind != Item::Kind::atom) return std::nullopt;
    std::string key = upper(pairs[i].text);
    const Item& value = pairs[i + 1];
    if (key == "UID") {
      data.uid = number(value.text);
      if (!data.uid || value.kind == Item::Kind::list) return std::nullopt;
    } else if (key == "INTERNALDATE" && value.kind == Item::Kind::string) {
      data.internal_date = value.text;
    } else if (key.starts_with("BODY[HEADER") && value.kind == Item::Kind::string) {
      data.header = value.text;
    }
  }
  return data;
}

std::optional<std::string> quote(std::string_view text) {
  bool atom = !text.empty();
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n' || c == '\0') return std::nullopt;
    if (u <= 32 || u >= 127 || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' || c == '"' || c == '\\' ||
        c == ']')
      atom = false;
  }
  if (atom) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace smtp_exporter::probes::imap
