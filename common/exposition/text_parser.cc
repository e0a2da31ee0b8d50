#include "common/exposition/text_parser.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <set>

namespace topdog::exposition {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }
bool IsLabelStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsLabelChar(char c) { return IsLabelStart(c) || (c >= '0' && c <= '9'); }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// A cursor over one line.
struct Cursor {
  std::string_view line;
  size_t pos = 0;

  bool AtEnd() const { return pos >= line.size(); }
  char Peek() const { return AtEnd() ? '\0' : line[pos]; }
  void SkipBlanks() {
    while (!AtEnd() && IsBlank(line[pos])) ++pos;
  }
  // The longest run of characters up to a blank (or the end).
  std::string_view Token() {
    size_t start = pos;
    while (!AtEnd() && !IsBlank(line[pos])) ++pos;
    return line.substr(start, pos - start);
  }
  std::string_view Name(bool (*start)(char), bool (*rest)(char)) {
    if (AtEnd() || !start(line[pos])) return {};
    size_t begin = pos++;
    while (!AtEnd() && rest(line[pos])) ++pos;
    return line.substr(begin, pos - begin);
  }
};

}  // namespace

std::optional<double> ParseGoFloat(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool negative = false;
  std::string_view body = text;
  if (body.front() == '+' || body.front() == '-') {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  auto lower_equals = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      char c = a[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != b[i]) return false;
    }
    return true;
  };
  if (lower_equals(body, "inf") || lower_equals(body, "infinity")) {
    return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (lower_equals(body, "nan")) return std::numeric_limits<double>::quiet_NaN();
  if (body.empty() || body.front() == '+' || body.front() == '-') return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
  // Out of range: Go returns ±Inf (or 0 for underflow) with an error that expfmt reports; so do we.
  if (ec != std::errc() || end != body.data() + body.size()) return std::nullopt;
  return negative ? -value : value;
}

namespace {

std::optional<int64_t> ParseTimestamp(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

Result<ParsedPage> ParseTextFormat(std::string_view text, const ParseLimits& limits) {
  ParsedPage page;
  std::set<std::string, std::less<>> typed, helped;
  size_t line_number = 0;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    ++line_number;
    auto fail = [&](const std::string& why) {
      return MakeError(ErrorKind::kBadData, "line " + std::to_string(line_number) + ": " + why);
    };
    if (line.size() > limits.max_line_bytes) {
      return fail("longer than " + std::to_string(limits.max_line_bytes) + " bytes");
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Cursor c{line};
    c.SkipBlanks();
    if (c.AtEnd()) continue;

    if (c.Peek() == '#') {
      ++c.pos;
      c.SkipBlanks();
      std::string_view keyword = c.Token();
      if (keyword != "HELP" && keyword != "TYPE") continue;  // any other comment
      c.SkipBlanks();
      std::string_view name = c.Name(IsNameStart, IsNameChar);
      if (name.empty() || (!c.AtEnd() && !IsBlank(c.Peek()))) return fail("invalid metric name after # " + std::string(keyword));
      c.SkipBlanks();
      std::string_view rest = c.line.substr(c.pos);
      auto find_family = [&]() -> ParsedFamily& {
        for (ParsedFamily& family : page.families) {
          if (family.name == name) return family;
        }
        page.families.push_back({std::string(name), "untyped", ""});
        return page.families.back();
      };
      if (keyword == "TYPE") {
        std::string_view type = rest;
        while (!type.empty() && IsBlank(type.back())) type.remove_suffix(1);
        if (type != "counter" && type != "gauge" && type != "summary" && type != "histogram" && type != "untyped") {
          return fail("unknown metric type \"" + std::string(type) + "\"");
        }
        if (!typed.emplace(name).second) return fail("second TYPE line for " + std::string(name));
        find_family().type = std::string(type);
      } else {
        std::string help;
        for (size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] != '\\') {
            help += rest[i];
          } else if (i + 1 < rest.size() && (rest[i + 1] == '\\' || rest[i + 1] == 'n')) {
            help += rest[++i] == 'n' ? '\n' : '\\';
          } else {
            return fail("invalid escape in HELP text");
          }
        }
        if (!helped.emplace(name).second) return fail("second HELP line for " + std::string(name));
        find_family().help = std::move(help);
      }
      continue;
    }

    if (page.samples.size() >= limits.max_samples) {
      return fail("more than " + std::to_string(limits.max_samples) + " samples");
    }
    ParsedSample sample;
    std::string_view name = c.Name(IsNameStart, IsNameChar);
    if (name.empty()) return fail("invalid metric name");
    sample.name = std::string(name);
    c.SkipBlanks();
    if (c.Peek() == '{') {
      ++c.pos;
      while (true) {
        c.SkipBlanks();
        if (c.Peek() == '}') {
          ++c.pos;
          break;
        }
        std::string_view label = c.Name(IsLabelStart, IsLabelChar);
        if (label.empty()) return fail("invalid label name in " + sample.name);
        c.SkipBlanks();
        if (c.Peek() != '=') return fail("expected '=' after label " + std::string(label));
        ++c.pos;
        c.SkipBlanks();
        if (c.Peek() != '"') return fail("expected '\"' to start the value of label " + std::string(label));
        ++c.pos;
        std::string value;
        bool closed = false;
        while (!c.AtEnd()) {
          char ch = c.line[c.pos++];
          if (ch == '"') {
            closed = true;
            break;
          }
          if (ch != '\\') {
            value += ch;
            continue;
          }
          if (c.AtEnd()) break;
          char escaped = c.line[c.pos++];
          if (escaped == '\\' || escaped == '"') {
            value += escaped;
          } else if (escaped == 'n') {
            value += '\n';
          } else {
            return fail("invalid escape \\" + std::string(1, escaped) + " in the value of label " + std::string(label));
          }
        }
        if (!closed) return fail("unterminated value of label " + std::string(label));
        for (const auto& [existing, unused] : sample.labels) {
          if (existing == label) return fail("label " + std::string(label) + " given twice");
        }
        if (sample.labels.size() >= limits.max_labels) return fail("more than " + std::to_string(limits.max_labels) + " labels");
        sample.labels.emplace_back(std::string(label), std::move(value));
        c.SkipBlanks();
        if (c.Peek() == ',') {
          ++c.pos;
          continue;
        }
        if (c.Peek() == '}') {
          ++c.pos;
          break;
        }
        return fail("expected ',' or '}' after the value of label " + std::string(label));
      }
    }
    c.SkipBlanks();
    std::string_view value_text = c.Token();
    auto value = ParseGoFloat(value_text);
    if (!value) {
      return fail(value_text.empty() ? "missing value for " + sample.name
                                     : "value \"" + std::string(value_text) + "\" is not a number");
    }
    sample.value = *value;
    c.SkipBlanks();
    if (!c.AtEnd()) {
      std::string_view timestamp_text = c.Token();
      auto timestamp = ParseTimestamp(timestamp_text);
      if (!timestamp) return fail("timestamp \"" + std::string(timestamp_text) + "\" is not an integer");
      sample.timestamp_ms = *timestamp;
      c.SkipBlanks();
      if (!c.AtEnd()) return fail("unexpected text after the timestamp");
    }
    page.samples.push_back(std::move(sample));
  }
  return page;
}

}  // namespace topdog::exposition
