// Go's text/template (lexer, parser and evaluator of Go 1.19's text/template and text/template/parse), the
// parts of fmt and strconv it prints with, Go's regexp on RE2 (the library it is a port of), and the functions
// of Prometheus 2.42's template/template.go. Each piece follows the structure of the Go code it mirrors, so that
// the same input takes the same path (and fails with the same message).
//
// Errors inside the parser and the evaluator unwind with an internal exception (as Go's text/template does
// with panic and recover); it never leaves this file: Parse and Expand return Result values.
#include "advisor/core/alert_template.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

namespace topdog::advisor {
namespace {

// The definitions Prometheus prepends to every alert template (rules/alerting.go); they sit on line 1, so Go's
// error columns on line 1 are offset by their length.
constexpr std::string_view kPrelude =
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := "
    ".Value}}";

// An error that unwinds the parser or the evaluator. `pos` is a byte offset in the template text (or npos).
struct Failure {
  size_t pos;
  std::string message;
};

[[noreturn]] void Fail(size_t pos, std::string message) { throw Failure{pos, std::move(message)}; }

// ---------------------------------------------------------------------------------------------------------------
// UTF-8 (Go's unicode/utf8).

constexpr char32_t kRuneError = 0xFFFD;
constexpr int64_t kMaxRune = 0x10FFFF;

struct DecodedRune {
  char32_t rune;
  size_t size;
};

// utf8.DecodeRuneInString: an invalid or truncated sequence decodes as (RuneError, 1); "" as (RuneError, 0).
DecodedRune DecodeRune(std::string_view s) {
  if (s.empty()) return {kRuneError, 0};
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](size_t i, unsigned lo, unsigned hi) { return i < s.size() && byte(i) >= lo && byte(i) <= hi; };
  const unsigned c0 = byte(0);
  if (c0 < 0x80) return {c0, 1};
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    if (cont(1, 0x80, 0xBF)) return {((c0 & 0x1Fu) << 6) | (byte(1) & 0x3Fu), 2};
  } else if (c0 >= 0xE0 && c0 <= 0xEF) {
    const unsigned lo = c0 == 0xE0 ? 0xA0 : 0x80, hi = c0 == 0xED ? 0x9F : 0xBF;
    if (cont(1, lo, hi) && cont(2, 0x80, 0xBF)) {
      return {((c0 & 0x0Fu) << 12) | ((byte(1) & 0x3Fu) << 6) | (byte(2) & 0x3Fu), 3};
    }
  } else if (c0 >= 0xF0 && c0 <= 0xF4) {
    const unsigned lo = c0 == 0xF0 ? 0x90 : 0x80, hi = c0 == 0xF4 ? 0x8F : 0xBF;
    if (cont(1, lo, hi) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF)) {
      return {((c0 & 0x07u) << 18) | ((byte(1) & 0x3Fu) << 12) | ((byte(2) & 0x3Fu) << 6) | (byte(3) & 0x3Fu), 4};
    }
  }
  return {kRuneError, 1};
}

bool ValidRune(int64_t r) { return (r >= 0 && r < 0xD800) || (r > 0xDFFF && r <= kMaxRune); }

// utf8.EncodeRune: an invalid rune is written as RuneError.
void AppendRune(std::string& out, int64_t r) {
  if (!ValidRune(r)) r = kRuneError;
  const auto u = static_cast<uint32_t>(r);
  if (u < 0x80) {
    out += static_cast<char>(u);
  } else if (u < 0x800) {
    out += static_cast<char>(0xC0 | (u >> 6));
    out += static_cast<char>(0x80 | (u & 0x3F));
  } else if (u < 0x10000) {
    out += static_cast<char>(0xE0 | (u >> 12));
    out += static_cast<char>(0x80 | ((u >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (u & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (u >> 18));
    out += static_cast<char>(0x80 | ((u >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((u >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (u & 0x3F));
  }
}

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  while (!s.empty()) {
    s.remove_prefix(DecodeRune(s).size);
    ++n;
  }
  return n;
}

bool IsValidUtf8(std::string_view s) {
  while (!s.empty()) {
    auto r = DecodeRune(s);
    if (r.rune == kRuneError && r.size == 1) return false;
    s.remove_prefix(r.size);
  }
  return true;
}

std::string HexRune(char32_t r) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(r));
  return buf;
}

// Fails, naming the rune, where this file has no Unicode table for a non-ASCII rune.
[[noreturn]] void FailUnsupportedRune(std::string_view what, char32_t r) {
  Fail(std::string::npos, std::string(what) + " of " + HexRune(r) + " is not supported (no Unicode table for it)");
}

// ---------------------------------------------------------------------------------------------------------------
// Unicode properties (Go's unicode package, Unicode 13), for the runes this file has tables for.

bool InRange(char32_t r, char32_t lo, char32_t hi) { return r >= lo && r <= hi; }

// unicode.IsPrint; nullopt where we have no table.
std::optional<bool> KnownIsPrint(char32_t r) {
  if (r < 0x20 || InRange(r, 0x7F, 0x9F)) return false;
  if (r < 0x7F) return true;
  if (r == 0xA0 || r == 0xAD) return false;
  if (r <= 0x36F) return true;  // Latin-1, Latin Extended-A and -B, IPA, spacing modifiers, combining marks
  if (InRange(r, 0x370, 0x3FF)) {
    return !(r == 0x378 || r == 0x379 || InRange(r, 0x380, 0x383) || r == 0x38B || r == 0x38D || r == 0x3A2);
  }
  if (InRange(r, 0x400, 0x52F)) return true;  // Cyrillic and its supplement
  if (InRange(r, 0x2000, 0x200F) || InRange(r, 0x2028, 0x202F) || InRange(r, 0x205F, 0x206F)) return false;
  if (InRange(r, 0x2010, 0x2027) || InRange(r, 0x2030, 0x205E) || InRange(r, 0x20A0, 0x20BF)) return true;
  if (InRange(r, 0x2190, 0x23FF) || InRange(r, 0x2500, 0x27BF)) return true;  // arrows, math, boxes, symbols
  if (r == 0x3000) return false;
  if (InRange(r, 0x3001, 0x303F) || InRange(r, 0x3041, 0x3096) || InRange(r, 0x3099, 0x30FF)) return true;
  if (InRange(r, 0x4E00, 0x9FFC) || InRange(r, 0xAC00, 0xD7A3) || InRange(r, 0xFF01, 0xFF5E)) return true;
  if (InRange(r, 0x1F300, 0x1F64F) || r == 0xFFFD) return true;  // pictographs, emoticons, replacement character
  return std::nullopt;
}

bool IsPrint(char32_t r, std::string_view what) {
  auto known = KnownIsPrint(r);
  if (!known) FailUnsupportedRune(what, r);
  return *known;
}

// unicode.IsSpace.
bool IsUnicodeSpace(char32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return InRange(r, 0x2000, 0x200A);
  }
}

enum class Case { kUpper, kLower, kTitle };

// unicode.ToUpper / ToLower / ToTitle (simple mappings); nullopt where we have no table.
std::optional<char32_t> KnownMapCase(char32_t r, Case to) {
  const bool up = to != Case::kLower;
  if (r < 0x80) {
    if (up && r >= 'a' && r <= 'z') return r - 32;
    if (!up && r >= 'A' && r <= 'Z') return r + 32;
    return r;
  }
  if (r < 0x100) {  // Latin-1 Supplement
    if (r == 0xB5) return up ? 0x39C : r;
    if (r == 0xDF) return r;
    if (r == 0xFF) return up ? 0x178 : r;
    if (r >= 0xE0 && r != 0xF7) return up ? r - 0x20 : r;
    if (r >= 0xC0 && r != 0xD7) return up ? r : r + 0x20;
    return r;
  }
  if (r < 0x180) {  // Latin Extended-A: mostly upper/lower pairs
    if (r == 0x130) return up ? r : U'i';
    if (r == 0x131) return up ? U'I' : r;
    if (r == 0x138 || r == 0x149) return r;
    if (r == 0x178) return up ? r : 0xFF;
    if (r == 0x17F) return up ? U'S' : r;
    const bool even_upper = r < 0x138 || (r >= 0x14A && r < 0x178);
    const bool is_upper = even_upper ? r % 2 == 0 : r % 2 == 1;
    if (up) return is_upper ? r : r - 1;
    return is_upper ? r + 1 : r;
  }
  if (InRange(r, 0x384, 0x3CE)) {  // Greek letters
    struct Pair {
      char32_t upper_lo, upper_hi, lower_lo;
    };
    static constexpr Pair kPairs[] = {{0x386, 0x386, 0x3AC}, {0x388, 0x38A, 0x3AD}, {0x38C, 0x38C, 0x3CC},
                                      {0x38E, 0x38F, 0x3CD}, {0x391, 0x3A1, 0x3B1}, {0x3A3, 0x3AB, 0x3C3}};
    if (r == 0x3C2) return up ? 0x3A3 : r;
    for (const Pair& p : kPairs) {
      if (InRange(r, p.upper_lo, p.upper_hi)) return up ? r : r - p.upper_lo + p.lower_lo;
      const char32_t lower_hi = p.lower_lo + (p.upper_hi - p.upper_lo);
      if (InRange(r, p.lower_lo, lower_hi)) return up ? r - p.lower_lo + p.upper_lo : r;
    }
    return r;
  }
  if (InRange(r, 0x400, 0x4FF)) {  // Cyrillic
    if (r < 0x410) return up ? r : r + 0x50;
    if (r < 0x430) return up ? r : r + 0x20;
    if (r < 0x450) return up ? r - 0x20 : r;
    if (r < 0x460) return up ? r - 0x50 : r;
    if (InRange(r, 0x482, 0x489)) return r;
    if (r == 0x4C0) return up ? r : 0x4CF;
    if (r == 0x4CF) return up ? 0x4C0 : r;
    const bool is_upper = InRange(r, 0x4C1, 0x4CE) ? r % 2 == 1 : r % 2 == 0;
    if (up) return is_upper ? r : r - 1;
    return is_upper ? r + 1 : r;
  }
  // Blocks without case mappings.
  if (InRange(r, 0x2B0, 0x2FF) || InRange(r, 0x590, 0x6FF) || InRange(r, 0x900, 0xEFF) || InRange(r, 0x2000, 0x20FF) ||
      InRange(r, 0x2190, 0x23FF) || InRange(r, 0x2500, 0x2BFF) || InRange(r, 0x3000, 0x9FFF) ||
      InRange(r, 0xAC00, 0xD7FF) || InRange(r, 0xE000, 0xF8FF) || InRange(r, 0xFFFD, 0xFFFD) ||
      InRange(r, 0x1F000, 0x1FAFF)) {
    return r;
  }
  return std::nullopt;
}

char32_t MapCase(char32_t r, Case to, std::string_view what) {
  auto mapped = KnownMapCase(r, to);
  if (!mapped) FailUnsupportedRune(what, r);
  return *mapped;
}

// strings.Map with a rune mapping: invalid UTF-8 bytes become RuneError, as in Go.
template <typename F>
std::string MapRunes(std::string_view s, F mapping) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    auto r = DecodeRune(s);
    AppendRune(out, mapping(r.rune));
    s.remove_prefix(r.size);
  }
  return out;
}

bool IsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// strings.ToUpper / ToLower (an ASCII fast path, otherwise strings.Map).
std::string ToCase(std::string_view s, Case to, std::string_view what) {
  if (IsAscii(s)) {
    std::string out(s);
    for (char& c : out) {
      if (to == Case::kLower && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      if (to != Case::kLower && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    }
    return out;
  }
  return MapRunes(s, [&](char32_t r) { return MapCase(r, to, what); });
}

// strings.Title: the first letter of each word to title case; words are separated by what isSeparator says.
std::string Title(std::string_view s) {
  auto separator = [](char32_t r) {
    if (r <= 0x7F) {
      return !((r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r == '_');
    }
    return IsUnicodeSpace(r);  // non-ASCII letters and digits are not spaces
  };
  char32_t prev = ' ';
  return MapRunes(s, [&](char32_t r) {
    const bool start = separator(prev);
    prev = r;
    return start ? MapCase(r, Case::kTitle, "title") : r;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// strconv: quoting, unquoting, number parsing and float formatting.

constexpr char kLowerHex[] = "0123456789abcdef";
constexpr char kUpperHex[] = "0123456789ABCDEF";

// appendEscapedRune.
void AppendEscapedRune(std::string& out, char32_t r, char quote, bool ascii_only) {
  if (r == static_cast<char32_t>(quote) || r == '\\') {
    out += '\\';
    out += static_cast<char>(r);
    return;
  }
  if (ascii_only) {
    if (r < 0x80 && r >= 0x20 && r != 0x7F) {
      out += static_cast<char>(r);
      return;
    }
  } else if (IsPrint(r, "quoting")) {
    AppendRune(out, r);
    return;
  }
  switch (r) {
    case '\a':
      out += "\\a";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\v':
      out += "\\v";
      return;
    default:
      break;
  }
  if (r < ' ' || r == 0x7F) {
    out += "\\x";
    out += kLowerHex[(r >> 4) & 0xF];
    out += kLowerHex[r & 0xF];
    return;
  }
  if (!ValidRune(r)) r = kRuneError;
  if (r < 0x10000) {
    out += "\\u";
    for (int s = 12; s >= 0; s -= 4) out += kLowerHex[(r >> s) & 0xF];
  } else {
    out += "\\U";
    for (int s = 28; s >= 0; s -= 4) out += kLowerHex[(r >> s) & 0xF];
  }
}

// strconv.Quote / QuoteToASCII.
std::string Quote(std::string_view s, bool ascii_only = false) {
  std::string out = "\"";
  while (!s.empty()) {
    auto r = DecodeRune(s);
    if (r.size == 1 && r.rune == kRuneError) {
      out += "\\x";
      out += kLowerHex[static_cast<unsigned char>(s[0]) >> 4];
      out += kLowerHex[static_cast<unsigned char>(s[0]) & 0xF];
    } else {
      AppendEscapedRune(out, r.rune, '"', ascii_only);
    }
    s.remove_prefix(r.size);
  }
  return out + "\"";
}

// strconv.QuoteRune / QuoteRuneToASCII.
std::string QuoteRune(int64_t r, bool ascii_only) {
  std::string out = "'";
  AppendEscapedRune(out, ValidRune(r) ? static_cast<char32_t>(r) : kRuneError, '\'', ascii_only);
  return out + "'";
}

// strconv.CanBackquote.
bool CanBackquote(std::string_view s) {
  while (!s.empty()) {
    auto r = DecodeRune(s);
    s.remove_prefix(r.size);
    if (r.size > 1) {
      if (r.rune == 0xFEFF) return false;
      continue;
    }
    if (r.rune == kRuneError) return false;
    if ((r.rune < ' ' && r.rune != '\t') || r.rune == '`' || r.rune == 0x7F) return false;
  }
  return true;
}

int Unhex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// strconv.UnquoteChar. Returns false on ErrSyntax.
bool UnquoteChar(std::string_view& s, char quote, int64_t& value, bool& multibyte) {
  multibyte = false;
  if (s.empty()) return false;
  const char c = s[0];
  if (c == quote && (quote == '\'' || quote == '"')) return false;
  if (static_cast<unsigned char>(c) >= 0x80) {
    auto r = DecodeRune(s);
    value = r.rune;
    multibyte = true;
    s.remove_prefix(r.size);
    return true;
  }
  if (c != '\\') {
    value = static_cast<unsigned char>(c);
    s.remove_prefix(1);
    return true;
  }
  if (s.size() <= 1) return false;
  const char e = s[1];
  s.remove_prefix(2);
  switch (e) {
    case 'a':
      value = '\a';
      break;
    case 'b':
      value = '\b';
      break;
    case 'f':
      value = '\f';
      break;
    case 'n':
      value = '\n';
      break;
    case 'r':
      value = '\r';
      break;
    case 't':
      value = '\t';
      break;
    case 'v':
      value = '\v';
      break;
    case 'x':
    case 'u':
    case 'U': {
      const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
      if (s.size() < n) return false;
      int64_t v = 0;
      for (size_t j = 0; j < n; ++j) {
        const int x = Unhex(s[j]);
        if (x < 0) return false;
        v = v << 4 | x;
      }
      s.remove_prefix(n);
      if (e != 'x') {
        if (!ValidRune(v)) return false;
        multibyte = true;
      }
      value = v;
      break;
    }
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': {
      int64_t v = e - '0';
      if (s.size() < 2) return false;
      for (size_t j = 0; j < 2; ++j) {
        const int x = s[j] - '0';
        if (x < 0 || x > 7) return false;
        v = (v << 3) | x;
      }
      s.remove_prefix(2);
      if (v > 255) return false;
      value = v;
      break;
    }
    case '\\':
      value = '\\';
      break;
    case '\'':
    case '"':
      if (e != quote) return false;
      value = e;
      break;
    default:
      return false;
  }
  return true;
}

// strconv.Unquote for "..." and `...` literals (what the lexer hands over). nullopt on ErrSyntax.
std::optional<std::string> Unquote(std::string_view in) {
  if (in.size() < 2) return std::nullopt;
  const char quote = in[0];
  if (quote == '`') {
    if (in.back() != '`' || in.substr(1, in.size() - 2).find('`') != std::string_view::npos) return std::nullopt;
    std::string out;
    for (char c : in.substr(1, in.size() - 2)) {
      if (c != '\r') out += c;  // carriage returns are discarded from raw strings
    }
    return out;
  }
  if (quote != '"') return std::nullopt;
  std::string_view body = in.substr(1);
  const size_t end = body.find('"');
  if (end != std::string_view::npos && end + 2 == in.size()) {
    std::string_view simple = body.substr(0, end);
    if (simple.find('\\') == std::string_view::npos && simple.find('\n') == std::string_view::npos &&
        IsValidUtf8(simple)) {
      return std::string(simple);
    }
  }
  std::string out;
  std::string_view s = body;
  while (!s.empty() && s[0] != quote) {
    int64_t value = 0;
    bool multibyte = false;
    if (s[0] == '\n') return std::nullopt;
    if (!UnquoteChar(s, quote, value, multibyte)) return std::nullopt;
    if (value < 0x80 || !multibyte) {
      out += static_cast<char>(value);
    } else {
      AppendRune(out, value);
    }
  }
  if (s.size() != 1 || s[0] != quote) return std::nullopt;
  return out;
}

// strconv's underscoreOK: underscores only between digits (or after a base prefix).
bool UnderscoreOk(std::string_view s) {
  char saw = '^';
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  auto lower = [](char c) { return static_cast<char>(c | 0x20); };
  if (s.size() >= 2 && s[0] == '0' && (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

// strconv.ParseUint(s, 0, 64). `range_error` is set when the digits are valid but overflow.
std::optional<uint64_t> ParseUint0(std::string_view s0, bool* range_error = nullptr) {
  std::string_view s = s0;
  if (s.empty()) return std::nullopt;
  auto lower = [](char c) { return static_cast<char>(c | 0x20); };
  int base = 10;
  if (s[0] == '0') {
    if (s.size() >= 3 && lower(s[1]) == 'b') {
      base = 2;
      s.remove_prefix(2);
    } else if (s.size() >= 3 && lower(s[1]) == 'o') {
      base = 8;
      s.remove_prefix(2);
    } else if (s.size() >= 3 && lower(s[1]) == 'x') {
      base = 16;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  uint64_t n = 0;
  bool underscores = false, overflow = false;
  for (char c : s) {
    int d;
    if (c == '_') {
      underscores = true;
      continue;
    }
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (lower(c) >= 'a' && lower(c) <= 'z') {
      d = lower(c) - 'a' + 10;
    } else {
      return std::nullopt;
    }
    if (d >= base) return std::nullopt;
    if (overflow) continue;
    if (n > (std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) {
      overflow = true;
      continue;
    }
    n = n * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  if (underscores && !UnderscoreOk(s0)) return std::nullopt;
  if (overflow) {
    if (range_error != nullptr) *range_error = true;
    return std::nullopt;
  }
  return n;
}

// strconv.ParseInt(s, 0, 64).
std::optional<int64_t> ParseInt0(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  auto u = ParseUint0(s);
  if (!u) return std::nullopt;
  constexpr uint64_t kCutoff = uint64_t{1} << 63;
  if (!neg && *u >= kCutoff) return std::nullopt;
  if (neg && *u > kCutoff) return std::nullopt;
  return neg ? static_cast<int64_t>(0 - *u) : static_cast<int64_t>(*u);
}

enum class ParseFloatError { kNone, kSyntax, kRange };

// strconv.ParseFloat(s, 64): decimal and hexadecimal (with a p exponent) forms, underscores between digits,
// "inf", "infinity", "nan" in any case. Out of range: ±Inf and kRange.
double ParseFloat(std::string_view s, ParseFloatError& error) {
  error = ParseFloatError::kNone;
  auto lower = [](char c) { return static_cast<char>(c | 0x20); };
  auto ieq = [&](std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
  };
  {
    std::string_view t = s;
    double sign = 1;
    bool signed_ = false;
    if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
      sign = t[0] == '-' ? -1 : 1;
      signed_ = true;
      t.remove_prefix(1);
    }
    if (ieq(t, "inf") || ieq(t, "infinity")) return sign * std::numeric_limits<double>::infinity();
    if (!signed_ && ieq(t, "nan")) return std::numeric_limits<double>::quiet_NaN();
  }
  // readFloat's grammar.
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  bool hex = false;
  if (i + 2 < s.size() && s[i] == '0' && lower(s[i + 1]) == 'x') {
    hex = true;
    i += 2;
  }
  const size_t mantissa_start = i;
  bool sawdot = false, sawdigits = false, underscores = false;
  int64_t digits_before_point = 0, leading_zeros = 0;
  bool nonzero = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_') {
      underscores = true;
      continue;
    }
    if (c == '.') {
      if (sawdot) break;
      sawdot = true;
      continue;
    }
    if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
      sawdigits = true;
      if (c != '0') nonzero = true;
      if (!nonzero && !sawdot) ++leading_zeros;
      if (!sawdot) ++digits_before_point;
      continue;
    }
    break;
  }
  if (!sawdigits) {
    error = ParseFloatError::kSyntax;
    return 0;
  }
  const size_t mantissa_end = i;
  int64_t exponent = 0;
  const char exp_char = hex ? 'p' : 'e';
  if (i < s.size() && lower(s[i]) == exp_char) {
    ++i;
    if (i >= s.size()) {
      error = ParseFloatError::kSyntax;
      return 0;
    }
    int64_t esign = 1;
    if (s[i] == '+') {
      ++i;
    } else if (s[i] == '-') {
      ++i;
      esign = -1;
    }
    if (i >= s.size() || s[i] < '0' || s[i] > '9') {
      error = ParseFloatError::kSyntax;
      return 0;
    }
    int64_t e = 0;
    for (; i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); ++i) {
      if (s[i] == '_') {
        underscores = true;
        continue;
      }
      if (e < 10000) e = e * 10 + (s[i] - '0');
    }
    exponent = e * esign;
  } else if (hex) {
    error = ParseFloatError::kSyntax;
    return 0;
  }
  if (i != s.size() || (underscores && !UnderscoreOk(s.substr(0, i)))) {
    error = ParseFloatError::kSyntax;
    return 0;
  }
  std::string clean;
  for (char c : s.substr(mantissa_start, mantissa_end - mantissa_start)) {
    if (c != '_') clean += c;
  }
  clean += hex ? 'p' : 'e';
  clean += std::to_string(exponent);
  double value = 0;
  auto [ptr, ec] = std::from_chars(clean.data(), clean.data() + clean.size(), value,
                                   hex ? std::chars_format::hex : std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    // Overflow (Go: ±Inf and ErrRange) or underflow (Go: 0, no error): tell them apart by the magnitude.
    const int64_t magnitude = (digits_before_point - leading_zeros) * (hex ? 4 : 1) + exponent;
    if (nonzero && magnitude > 0) {
      error = ParseFloatError::kRange;
      value = std::numeric_limits<double>::infinity();
    } else {
      value = 0;
    }
  } else if (ec != std::errc() || ptr != clean.data() + clean.size()) {
    error = ParseFloatError::kSyntax;
    return 0;
  }
  return neg ? -value : value;
}

// A float conversion to int64 as Go does it on amd64 (CVTTSD2SI): NaN and out-of-range values give MinInt64.
int64_t GoFloatToInt64(double v) {
  if (!(v > -9223372036854775808.0 - 1025 && v < 9223372036854775808.0)) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(v);
}

// Decimal digits of a finite non-negative float: value = 0.digits × 10^dp; zero has no digits and dp 0.
struct Digits {
  std::string d;
  int dp = 0;
};

Digits ParseScientific(std::string_view s) {  // "d.ddde±XX" from to_chars or printf
  Digits out;
  const size_t e = s.find_first_of("eE");
  for (char c : s.substr(0, e)) {
    if (c != '.') out.d += c;
  }
  int exp = 0;
  std::string_view exp_text = s.substr(e + 1);
  if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  out.dp = exp + 1;
  while (!out.d.empty() && out.d.back() == '0') out.d.pop_back();
  size_t lead = 0;
  while (lead < out.d.size() && out.d[lead] == '0') ++lead;
  out.d.erase(0, lead);
  out.dp -= static_cast<int>(lead);
  if (out.d.empty()) out.dp = 0;
  return out;
}

Digits ShortestDigits(double a) {
  if (a == 0) return {};
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, a, std::chars_format::scientific);
  return ParseScientific(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
}

// `significant` digits, correctly rounded (half to even on the exact binary value, as Go's ftoa).
Digits PrecisionDigits(double a, int significant) {
  if (a == 0) return {};
  std::vector<char> buf(static_cast<size_t>(significant) + 32);
  const int n = std::snprintf(buf.data(), buf.size(), "%.*e", significant - 1, a);
  return ParseScientific(std::string_view(buf.data(), static_cast<size_t>(n)));
}

// strconv's fmtE and fmtF.
void AppendE(std::string& out, const Digits& d, int prec, char fmt) {
  out += d.d.empty() ? '0' : d.d[0];
  if (prec > 0) {
    out += '.';
    int i = 1;
    const int m = std::min(static_cast<int>(d.d.size()), prec + 1);
    if (i < m) {
      out.append(d.d, 1, static_cast<size_t>(m - 1));
      i = m;
    }
    for (; i <= prec; ++i) out += '0';
  }
  out += fmt;
  int exp = d.d.empty() ? 0 : d.dp - 1;
  out += exp < 0 ? '-' : '+';
  exp = std::abs(exp);
  if (exp < 10) {
    out += '0';
    out += static_cast<char>('0' + exp);
  } else if (exp < 100) {
    out += static_cast<char>('0' + exp / 10);
    out += static_cast<char>('0' + exp % 10);
  } else {
    out += static_cast<char>('0' + exp / 100);
    out += static_cast<char>('0' + exp / 10 % 10);
    out += static_cast<char>('0' + exp % 10);
  }
}

void AppendF(std::string& out, const Digits& d, int prec) {
  const int nd = static_cast<int>(d.d.size());
  if (d.dp > 0) {
    const int m = std::min(nd, d.dp);
    out.append(d.d, 0, static_cast<size_t>(m));
    for (int i = m; i < d.dp; ++i) out += '0';
  } else {
    out += '0';
  }
  if (prec > 0) {
    out += '.';
    for (int i = 1; i <= prec; ++i) {
      const int j = d.dp + i - 1;
      out += (j >= 0 && j < nd) ? d.d[static_cast<size_t>(j)] : '0';
    }
  }
}

// strconv's fmtB and fmtX.
std::string FormatBinaryFloat(double v, char fmt, int prec) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const bool neg = bits >> 63;
  int exp = static_cast<int>((bits >> 52) & 0x7FF);
  uint64_t mant = bits & ((uint64_t{1} << 52) - 1);
  if (exp == 0) {
    ++exp;
  } else {
    mant |= uint64_t{1} << 52;
  }
  exp -= 1023;
  std::string out = neg ? "-" : "";
  if (fmt == 'b') {
    out += std::to_string(mant);
    out += 'p';
    const int e = exp - 52;
    if (e >= 0) out += '+';
    out += std::to_string(e);
    return out;
  }
  if (mant == 0) exp = 0;
  mant <<= 60 - 52;
  while (mant != 0 && (mant & (uint64_t{1} << 60)) == 0) {
    mant <<= 1;
    --exp;
  }
  if (prec >= 0 && prec < 15) {
    const auto shift = static_cast<unsigned>(prec * 4);
    const uint64_t extra = (mant << shift) & ((uint64_t{1} << 60) - 1);
    mant >>= 60 - shift;
    if ((extra | (mant & 1)) > (uint64_t{1} << 59)) ++mant;
    mant <<= 60 - shift;
    if (mant & (uint64_t{1} << 61)) {
      mant >>= 1;
      ++exp;
    }
  }
  const char* hex = fmt == 'X' ? kUpperHex : kLowerHex;
  out += '0';
  out += fmt;
  out += static_cast<char>('0' + ((mant >> 60) & 1));
  mant <<= 4;
  if (prec < 0 && mant != 0) {
    out += '.';
    while (mant != 0) {
      out += hex[(mant >> 60) & 15];
      mant <<= 4;
    }
  } else if (prec > 0) {
    out += '.';
    for (int i = 0; i < prec; ++i) {
      out += hex[(mant >> 60) & 15];
      mant <<= 4;
    }
  }
  out += fmt == 'X' ? 'P' : 'p';
  out += exp < 0 ? '-' : '+';
  exp = std::abs(exp);
  if (exp < 100) {
    out += static_cast<char>('0' + exp / 10);
    out += static_cast<char>('0' + exp % 10);
  } else if (exp < 1000) {
    out += static_cast<char>('0' + exp / 100);
    out += static_cast<char>('0' + exp / 10 % 10);
    out += static_cast<char>('0' + exp % 10);
  } else {
    out += static_cast<char>('0' + exp / 1000);
    out += static_cast<char>('0' + exp / 100 % 10);
    out += static_cast<char>('0' + exp / 10 % 10);
    out += static_cast<char>('0' + exp % 10);
  }
  return out;
}

// strconv.FormatFloat(v, fmt, prec, 64) for fmt in "bxXeEfgG"; prec < 0 is the shortest representation.
std::string FormatFloat(double v, char fmt, int prec) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (fmt == 'b' || fmt == 'x' || fmt == 'X') return FormatBinaryFloat(v, fmt, prec);
  const bool neg = std::signbit(v);
  const double a = std::fabs(v);
  std::string out = neg ? "-" : "";
  if (fmt == 'f' && prec >= 0) {
    std::vector<char> buf(static_cast<size_t>(prec) + 400);
    const int n = std::snprintf(buf.data(), buf.size(), "%.*f", prec, a);
    out.append(buf.data(), static_cast<size_t>(n));
    return out;
  }
  const bool shortest = prec < 0;
  Digits digs;
  if (shortest) {
    digs = ShortestDigits(a);
    const int nd = static_cast<int>(digs.d.size());
    if (fmt == 'e' || fmt == 'E') prec = std::max(nd - 1, 0);
    if (fmt == 'f') prec = std::max(nd - digs.dp, 0);
    if (fmt == 'g' || fmt == 'G') prec = nd;
  } else {
    int digits = prec;
    if (fmt == 'e' || fmt == 'E') digits = prec + 1;
    if (fmt == 'g' || fmt == 'G') {
      if (prec == 0) prec = 1;
      digits = prec;
    }
    digs = PrecisionDigits(a, digits);
  }
  const int nd = static_cast<int>(digs.d.size());
  switch (fmt) {
    case 'e':
    case 'E':
      AppendE(out, digs, prec, fmt);
      return out;
    case 'f':
      AppendF(out, digs, prec);
      return out;
    default: {  // 'g', 'G'
      int eprec = prec;
      if (eprec > nd && nd >= digs.dp) eprec = nd;
      if (shortest) eprec = 6;
      const int exp = digs.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (prec > nd) prec = nd;
        AppendE(out, digs, prec - 1, fmt == 'g' ? 'e' : 'E');
        return out;
      }
      if (prec > digs.dp) prec = nd;
      AppendF(out, digs, std::max(prec - digs.dp, 0));
      return out;
    }
  }
}

// fmt.Sprintf("%.4g", v), which Prometheus's humanize functions use.
std::string Format4g(double v) { return FormatFloat(v, 'g', 4); }

}  // namespace

std::string GoFormatFloat(double v) { return FormatFloat(v, 'g', -1); }

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Values: the Go values a template can hold, and their Go type names.

struct Value;
using ArgsMap = std::vector<std::pair<std::string, Value>>;  // args' map[string]interface{}, sorted by key

struct Value {
  enum class Kind {
    kInvalid,       // reflect.Value{}: "<no value>" when printed
    kNilInterface,  // a nil interface{} (a missing key of args' map, a nil argument of args)
    kBool,
    kInt,        // Go int
    kUint8,      // a byte (index of a string)
    kFloat,      // float64
    kString,     // string
    kHtml,       // html/template.HTML (safeHtml)
    kStringMap,  // map[string]string ($labels, $externalLabels)
    kArgs,       // map[string]interface{} (args)
    kData,       // the struct Prometheus passes as dot
    kTime,       // *time.Time (toTime)
  };
  Kind kind = Kind::kInvalid;
  bool boolean = false;
  int64_t integer = 0;    // kInt, kUint8; kTime: milliseconds since the epoch
  uint64_t identity = 0;  // kTime: which pointer (eq compares pointers)
  double number = 0;
  std::string str;  // kString, kHtml
  const std::map<std::string, std::string>* map = nullptr;
  std::shared_ptr<const ArgsMap> args;
  const AlertTemplateData* data = nullptr;
  bool boxed = false;  // held by an interface{} (an element of args' map): field errors name "interface {}"

  bool is_nil() const { return kind == Kind::kInvalid || kind == Kind::kNilInterface; }
  bool is_string_kind() const { return kind == Kind::kString || kind == Kind::kHtml; }

  static Value Bool(bool b) {
    Value v;
    v.kind = Kind::kBool;
    v.boolean = b;
    return v;
  }
  static Value Int(int64_t i, Kind kind = Kind::kInt) {
    Value v;
    v.kind = kind;
    v.integer = i;
    return v;
  }
  static Value Float(double f) {
    Value v;
    v.kind = Kind::kFloat;
    v.number = f;
    return v;
  }
  static Value String(std::string s, Kind kind = Kind::kString) {
    Value v;
    v.kind = kind;
    v.str = std::move(s);
    return v;
  }
  static Value StringMap(const std::map<std::string, std::string>* map) {
    Value v;
    v.kind = Kind::kStringMap;
    v.map = map;
    return v;
  }
  static Value NilInterface() {
    Value v;
    v.kind = Kind::kNilInterface;
    return v;
  }
};
using Kind = Value::Kind;

constexpr std::string_view kDataTypeName =
    "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }";

std::string_view TypeName(const Value& v) {
  switch (v.kind) {
    case Kind::kInvalid:
      return "<nil>";
    case Kind::kNilInterface:
      return "interface {}";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kUint8:
      return "uint8";
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return "string";
    case Kind::kHtml:
      return "template.HTML";
    case Kind::kStringMap:
      return "map[string]string";
    case Kind::kArgs:
      return "map[string]interface {}";
    case Kind::kData:
      return kDataTypeName;
    case Kind::kTime:
      return "*time.Time";
  }
  return "";
}

// The fields of the data struct, in declaration order.
struct DataField {
  std::string_view name;
  Value value;
};
std::array<DataField, 4> DataFields(const AlertTemplateData& data) {
  return {DataField{"Labels", Value::StringMap(data.labels)},
          DataField{"ExternalLabels", Value::StringMap(data.external_labels)},
          DataField{"ExternalURL", Value::String(std::string(data.external_url))},
          DataField{"Value", Value::Float(data.value)}};
}

// Go's time.Time.String() and GoString() of a UTC time (what toTime and humanizeTimestamp make).
struct CivilTime {
  int64_t year;
  unsigned month, day, hour, minute, second, millisecond;
};

CivilTime ToCivil(int64_t epoch_ms) {
  int64_t seconds = epoch_ms >= 0 ? epoch_ms / 1000 : -((-epoch_ms + 999) / 1000);
  const auto millis = static_cast<unsigned>(epoch_ms - seconds * 1000);
  int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  const int64_t rest = seconds - days * 86400;
  // H. Hinnant's civil_from_days.
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2);
  return {year,
          month,
          day,
          static_cast<unsigned>(rest / 3600),
          static_cast<unsigned>(rest / 60 % 60),
          static_cast<unsigned>(rest % 60),
          millis};
}

std::string TimeString(int64_t epoch_ms) {
  const CivilTime t = ToCivil(epoch_ms);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02u:%02u:%02u", static_cast<long long>(t.year), t.month, t.day,
                t.hour, t.minute, t.second);
  std::string out = buf;
  if (t.millisecond != 0) {
    std::snprintf(buf, sizeof buf, ".%03u", t.millisecond);
    std::string fraction = buf;
    while (fraction.back() == '0') fraction.pop_back();
    out += fraction;
  }
  return out + " +0000 UTC";
}

std::string TimeGoString(int64_t epoch_ms) {
  static constexpr std::string_view kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                                 "July",    "August",   "September", "October", "November", "December"};
  const CivilTime t = ToCivil(epoch_ms);
  return "time.Date(" + std::to_string(t.year) + ", time." + std::string(kMonths[t.month - 1]) + ", " +
         std::to_string(t.day) + ", " + std::to_string(t.hour) + ", " + std::to_string(t.minute) + ", " +
         std::to_string(t.second) + ", " + std::to_string(t.millisecond * 1000000ull) + ", time.UTC)";
}

// ---------------------------------------------------------------------------------------------------------------
// fmt: Go's printer (print.go) and formatter (format.go), over Values.

[[noreturn]] void FailTooLarge() {
  Fail(std::string::npos, "the expansion would exceed " + std::to_string(kAlertTemplateMaxOutputBytes) +
                              " bytes (a bound of this implementation)");
}

class Printer {
 public:
  std::string Take() { return std::move(buf_); }

  // fmt.Sprintf, fmt.Sprint, fmt.Sprintln.
  void DoPrintf(std::string_view format, const std::vector<Value>& a);
  void DoPrint(const std::vector<Value>& a) {
    bool prev_string = false;
    for (size_t i = 0; i < a.size(); ++i) {
      const bool is_string = a[i].is_string_kind();
      if (i > 0 && !is_string && !prev_string) WriteByte(' ');
      PrintArg(a[i], 'v');
      prev_string = is_string;
    }
  }
  void DoPrintln(const std::vector<Value>& a) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (i > 0) WriteByte(' ');
      PrintArg(a[i], 'v');
    }
    WriteByte('\n');
  }
  // fmt.Fprint of one value (what text/template prints for an action).
  void PrintArg(const Value& arg, char32_t verb);

 private:
  struct Flags {
    bool wid_present = false, prec_present = false, minus = false, plus = false, sharp = false, space = false,
         zero = false, plus_v = false, sharp_v = false;
    int wid = 0, prec = 0;
  };

  void Write(std::string_view s) {
    if (buf_.size() + s.size() > kAlertTemplateMaxOutputBytes) FailTooLarge();
    buf_ += s;
  }
  void WriteByte(char c) { Write(std::string_view(&c, 1)); }
  void WriteRune(char32_t r) {
    std::string s;
    AppendRune(s, r);
    Write(s);
  }
  void WritePadding(int n) {
    if (n <= 0) return;
    if (buf_.size() + static_cast<size_t>(n) > kAlertTemplateMaxOutputBytes) FailTooLarge();
    buf_.append(static_cast<size_t>(n), f_.zero ? '0' : ' ');
  }
  void Pad(std::string_view s) {
    if (!f_.wid_present || f_.wid == 0) {
      Write(s);
      return;
    }
    const int width = f_.wid - static_cast<int>(RuneCount(s));
    if (!f_.minus) {
      WritePadding(width);
      Write(s);
    } else {
      Write(s);
      WritePadding(width);
    }
  }
  std::string_view Truncate(std::string_view s) const {
    if (f_.prec_present) {
      int n = f_.prec;
      size_t i = 0;
      while (i < s.size()) {
        if (--n < 0) return s.substr(0, i);
        i += DecodeRune(s.substr(i)).size;
      }
    }
    return s;
  }

  void FmtS(std::string_view s) { Pad(Truncate(s)); }
  void FmtQ(std::string_view s) {
    s = Truncate(s);
    if (f_.sharp && CanBackquote(s)) {
      Pad("`" + std::string(s) + "`");
      return;
    }
    Pad(Quote(s, f_.plus));
  }
  void FmtSbx(std::string_view s, const char* digits);
  void FmtInteger(uint64_t u, int base, bool is_signed, char32_t verb, const char* digits);
  void FmtUnicode(uint64_t u);
  void FmtC(uint64_t c) {
    std::string s;
    AppendRune(s, c > static_cast<uint64_t>(kMaxRune) ? kRuneError : static_cast<int64_t>(c));
    Pad(s);
  }
  void FmtQc(uint64_t c) {
    Pad(QuoteRune(c > static_cast<uint64_t>(kMaxRune) ? kRuneError : static_cast<int64_t>(c), f_.plus));
  }
  void FmtFloat(double v, char verb, int prec);

  // `type` overrides the Go type name of `arg` (the int64 and uint64 fields of a time.Time).
  void BadVerb(char32_t verb, const Value* arg, std::string_view type = {});
  void PrintTimeStruct(int64_t epoch_ms, char32_t verb);
  void FmtBool(const Value& v, char32_t verb) {
    if (verb == 't' || verb == 'v') {
      Pad(v.boolean ? "true" : "false");
    } else {
      BadVerb(verb, &v);
    }
  }
  void FmtIntegerVerb(const Value& v, char32_t verb, std::string_view type = {});
  void FmtFloatVerb(const Value& v, char32_t verb);
  void FmtString(const Value& v, std::string_view s, char32_t verb) {
    switch (verb) {
      case 'v':
        if (f_.sharp_v) {
          FmtQ(s);
        } else {
          FmtS(s);
        }
        return;
      case 's':
        FmtS(s);
        return;
      case 'x':
        FmtSbx(s, kLowerHex);
        return;
      case 'X':
        FmtSbx(s, kUpperHex);
        return;
      case 'q':
        FmtQ(s);
        return;
      default:
        BadVerb(verb, &v);
    }
  }
  bool HandleMethods(const Value& v, char32_t verb);
  void PrintValue(const Value& v, char32_t verb, int depth);

  // Printf's argument handling.
  bool ArgNumber(int& arg_num, std::string_view format, size_t& i, int num_args);

  std::string buf_;
  Flags f_;
  bool erroring_ = false;
  bool reordered_ = false, good_arg_num_ = true;
};

void Printer::FmtSbx(std::string_view s, const char* digits) {
  int length = static_cast<int>(s.size());
  if (f_.prec_present && f_.prec < length) length = f_.prec;
  int width = 2 * length;
  if (width > 0) {
    if (f_.space) {
      if (f_.sharp) width *= 2;
      width += length - 1;
    } else if (f_.sharp) {
      width += 2;
    }
  } else {
    if (f_.wid_present) WritePadding(f_.wid);
    return;
  }
  if (f_.wid_present && f_.wid > width && !f_.minus) WritePadding(f_.wid - width);
  std::string out;
  if (f_.sharp) {
    out += '0';
    out += digits == kUpperHex ? 'X' : 'x';
  }
  for (int i = 0; i < length; ++i) {
    if (f_.space && i > 0) {
      out += ' ';
      if (f_.sharp) {
        out += '0';
        out += digits == kUpperHex ? 'X' : 'x';
      }
    }
    const auto c = static_cast<unsigned char>(s[static_cast<size_t>(i)]);
    out += digits[c >> 4];
    out += digits[c & 0xF];
  }
  Write(out);
  if (f_.wid_present && f_.wid > width && f_.minus) WritePadding(f_.wid - width);
}

void Printer::FmtInteger(uint64_t u, int base, bool is_signed, char32_t verb, const char* digits) {
  const bool negative = is_signed && static_cast<int64_t>(u) < 0;
  if (negative) u = 0 - u;
  int prec = 0;
  if (f_.prec_present) {
    prec = f_.prec;
    if (prec == 0 && u == 0) {
      const bool old_zero = f_.zero;
      f_.zero = false;
      WritePadding(f_.wid);
      f_.zero = old_zero;
      return;
    }
  } else if (f_.zero && f_.wid_present) {
    prec = f_.wid;
    if (negative || f_.plus || f_.space) --prec;
  }
  if (static_cast<size_t>(std::max(prec, 0)) > kAlertTemplateMaxOutputBytes) FailTooLarge();
  std::string out;  // built right to left, then reversed
  const auto b = static_cast<uint64_t>(base);
  while (u >= b) {
    out += digits[u % b];
    u /= b;
  }
  out += digits[u];
  while (static_cast<int>(out.size()) < prec) out += '0';
  if (f_.sharp) {
    if (base == 2) {
      out += "b0";
    } else if (base == 8) {
      if (out.back() != '0') out += '0';
    } else if (base == 16) {
      out += digits == kUpperHex ? 'X' : 'x';
      out += '0';
    }
  }
  if (verb == 'O') out += "o0";
  if (negative) {
    out += '-';
  } else if (f_.plus) {
    out += '+';
  } else if (f_.space) {
    out += ' ';
  }
  std::reverse(out.begin(), out.end());
  const bool old_zero = f_.zero;
  f_.zero = false;
  Pad(out);
  f_.zero = old_zero;
}

void Printer::FmtUnicode(uint64_t u) {
  int prec = 4;
  if (f_.prec_present && f_.prec > 4) prec = f_.prec;
  if (static_cast<size_t>(prec) > kAlertTemplateMaxOutputBytes) FailTooLarge();
  std::string hex;
  uint64_t x = u;
  while (x >= 16) {
    hex += kUpperHex[x & 0xF];
    x >>= 4;
    --prec;
  }
  hex += kUpperHex[x];
  --prec;
  while (prec-- > 0) hex += '0';
  std::reverse(hex.begin(), hex.end());
  std::string out = "U+" + hex;
  if (f_.sharp && u <= static_cast<uint64_t>(kMaxRune) && IsPrint(static_cast<char32_t>(u), "%#U")) {
    out += " '";
    AppendRune(out, static_cast<int64_t>(u));
    out += '\'';
  }
  const bool old_zero = f_.zero;
  f_.zero = false;
  Pad(out);
  f_.zero = old_zero;
}

void Printer::FmtFloat(double v, char verb, int prec) {
  if (f_.prec_present) prec = f_.prec;
  if (prec > static_cast<int>(kAlertTemplateMaxOutputBytes)) FailTooLarge();
  std::string num = FormatFloat(v, verb, prec);
  if (num[0] != '-' && num[0] != '+') num.insert(num.begin(), '+');
  if (f_.space && num[0] == '+' && !f_.plus) num[0] = ' ';
  if (num[1] == 'I' || num[1] == 'N') {
    const bool old_zero = f_.zero;
    f_.zero = false;
    if (num[1] == 'N' && !f_.space && !f_.plus) num.erase(0, 1);
    Pad(num);
    f_.zero = old_zero;
    return;
  }
  if (f_.sharp && verb != 'b') {
    int digits = 0;
    if (verb == 'v' || verb == 'g' || verb == 'G' || verb == 'x') {
      digits = prec;
      if (digits == -1) digits = 6;
    }
    std::string tail;
    bool has_decimal_point = false, saw_nonzero_digit = false;
    for (size_t i = 1; i < num.size(); ++i) {
      const char c = num[i];
      if (c == '.') {
        has_decimal_point = true;
        continue;
      }
      if (c == 'p' || c == 'P') {
        tail = num.substr(i);
        num.resize(i);
        break;
      }
      if ((c == 'e' || c == 'E') && verb != 'x' && verb != 'X') {
        tail = num.substr(i);
        num.resize(i);
        break;
      }
      if (c != '0') saw_nonzero_digit = true;
      if (saw_nonzero_digit) --digits;
    }
    if (!has_decimal_point) {
      if (num.size() == 2 && num[1] == '0') --digits;
      num += '.';
    }
    if (digits > 0) num.append(static_cast<size_t>(digits), '0');
    num += tail;
  }
  if (f_.plus || num[0] != '+') {
    if (f_.zero && f_.wid_present && f_.wid > static_cast<int>(num.size())) {
      WriteByte(num[0]);
      WritePadding(f_.wid - static_cast<int>(num.size()));
      Write(std::string_view(num).substr(1));
      return;
    }
    Pad(num);
    return;
  }
  Pad(std::string_view(num).substr(1));
}

void Printer::BadVerb(char32_t verb, const Value* arg, std::string_view type) {
  erroring_ = true;
  Write("%!");
  WriteRune(verb);
  WriteByte('(');
  if (arg != nullptr && !arg->is_nil()) {
    Write(type.empty() ? TypeName(*arg) : type);
    WriteByte('=');
    PrintArg(*arg, 'v');
  } else {
    Write("<nil>");
  }
  WriteByte(')');
  erroring_ = false;
}

void Printer::FmtIntegerVerb(const Value& v, char32_t verb, std::string_view type) {
  const bool is_signed = v.kind == Kind::kInt;
  const auto u = static_cast<uint64_t>(v.integer);
  switch (verb) {
    case 'v':
      if (f_.sharp_v && !is_signed) {
        const bool sharp = f_.sharp;
        f_.sharp = true;
        FmtInteger(u, 16, false, 'v', kLowerHex);
        f_.sharp = sharp;
      } else {
        FmtInteger(u, 10, is_signed, verb, kLowerHex);
      }
      return;
    case 'd':
      FmtInteger(u, 10, is_signed, verb, kLowerHex);
      return;
    case 'b':
      FmtInteger(u, 2, is_signed, verb, kLowerHex);
      return;
    case 'o':
    case 'O':
      FmtInteger(u, 8, is_signed, verb, kLowerHex);
      return;
    case 'x':
      FmtInteger(u, 16, is_signed, verb, kLowerHex);
      return;
    case 'X':
      FmtInteger(u, 16, is_signed, verb, kUpperHex);
      return;
    case 'c':
      FmtC(u);
      return;
    case 'q':
      FmtQc(u);
      return;
    case 'U':
      FmtUnicode(u);
      return;
    default:
      BadVerb(verb, &v, type);
  }
}

void Printer::FmtFloatVerb(const Value& v, char32_t verb) {
  switch (verb) {
    case 'v':
      FmtFloat(v.number, 'g', -1);
      return;
    case 'b':
    case 'g':
    case 'G':
    case 'x':
    case 'X':
      FmtFloat(v.number, static_cast<char>(verb), -1);
      return;
    case 'f':
    case 'e':
    case 'E':
      FmtFloat(v.number, static_cast<char>(verb), 6);
      return;
    case 'F':
      FmtFloat(v.number, 'f', 6);
      return;
    default:
      BadVerb(verb, &v);
  }
}

bool Printer::HandleMethods(const Value& v, char32_t verb) {
  if (erroring_ || v.kind != Kind::kTime) return false;
  if (f_.sharp_v) {
    FmtS(TimeGoString(v.integer));  // GoStringer
    return true;
  }
  if (verb == 'v' || verb == 's' || verb == 'x' || verb == 'X' || verb == 'q') {
    FmtString(v, TimeString(v.integer), verb);  // Stringer
    return true;
  }
  return false;
}

void Printer::PrintArg(const Value& arg, char32_t verb) {
  if (arg.is_nil()) {
    if (verb == 'T' || verb == 'v') {
      Pad("<nil>");
    } else {
      BadVerb(verb, nullptr);
    }
    return;
  }
  if (verb == 'T') {
    FmtS(TypeName(arg));
    return;
  }
  if (verb == 'p') {
    if (arg.kind == Kind::kStringMap || arg.kind == Kind::kArgs || arg.kind == Kind::kTime) {
      Fail(std::string::npos, "printf %p (an address) is not supported");
    }
    BadVerb(verb, &arg);
    return;
  }
  switch (arg.kind) {
    case Kind::kBool:
      FmtBool(arg, verb);
      return;
    case Kind::kFloat:
      FmtFloatVerb(arg, verb);
      return;
    case Kind::kInt:
    case Kind::kUint8:
      FmtIntegerVerb(arg, verb);
      return;
    case Kind::kString:
      FmtString(arg, arg.str, verb);
      return;
    default:
      if (!HandleMethods(arg, verb)) PrintValue(arg, verb, 0);
  }
}

void Printer::PrintValue(const Value& v, char32_t verb, int depth) {
  if (depth > 0 && v.kind != Kind::kInvalid && HandleMethods(v, verb)) return;
  switch (v.kind) {
    case Kind::kInvalid:
      if (depth == 0) {
        Write("<invalid reflect.Value>");
      } else if (verb == 'v') {
        Write("<nil>");
      } else {
        BadVerb(verb, nullptr);
      }
      return;
    case Kind::kNilInterface:
      Write(f_.sharp_v ? "interface {}(nil)" : "<nil>");
      return;
    case Kind::kBool:
      FmtBool(v, verb);
      return;
    case Kind::kInt:
    case Kind::kUint8:
      FmtIntegerVerb(v, verb);
      return;
    case Kind::kFloat:
      FmtFloatVerb(v, verb);
      return;
    case Kind::kString:
    case Kind::kHtml:
      FmtString(v, v.str, verb);
      return;
    case Kind::kStringMap:
    case Kind::kArgs: {
      if (f_.sharp_v) {
        Write(TypeName(v));
        WriteByte('{');
      } else {
        Write("map[");
      }
      size_t i = 0;
      auto entry = [&](const std::string& key, const Value& value) {
        if (i++ > 0) Write(f_.sharp_v ? ", " : " ");
        PrintValue(Value::String(key), verb, depth + 1);
        WriteByte(':');
        PrintValue(value, verb, depth + 1);
      };
      if (v.kind == Kind::kStringMap) {
        for (const auto& [key, value] : *v.map) entry(key, Value::String(value));
      } else {
        for (const auto& [key, value] : *v.args) entry(key, value);
      }
      WriteByte(f_.sharp_v ? '}' : ']');
      return;
    }
    case Kind::kData: {
      if (f_.sharp_v) Write(kDataTypeName);
      WriteByte('{');
      size_t i = 0;
      for (const DataField& field : DataFields(*v.data)) {
        if (i++ > 0) Write(f_.sharp_v ? ", " : " ");
        if (f_.plus_v || f_.sharp_v) {
          Write(field.name);
          WriteByte(':');
        }
        PrintValue(field.value, verb, depth + 1);
      }
      WriteByte('}');
      return;
    }
    case Kind::kTime:
      if (depth > 0) {
        Fail(std::string::npos, "printing a time value inside a map with %" + std::string(1, static_cast<char>(verb)) +
                                    " (an address) is not supported");
      }
      PrintTimeStruct(v.integer, verb);
      return;
  }
}

// What fmt prints for a *time.Time with a verb its String method does not serve: &{wall ext loc}, the
// unexported fields of a UTC time.Time made by time.Unix: wall holds the nanoseconds, ext the seconds since
// January 1 of year 1, loc is nil.
void Printer::PrintTimeStruct(int64_t epoch_ms, char32_t verb) {
  const int64_t seconds = epoch_ms >= 0 ? epoch_ms / 1000 : -((-epoch_ms + 999) / 1000);
  const int64_t wall = (epoch_ms - seconds * 1000) * 1000000;
  const int64_t ext = seconds + 62135596800;
  Write("&{");
  if (f_.plus_v) Write("wall:");
  FmtIntegerVerb(Value::Int(wall, Kind::kUint8), verb, "uint64");
  WriteByte(' ');
  if (f_.plus_v) Write("ext:");
  FmtIntegerVerb(Value::Int(ext), verb, "int64");
  WriteByte(' ');
  if (f_.plus_v) Write("loc:");
  if (verb == 'b' || verb == 'o' || verb == 'd' || verb == 'x' || verb == 'X') {
    FmtIntegerVerb(Value::Int(0, Kind::kUint8), verb);  // fmtPointer of a nil pointer
  } else {
    Write("%!");
    WriteRune(verb);
    Write("(*time.Location=");
    Pad("<nil>");
    WriteByte(')');
  }
  WriteByte('}');
}

// parsenum: at most about 1e6 is a number, else (0, false) and the rest of the format is consumed.
bool ParseNum(std::string_view s, size_t& i, size_t end, int& num) {
  num = 0;
  bool isnum = false;
  if (i >= end) return false;
  size_t j = i;
  for (; j < end && s[j] >= '0' && s[j] <= '9'; ++j) {
    if (num > 1000000 || num < -1000000) {
      i = end;
      num = 0;
      return false;
    }
    num = num * 10 + (s[j] - '0');
    isnum = true;
  }
  i = j;
  return isnum;
}

bool Printer::ArgNumber(int& arg_num, std::string_view format, size_t& i, int num_args) {
  if (format.size() <= i || format[i] != '[') return false;
  reordered_ = true;
  // parseArgNumber
  std::string_view f = format.substr(i);
  int index = 0;
  size_t wid = 1;
  bool ok = false;
  if (f.size() >= 3) {
    for (size_t k = 1; k < f.size(); ++k) {
      if (f[k] == ']') {
        size_t p = 1;
        int width = 0;
        const bool isnum = ParseNum(f, p, k, width);
        if (!isnum || p != k) {
          index = 0;
          wid = k + 1;
          ok = false;
        } else {
          index = width - 1;
          wid = k + 1;
          ok = true;
        }
        break;
      }
    }
  }
  if (ok && 0 <= index && index < num_args) {
    arg_num = index;
    i += wid;
    return true;
  }
  good_arg_num_ = false;
  i += wid;
  return ok;
}

void Printer::DoPrintf(std::string_view format, const std::vector<Value>& a) {
  const size_t end = format.size();
  const int num_args = static_cast<int>(a.size());
  int arg_num = 0;
  bool after_index = false;
  reordered_ = false;
  // intFromArg
  auto int_from_arg = [&](int& num, int& arg) {
    bool is_int = false;
    num = 0;
    if (arg < num_args) {
      const Value& v = a[static_cast<size_t>(arg)];
      if (v.kind == Kind::kInt || v.kind == Kind::kUint8) {
        num = static_cast<int>(std::clamp<int64_t>(v.integer, -2000000, 2000000));
        is_int = true;
      }
      ++arg;
      if (num > 1000000 || num < -1000000) {
        num = 0;
        is_int = false;
      }
    }
    return is_int;
  };
  size_t i = 0;
  while (i < end) {
    good_arg_num_ = true;
    const size_t lasti = i;
    while (i < end && format[i] != '%') ++i;
    if (i > lasti) Write(format.substr(lasti, i - lasti));
    if (i >= end) break;
    ++i;
    f_ = Flags{};
    bool simple_done = false;
    for (; i < end; ++i) {
      const char c = format[i];
      if (c == '#') {
        f_.sharp = true;
      } else if (c == '0') {
        f_.zero = !f_.minus;
      } else if (c == '+') {
        f_.plus = true;
      } else if (c == '-') {
        f_.minus = true;
        f_.zero = false;
      } else if (c == ' ') {
        f_.space = true;
      } else {
        if (c >= 'a' && c <= 'z' && arg_num < num_args) {
          if (c == 'v') {
            f_.sharp_v = f_.sharp;
            f_.sharp = false;
            f_.plus_v = f_.plus;
            f_.plus = false;
          }
          PrintArg(a[static_cast<size_t>(arg_num)], static_cast<char32_t>(c));
          ++arg_num;
          ++i;
          simple_done = true;
        }
        break;
      }
    }
    if (simple_done) continue;

    after_index = ArgNumber(arg_num, format, i, num_args);
    if (i < end && format[i] == '*') {
      ++i;
      f_.wid_present = int_from_arg(f_.wid, arg_num);
      if (!f_.wid_present) Write("%!(BADWIDTH)");
      if (f_.wid < 0) {
        f_.wid = -f_.wid;
        f_.minus = true;
        f_.zero = false;
      }
      after_index = false;
    } else {
      f_.wid_present = ParseNum(format, i, end, f_.wid);
      if (after_index && f_.wid_present) good_arg_num_ = false;
    }
    if (i + 1 < end && format[i] == '.') {
      ++i;
      if (after_index) good_arg_num_ = false;
      after_index = ArgNumber(arg_num, format, i, num_args);
      if (i < end && format[i] == '*') {
        ++i;
        f_.prec_present = int_from_arg(f_.prec, arg_num);
        if (f_.prec < 0) {
          f_.prec = 0;
          f_.prec_present = false;
        }
        if (!f_.prec_present) Write("%!(BADPREC)");
        after_index = false;
      } else {
        f_.prec_present = ParseNum(format, i, end, f_.prec);
        if (!f_.prec_present) {
          f_.prec = 0;
          f_.prec_present = true;
        }
      }
    }
    if (!after_index) after_index = ArgNumber(arg_num, format, i, num_args);
    if (i >= end) {
      Write("%!(NOVERB)");
      break;
    }
    char32_t verb = static_cast<unsigned char>(format[i]);
    size_t size = 1;
    if (verb >= 0x80) {
      auto r = DecodeRune(format.substr(i));
      verb = r.rune;
      size = r.size;
    }
    i += size;
    if (verb == '%') {
      WriteByte('%');
    } else if (!good_arg_num_) {
      Write("%!");
      WriteRune(verb);
      Write("(BADINDEX)");
    } else if (arg_num >= num_args) {
      Write("%!");
      WriteRune(verb);
      Write("(MISSING)");
    } else {
      if (verb == 'v') {
        f_.sharp_v = f_.sharp;
        f_.sharp = false;
        f_.plus_v = f_.plus;
        f_.plus = false;
      }
      PrintArg(a[static_cast<size_t>(arg_num)], verb);
      ++arg_num;
    }
  }
  if (!reordered_ && arg_num < num_args) {
    f_ = Flags{};
    Write("%!(EXTRA ");
    for (int k = arg_num; k < num_args; ++k) {
      if (k > arg_num) Write(", ");
      const Value& arg = a[static_cast<size_t>(k)];
      if (arg.is_nil()) {
        Write("<nil>");
      } else {
        Write(TypeName(arg));
        WriteByte('=');
        PrintArg(arg, 'v');
      }
    }
    WriteByte(')');
  }
}

std::string Sprint(const Value& v) {
  Printer p;
  p.PrintArg(v, 'v');
  return p.Take();
}

// ---------------------------------------------------------------------------------------------------------------
// Lexer (text/template/parse/lex.go).

enum class ItemType {
  kError,
  kBool,
  kChar,
  kCharConstant,
  kComplex,
  kAssign,
  kDeclare,
  kEof,
  kField,
  kIdentifier,
  kLeftDelim,
  kLeftParen,
  kNumber,
  kPipe,
  kRawString,
  kRightDelim,
  kRightParen,
  kSpace,
  kString,
  kText,
  kVariable,
  kKeyword,  // keywords follow
  kBlock,
  kBreak,
  kContinue,
  kDot,
  kDefine,
  kElse,
  kEnd,
  kIf,
  kNil,
  kRange,
  kTemplate,
  kWith,
};

struct Item {
  ItemType type;
  size_t pos;
  std::string_view val;
  std::string error;  // kError
};

// %#U of a rune: "U+0040 '@'".
std::string SharpU(char32_t r) {
  std::string out = HexRune(r);
  auto print = KnownIsPrint(r);
  if (print && *print) {
    out += " '";
    AppendRune(out, r);
    out += '\'';
  }
  return out;
}

// The item as Go's parser names it in "unexpected X in Y".
std::string ItemString(const Item& item) {
  if (item.type == ItemType::kEof) return "EOF";
  if (item.type == ItemType::kError) return item.error;
  if (item.type > ItemType::kKeyword) return "<" + std::string(item.val) + ">";
  if (RuneCount(item.val) > 10) {
    std::string_view s = item.val;
    size_t i = 0;
    for (int n = 0; n < 10; ++n) i += DecodeRune(s.substr(i)).size;
    return Quote(s.substr(0, i)) + "...";
  }
  return Quote(item.val);
}

bool IsSpaceByte(int32_t r) { return r == ' ' || r == '\t' || r == '\r' || r == '\n'; }
bool IsAsciiAlphaNumeric(int32_t r) {
  return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9');
}

class Lexer {
 public:
  explicit Lexer(std::string_view input) : input_(input) {}

  std::vector<Item> Run() {
    State state = State::kText;
    while (state != State::kDone) state = Step(state);
    return std::move(items_);
  }

 private:
  enum class State {
    kText,
    kLeftDelim,
    kComment,
    kRightDelim,
    kInsideAction,
    kSpace,
    kIdentifier,
    kField,
    kVariable,
    kChar,
    kQuote,
    kRawQuote,
    kNumber,
    kDone,
  };
  static constexpr int32_t kEofRune = -1;
  static constexpr size_t kTrimMarkerLen = 2;

  int32_t Next() {
    if (pos_ >= input_.size()) {
      width_ = 0;
      return kEofRune;
    }
    auto r = DecodeRune(input_.substr(pos_));
    width_ = r.size;
    pos_ += width_;
    return static_cast<int32_t>(r.rune);
  }
  void Backup() { pos_ -= width_; }
  int32_t Peek() {
    const int32_t r = Next();
    Backup();
    return r;
  }
  void Emit(ItemType type) {
    items_.push_back({type, start_, input_.substr(start_, pos_ - start_), {}});
    start_ = pos_;
  }
  void Ignore() { start_ = pos_; }
  bool Accept(std::string_view valid) {
    const int32_t r = Next();
    if (r != kEofRune && r < 0x80 && valid.find(static_cast<char>(r)) != std::string_view::npos) return true;
    Backup();
    return false;
  }
  void AcceptRun(std::string_view valid) {
    while (Accept(valid)) {
    }
  }
  State Errorf(std::string message) {
    items_.push_back({ItemType::kError, start_, {}, std::move(message)});
    return State::kDone;
  }
  State NonAscii(int32_t r) {
    return Errorf("non-ASCII character " + SharpU(static_cast<char32_t>(r)) +
                  " outside a string in an action is not supported");
  }
  bool HasLeftTrimMarker(size_t at) const {
    return at + 1 < input_.size() && input_[at] == '-' && IsSpaceByte(static_cast<unsigned char>(input_[at + 1]));
  }
  bool HasRightTrimMarker(size_t at) const {
    return at + 1 < input_.size() && IsSpaceByte(static_cast<unsigned char>(input_[at])) && input_[at + 1] == '-';
  }
  bool AtRightDelim(bool& trim) const {
    trim = false;
    if (HasRightTrimMarker(pos_) && input_.substr(pos_ + kTrimMarkerLen).substr(0, 2) == "}}") {
      trim = true;
      return true;
    }
    return input_.substr(pos_).substr(0, 2) == "}}";
  }
  bool AtTerminator() {
    const int32_t r = Peek();
    if (IsSpaceByte(r)) return true;
    switch (r) {
      case kEofRune:
      case '.':
      case ',':
      case '|':
      case ':':
      case ')':
      case '(':
      case '}':
        return true;
      default:
        return false;
    }
  }
  size_t LeftTrimLength(size_t at) const {
    size_t n = 0;
    while (at + n < input_.size() && IsSpaceByte(static_cast<unsigned char>(input_[at + n]))) ++n;
    return n;
  }

  State Step(State state) {
    switch (state) {
      case State::kText:
        return LexText();
      case State::kLeftDelim:
        return LexLeftDelim();
      case State::kComment:
        return LexComment();
      case State::kRightDelim:
        return LexRightDelim();
      case State::kInsideAction:
        return LexInsideAction();
      case State::kSpace:
        return LexSpace();
      case State::kIdentifier:
        return LexIdentifier();
      case State::kField:
        return LexFieldOrVariable(ItemType::kField);
      case State::kVariable:
        return LexFieldOrVariable(ItemType::kVariable);
      case State::kChar:
        return LexQuoted('\'', ItemType::kCharConstant, "unterminated character constant");
      case State::kQuote:
        return LexQuoted('"', ItemType::kString, "unterminated quoted string");
      case State::kRawQuote:
        return LexRawQuote();
      case State::kNumber:
        return LexNumber();
      case State::kDone:
        break;
    }
    return State::kDone;
  }

  State LexText() {
    const size_t x = input_.find("{{", pos_);
    if (x != std::string_view::npos) {
      if (x > pos_) {
        pos_ = x;
        size_t trim = 0;
        if (HasLeftTrimMarker(pos_ + 2)) {
          while (pos_ - trim > start_ && IsSpaceByte(static_cast<unsigned char>(input_[pos_ - trim - 1]))) ++trim;
        }
        pos_ -= trim;
        if (pos_ > start_) {
          Emit(ItemType::kText);
        }
        pos_ += trim;
        Ignore();
      }
      return State::kLeftDelim;
    }
    pos_ = input_.size();
    if (pos_ > start_) Emit(ItemType::kText);
    Emit(ItemType::kEof);
    return State::kDone;
  }

  State LexLeftDelim() {
    pos_ += 2;
    const bool trim = HasLeftTrimMarker(pos_);
    const size_t after_marker = trim ? kTrimMarkerLen : 0;
    if (input_.substr(pos_ + after_marker).substr(0, 2) == "/*") {
      pos_ += after_marker;
      Ignore();
      return State::kComment;
    }
    Emit(ItemType::kLeftDelim);
    pos_ += after_marker;
    Ignore();
    paren_depth_ = 0;
    return State::kInsideAction;
  }

  State LexComment() {
    pos_ += 2;
    const size_t x = input_.find("*/", pos_);
    if (x == std::string_view::npos) return Errorf("unclosed comment");
    pos_ = x + 2;
    bool trim = false;
    if (!AtRightDelim(trim)) return Errorf("comment ends before closing delimiter");
    if (trim) pos_ += kTrimMarkerLen;
    pos_ += 2;
    if (trim) pos_ += LeftTrimLength(pos_);
    Ignore();
    return State::kText;
  }

  State LexRightDelim() {
    const bool trim = HasRightTrimMarker(pos_);
    if (trim) {
      pos_ += kTrimMarkerLen;
      Ignore();
    }
    pos_ += 2;
    Emit(ItemType::kRightDelim);
    if (trim) {
      pos_ += LeftTrimLength(pos_);
      Ignore();
    }
    return State::kText;
  }

  State LexInsideAction() {
    bool trim = false;
    if (AtRightDelim(trim)) {
      if (paren_depth_ == 0) return State::kRightDelim;
      return Errorf("unclosed left paren");
    }
    const int32_t r = Next();
    if (r == kEofRune) return Errorf("unclosed action");
    if (IsSpaceByte(r)) {
      Backup();
      return State::kSpace;
    }
    switch (r) {
      case '=':
        Emit(ItemType::kAssign);
        return State::kInsideAction;
      case ':':
        if (Next() != '=') return Errorf("expected :=");
        Emit(ItemType::kDeclare);
        return State::kInsideAction;
      case '|':
        Emit(ItemType::kPipe);
        return State::kInsideAction;
      case '"':
        return State::kQuote;
      case '`':
        return State::kRawQuote;
      case '$':
        return State::kVariable;
      case '\'':
        return State::kChar;
      case '.':
        if (pos_ < input_.size()) {
          const char c = input_[pos_];
          if (c < '0' || c > '9') return State::kField;
        }
        Backup();
        return State::kNumber;
      case '(':
        Emit(ItemType::kLeftParen);
        ++paren_depth_;
        return State::kInsideAction;
      case ')':
        Emit(ItemType::kRightParen);
        --paren_depth_;
        if (paren_depth_ < 0) return Errorf("unexpected right paren " + SharpU(static_cast<char32_t>(r)));
        return State::kInsideAction;
      default:
        break;
    }
    if (r == '+' || r == '-' || (r >= '0' && r <= '9')) {
      Backup();
      return State::kNumber;
    }
    if (r >= 0x80) return NonAscii(r);
    if (IsAsciiAlphaNumeric(r)) {
      Backup();
      return State::kIdentifier;
    }
    if (r >= 0x20 && r < 0x7F) {
      Emit(ItemType::kChar);
      return State::kInsideAction;
    }
    return Errorf("unrecognized character in action: " + SharpU(static_cast<char32_t>(r)));
  }

  State LexSpace() {
    int num_spaces = 0;
    while (IsSpaceByte(Peek())) {
      Next();
      ++num_spaces;
    }
    if (HasRightTrimMarker(pos_ - 1) && input_.substr(pos_ - 1 + kTrimMarkerLen).substr(0, 2) == "}}") {
      --pos_;  // before the space
      if (num_spaces == 1) return State::kRightDelim;
    }
    Emit(ItemType::kSpace);
    return State::kInsideAction;
  }

  State LexIdentifier() {
    while (true) {
      const int32_t r = Next();
      if (IsAsciiAlphaNumeric(r)) continue;
      if (r >= 0x80) return NonAscii(r);
      Backup();
      const std::string_view word = input_.substr(start_, pos_ - start_);
      if (!AtTerminator()) return Errorf("bad character " + SharpU(static_cast<char32_t>(r)));
      static constexpr std::pair<std::string_view, ItemType> kKeywords[] = {{"block", ItemType::kBlock},
                                                                            {"break", ItemType::kBreak},
                                                                            {"continue", ItemType::kContinue},
                                                                            {"define", ItemType::kDefine},
                                                                            {"else", ItemType::kElse},
                                                                            {"end", ItemType::kEnd},
                                                                            {"if", ItemType::kIf},
                                                                            {"range", ItemType::kRange},
                                                                            {"nil", ItemType::kNil},
                                                                            {"template", ItemType::kTemplate},
                                                                            {"with", ItemType::kWith}};
      for (const auto& [name, type] : kKeywords) {
        if (word == name) {
          Emit(type);
          return State::kInsideAction;
        }
      }
      Emit(word == "true" || word == "false" ? ItemType::kBool : ItemType::kIdentifier);
      return State::kInsideAction;
    }
  }

  State LexFieldOrVariable(ItemType type) {
    if (AtTerminator()) {
      Emit(type == ItemType::kVariable ? ItemType::kVariable : ItemType::kDot);
      return State::kInsideAction;
    }
    int32_t r;
    while (true) {
      r = Next();
      if (r >= 0x80) return NonAscii(r);
      if (!IsAsciiAlphaNumeric(r)) {
        Backup();
        break;
      }
    }
    if (!AtTerminator()) return Errorf("bad character " + SharpU(static_cast<char32_t>(r)));
    Emit(type);
    return State::kInsideAction;
  }

  State LexQuoted(char quote, ItemType type, const char* unterminated) {
    while (true) {
      int32_t r = Next();
      if (r == '\\') {
        r = Next();
        if (r != kEofRune && r != '\n') continue;
        return Errorf(unterminated);
      }
      if (r == kEofRune || r == '\n') return Errorf(unterminated);
      if (r == quote) break;
    }
    Emit(type);
    return State::kInsideAction;
  }

  State LexRawQuote() {
    while (true) {
      const int32_t r = Next();
      if (r == kEofRune) return Errorf("unterminated raw quoted string");
      if (r == '`') break;
    }
    Emit(ItemType::kRawString);
    return State::kInsideAction;
  }

  bool ScanNumber() {
    Accept("+-");
    std::string_view digits = "0123456789_";
    if (Accept("0")) {
      if (Accept("xX")) {
        digits = "0123456789abcdefABCDEF_";
      } else if (Accept("oO")) {
        digits = "01234567_";
      } else if (Accept("bB")) {
        digits = "01_";
      }
    }
    AcceptRun(digits);
    if (Accept(".")) AcceptRun(digits);
    if (digits.size() == 11 && Accept("eE")) {
      Accept("+-");
      AcceptRun("0123456789_");
    }
    if (digits.size() == 23 && Accept("pP")) {
      Accept("+-");
      AcceptRun("0123456789_");
    }
    Accept("i");
    const int32_t r = Peek();
    if (IsAsciiAlphaNumeric(r) || r >= 0x80) {
      Next();
      return false;
    }
    return true;
  }

  State LexNumber() {
    if (!ScanNumber()) return Errorf("bad number syntax: " + Quote(input_.substr(start_, pos_ - start_)));
    const int32_t sign = Peek();
    if (sign == '+' || sign == '-') {
      if (!ScanNumber() || input_[pos_ - 1] != 'i') {
        return Errorf("bad number syntax: " + Quote(input_.substr(start_, pos_ - start_)));
      }
      Emit(ItemType::kComplex);
    } else {
      Emit(ItemType::kNumber);
    }
    return State::kInsideAction;
  }

  std::string_view input_;
  size_t start_ = 0, pos_ = 0, width_ = 0;
  int paren_depth_ = 0;
  std::vector<Item> items_;
};

// ---------------------------------------------------------------------------------------------------------------
// Parse tree (text/template/parse/node.go).

enum class Func {
  kAnd,
  kOr,
  kNot,
  kLen,
  kIndex,
  kSlice,
  kCall,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kHtml,
  kJs,
  kUrlquery,
  kPrint,
  kPrintf,
  kPrintln,
  kArgs,
  kReReplaceAll,
  kSafeHtml,
  kMatch,
  kTitle,
  kToUpper,
  kToLower,
  kGraphLink,
  kTableLink,
  kHumanize,
  kHumanize1024,
  kHumanizeDuration,
  kHumanizePercentage,
  kHumanizeTimestamp,
  kToTime,
  kPathPrefix,
  kExternalURL,
  kParseDuration,
  kStripPort,
  kStripDomain,
};

// Parameter types of a function, as Go's reflection sees them.
enum class Param { kValue /* reflect.Value */, kInterface /* interface{} */, kString };

struct FuncInfo {
  std::string_view name;
  Func func;
  std::vector<Param> params;  // fixed parameters, then the variadic one if `variadic`
  bool variadic;
  bool builtin;
};

const std::vector<FuncInfo>& Functions() {
  using P = Param;
  static const std::vector<FuncInfo> kFunctions = {
      {"and", Func::kAnd, {P::kValue, P::kValue}, true, true},
      {"or", Func::kOr, {P::kValue, P::kValue}, true, true},
      {"not", Func::kNot, {P::kValue}, false, true},
      {"len", Func::kLen, {P::kValue}, false, true},
      {"index", Func::kIndex, {P::kValue, P::kValue}, true, true},
      {"slice", Func::kSlice, {P::kValue, P::kValue}, true, true},
      {"call", Func::kCall, {P::kValue, P::kValue}, true, true},
      {"eq", Func::kEq, {P::kValue, P::kValue}, true, true},
      {"ne", Func::kNe, {P::kValue, P::kValue}, false, true},
      {"lt", Func::kLt, {P::kValue, P::kValue}, false, true},
      {"le", Func::kLe, {P::kValue, P::kValue}, false, true},
      {"gt", Func::kGt, {P::kValue, P::kValue}, false, true},
      {"ge", Func::kGe, {P::kValue, P::kValue}, false, true},
      {"html", Func::kHtml, {P::kInterface}, true, true},
      {"js", Func::kJs, {P::kInterface}, true, true},
      {"urlquery", Func::kUrlquery, {P::kInterface}, true, true},
      {"print", Func::kPrint, {P::kInterface}, true, true},
      {"printf", Func::kPrintf, {P::kString, P::kInterface}, true, true},
      {"println", Func::kPrintln, {P::kInterface}, true, true},
      {"args", Func::kArgs, {P::kInterface}, true, false},
      {"reReplaceAll", Func::kReReplaceAll, {P::kString, P::kString, P::kString}, false, false},
      {"safeHtml", Func::kSafeHtml, {P::kString}, false, false},
      {"match", Func::kMatch, {P::kString, P::kString}, false, false},
      {"title", Func::kTitle, {P::kString}, false, false},
      {"toUpper", Func::kToUpper, {P::kString}, false, false},
      {"toLower", Func::kToLower, {P::kString}, false, false},
      {"graphLink", Func::kGraphLink, {P::kString}, false, false},
      {"tableLink", Func::kTableLink, {P::kString}, false, false},
      {"humanize", Func::kHumanize, {P::kInterface}, false, false},
      {"humanize1024", Func::kHumanize1024, {P::kInterface}, false, false},
      {"humanizeDuration", Func::kHumanizeDuration, {P::kInterface}, false, false},
      {"humanizePercentage", Func::kHumanizePercentage, {P::kInterface}, false, false},
      {"humanizeTimestamp", Func::kHumanizeTimestamp, {P::kInterface}, false, false},
      {"toTime", Func::kToTime, {P::kInterface}, false, false},
      {"pathPrefix", Func::kPathPrefix, {}, false, false},
      {"externalURL", Func::kExternalURL, {}, false, false},
      {"parseDuration", Func::kParseDuration, {P::kString}, false, false},
      {"stripPort", Func::kStripPort, {P::kString}, false, false},
      {"stripDomain", Func::kStripDomain, {P::kString}, false, false},
  };
  return kFunctions;
}

const FuncInfo* FindFunction(std::string_view name) {
  for (const FuncInfo& f : Functions()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// Prometheus functions this implementation refuses, and why.
std::optional<std::string_view> RefusedFunction(std::string_view name) {
  if (name == "query") return "it runs a PromQL query, and templates here have no query engine";
  if (name == "first" || name == "label" || name == "value" || name == "strvalue" || name == "sortByLabel") {
    return "it needs the result of query, which is not supported";
  }
  return std::nullopt;
}

enum class NodeType {
  kText,
  kAction,
  kIf,
  kRange,
  kWith,
  kBreak,
  kContinue,
  kList,
  kPipe,
  kCommand,
  kIdentifier,
  kVariable,
  kField,
  kChain,
  kDot,
  kNil,
  kBool,
  kNumber,
  kString,
  kEnd,
  kElse,  // parser-internal
};

struct Node {
  NodeType type;
  size_t pos = 0;
  std::string text;         // kText: the text; kString: the unquoted value; kIdentifier: the name
  std::string_view source;  // kString, kNumber: the literal as written
  bool boolean = false;     // kBool
  // kNumber (NumberNode)
  bool is_int = false, is_uint = false, is_float = false;
  int64_t int64 = 0;
  uint64_t uint64 = 0;
  double float64 = 0;
  const FuncInfo* func = nullptr;               // kIdentifier
  std::vector<std::string> idents;              // kVariable: "$x" then fields; kField: fields; kChain: fields
  std::vector<std::string> decls;               // kPipe: declared or assigned variables
  bool is_assign = false;                       // kPipe
  std::vector<std::unique_ptr<Node>> children;  // kList: nodes; kPipe: commands; kCommand: args; kChain: node
  std::unique_ptr<Node> pipe, list, else_list;  // kAction: pipe; kIf, kRange, kWith: all three

  explicit Node(NodeType t, size_t p) : type(t), pos(p) {}
};

void WriteNode(std::string& out, const Node& n) {
  auto join = [&](const std::vector<std::string>& parts, std::string_view sep) {
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) out += sep;
      out += parts[i];
    }
  };
  switch (n.type) {
    case NodeType::kText:
      out += n.text;
      return;
    case NodeType::kAction:
      out += "{{";
      WriteNode(out, *n.pipe);
      out += "}}";
      return;
    case NodeType::kIf:
    case NodeType::kRange:
    case NodeType::kWith:
      out += n.type == NodeType::kIf ? "{{if " : n.type == NodeType::kRange ? "{{range " : "{{with ";
      WriteNode(out, *n.pipe);
      out += "}}";
      WriteNode(out, *n.list);
      if (n.else_list) {
        out += "{{else}}";
        WriteNode(out, *n.else_list);
      }
      out += "{{end}}";
      return;
    case NodeType::kBreak:
      out += "{{break}}";
      return;
    case NodeType::kContinue:
      out += "{{continue}}";
      return;
    case NodeType::kEnd:
      out += "{{end}}";
      return;
    case NodeType::kElse:
      out += "{{else}}";
      return;
    case NodeType::kList:
      for (const auto& c : n.children) WriteNode(out, *c);
      return;
    case NodeType::kPipe:
      if (!n.decls.empty()) {
        join(n.decls, ", ");
        out += " := ";
      }
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) out += " | ";
        WriteNode(out, *n.children[i]);
      }
      return;
    case NodeType::kCommand:
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i > 0) out += ' ';
        if (n.children[i]->type == NodeType::kPipe) {
          out += '(';
          WriteNode(out, *n.children[i]);
          out += ')';
        } else {
          WriteNode(out, *n.children[i]);
        }
      }
      return;
    case NodeType::kIdentifier:
      out += n.text;
      return;
    case NodeType::kVariable:
      join(n.idents, ".");
      return;
    case NodeType::kField:
      for (const auto& f : n.idents) out += "." + f;
      return;
    case NodeType::kChain:
      if (n.children[0]->type == NodeType::kPipe) {
        out += '(';
        WriteNode(out, *n.children[0]);
        out += ')';
      } else {
        WriteNode(out, *n.children[0]);
      }
      for (const auto& f : n.idents) out += "." + f;
      return;
    case NodeType::kDot:
      out += '.';
      return;
    case NodeType::kNil:
      out += "nil";
      return;
    case NodeType::kBool:
      out += n.boolean ? "true" : "false";
      return;
    case NodeType::kNumber:
    case NodeType::kString:
      out += n.source;
      return;
  }
}

std::string NodeString(const Node& n) {
  std::string out;
  WriteNode(out, n);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Parser (text/template/parse/parse.go).

class Parser {
 public:
  Parser(std::string_view text, std::vector<Item> items) : text_(text), items_(std::move(items)) {}

  std::unique_ptr<Node> Parse() {
    auto root = std::make_unique<Node>(NodeType::kList, Peek().pos);
    while (Peek().type != ItemType::kEof) {
      if (Peek().type == ItemType::kLeftDelim) {
        const size_t mark = next_;
        Next();
        const Item& keyword = NextNonSpace();
        if (keyword.type == ItemType::kDefine) RefuseNamedTemplates(keyword);
        next_ = mark;
      }
      auto n = TextOrAction();
      if (n->type == NodeType::kEnd || n->type == NodeType::kElse) Errorf("unexpected " + NodeString(*n));
      root->children.push_back(std::move(n));
    }
    return root;
  }

 private:
  const Item& Next() {
    const Item& item = items_[std::min(next_, items_.size() - 1)];
    if (next_ < items_.size()) ++next_;
    last_ = &item;
    return item;
  }
  void Backup() { --next_; }
  const Item& Peek() { return items_[std::min(next_, items_.size() - 1)]; }
  const Item& NextNonSpace() {
    const Item* item;
    do {
      item = &Next();
    } while (item->type == ItemType::kSpace);
    return *item;
  }
  const Item& PeekNonSpace() {
    const Item& item = NextNonSpace();
    Backup();
    return item;
  }

  [[noreturn]] void Errorf(std::string message) { Fail(last_ != nullptr ? last_->pos : 0, std::move(message)); }
  [[noreturn]] void ErrorAt(const Item& item, std::string message) { Fail(item.pos, std::move(message)); }
  [[noreturn]] void Unexpected(const Item& item, std::string_view context) {
    if (item.type == ItemType::kError) ErrorAt(item, item.error);
    std::string name;
    try {
      name = ItemString(item);
    } catch (const Failure&) {
      name = Quote(item.val, true);
    }
    ErrorAt(item, "unexpected " + name + " in " + std::string(context));
  }
  const Item& Expect(ItemType expected, std::string_view context) {
    const Item& item = NextNonSpace();
    if (item.type != expected) Unexpected(item, context);
    return item;
  }
  [[noreturn]] void RefuseNamedTemplates(const Item& item) {
    ErrorAt(item, "{{" + std::string(item.val) +
                      "}} is not supported: named templates (define, template, block) are not implemented");
  }
  void Nest(const Item& item) {
    if (++depth_ > kAlertTemplateMaxNesting) {
      ErrorAt(item, "nesting deeper than " + std::to_string(kAlertTemplateMaxNesting) + " is not supported");
    }
  }

  std::unique_ptr<Node> TextOrAction() {
    const Item& item = NextNonSpace();
    switch (item.type) {
      case ItemType::kText: {
        auto n = std::make_unique<Node>(NodeType::kText, item.pos);
        n->text = std::string(item.val);
        return n;
      }
      case ItemType::kLeftDelim:
        return Action();
      default:
        Unexpected(item, "input");
    }
  }

  std::unique_ptr<Node> Action() {
    const Item& item = NextNonSpace();
    switch (item.type) {
      case ItemType::kBlock:
      case ItemType::kTemplate:
      case ItemType::kDefine:
        RefuseNamedTemplates(item);
      case ItemType::kBreak:
      case ItemType::kContinue: {
        const std::string_view name = item.type == ItemType::kBreak ? "{{break}}" : "{{continue}}";
        const Item& end = NextNonSpace();
        if (end.type != ItemType::kRightDelim) Unexpected(end, name);
        if (range_depth_ == 0) Errorf(std::string(name) + " outside {{range}}");
        return std::make_unique<Node>(item.type == ItemType::kBreak ? NodeType::kBreak : NodeType::kContinue, item.pos);
      }
      case ItemType::kElse: {
        const Item& peek = PeekNonSpace();
        if (peek.type == ItemType::kIf) return std::make_unique<Node>(NodeType::kElse, peek.pos);
        const Item& end = Expect(ItemType::kRightDelim, "else");
        return std::make_unique<Node>(NodeType::kElse, end.pos);
      }
      case ItemType::kEnd:
        return std::make_unique<Node>(NodeType::kEnd, Expect(ItemType::kRightDelim, "end").pos);
      case ItemType::kIf:
        return Control(NodeType::kIf, item, true, "if");
      case ItemType::kRange:
        return Control(NodeType::kRange, item, false, "range");
      case ItemType::kWith:
        return Control(NodeType::kWith, item, false, "with");
      default:
        break;
    }
    Backup();
    const size_t pos = Peek().pos;
    auto action = std::make_unique<Node>(NodeType::kAction, pos);
    action->pipe = Pipeline("command", ItemType::kRightDelim);
    return action;
  }

  // itemList: nodes up to {{end}} or {{else}}, which is returned in `next`.
  std::unique_ptr<Node> ItemList(std::unique_ptr<Node>& next) {
    auto list = std::make_unique<Node>(NodeType::kList, PeekNonSpace().pos);
    while (PeekNonSpace().type != ItemType::kEof) {
      auto n = TextOrAction();
      if (n->type == NodeType::kEnd || n->type == NodeType::kElse) {
        next = std::move(n);
        return list;
      }
      list->children.push_back(std::move(n));
    }
    Errorf("unexpected EOF");
  }

  // parseControl.
  std::unique_ptr<Node> Control(NodeType type, const Item& keyword, bool allow_else_if, std::string_view context) {
    Nest(keyword);
    const size_t vars = vars_.size();
    auto node = std::make_unique<Node>(type, 0);
    node->pipe = Pipeline(context, ItemType::kRightDelim);
    node->pos = node->pipe->pos;
    if (type == NodeType::kRange) ++range_depth_;
    std::unique_ptr<Node> next;
    node->list = ItemList(next);
    if (type == NodeType::kRange) --range_depth_;
    if (next->type == NodeType::kElse) {
      if (allow_else_if && Peek().type == ItemType::kIf) {
        const Item& if_item = Next();
        node->else_list = std::make_unique<Node>(NodeType::kList, next->pos);
        node->else_list->children.push_back(Control(NodeType::kIf, if_item, true, "if"));
      } else {
        node->else_list = ItemList(next);
        if (next->type != NodeType::kEnd) Errorf("expected end; found " + NodeString(*next));
      }
    }
    vars_.resize(vars);
    --depth_;
    return node;
  }

  std::unique_ptr<Node> Pipeline(std::string_view context, ItemType end) {
    const Item& first = PeekNonSpace();
    auto pipe = std::make_unique<Node>(NodeType::kPipe, first.pos);
    // Declarations or assignments.
    while (true) {
      const size_t mark = next_;
      const Item& v = PeekNonSpace();
      if (v.type != ItemType::kVariable) break;
      NextNonSpace();
      const Item& next = PeekNonSpace();
      if (next.type == ItemType::kAssign || next.type == ItemType::kDeclare) {
        pipe->is_assign = next.type == ItemType::kAssign;
        NextNonSpace();
        pipe->decls.emplace_back(v.val);
        vars_.emplace_back(v.val);
        break;
      }
      if (next.type == ItemType::kChar && next.val == ",") {
        NextNonSpace();
        pipe->decls.emplace_back(v.val);
        vars_.emplace_back(v.val);
        if (context == "range" && pipe->decls.size() < 2) {
          const ItemType t = PeekNonSpace().type;
          if (t == ItemType::kVariable || t == ItemType::kRightDelim || t == ItemType::kRightParen) continue;
          Errorf("range can only initialize variables");
        }
        Errorf("too many declarations in " + std::string(context));
      }
      next_ = mark;
      break;
    }
    while (true) {
      const Item& item = NextNonSpace();
      if (item.type == end) {
        CheckPipeline(*pipe, context);
        return pipe;
      }
      switch (item.type) {
        case ItemType::kBool:
        case ItemType::kCharConstant:
        case ItemType::kComplex:
        case ItemType::kDot:
        case ItemType::kField:
        case ItemType::kIdentifier:
        case ItemType::kNumber:
        case ItemType::kNil:
        case ItemType::kRawString:
        case ItemType::kString:
        case ItemType::kVariable:
        case ItemType::kLeftParen:
          Backup();
          pipe->children.push_back(Command());
          break;
        default:
          Unexpected(item, context);
      }
    }
  }

  void CheckPipeline(const Node& pipe, std::string_view context) {
    if (pipe.children.empty()) Errorf("missing value for " + std::string(context));
    for (size_t i = 1; i < pipe.children.size(); ++i) {
      switch (pipe.children[i]->children[0]->type) {
        case NodeType::kBool:
        case NodeType::kDot:
        case NodeType::kNil:
        case NodeType::kNumber:
        case NodeType::kString:
          Errorf("non executable command in pipeline stage " + std::to_string(i + 1));
        default:
          break;
      }
    }
  }

  std::unique_ptr<Node> Command() {
    auto cmd = std::make_unique<Node>(NodeType::kCommand, PeekNonSpace().pos);
    while (true) {
      PeekNonSpace();
      if (auto operand = Operand()) cmd->children.push_back(std::move(operand));
      const Item& item = Next();
      if (item.type == ItemType::kSpace) continue;
      if (item.type == ItemType::kRightDelim || item.type == ItemType::kRightParen) {
        Backup();
      } else if (item.type != ItemType::kPipe) {
        Unexpected(item, "operand");
      }
      break;
    }
    if (cmd->children.empty()) Errorf("empty command");
    return cmd;
  }

  std::unique_ptr<Node> Operand() {
    auto node = Term();
    if (!node) return nullptr;
    if (Peek().type == ItemType::kField) {
      const size_t chain_pos = Peek().pos;
      std::vector<std::string> fields;
      while (Peek().type == ItemType::kField) fields.emplace_back(Next().val.substr(1));
      switch (node->type) {
        case NodeType::kField:
        case NodeType::kVariable: {
          node->pos = chain_pos;
          for (auto& f : fields) node->idents.push_back(std::move(f));
          return node;
        }
        case NodeType::kBool:
        case NodeType::kString:
        case NodeType::kNumber:
        case NodeType::kNil:
        case NodeType::kDot:
          Errorf("unexpected . after term " + Quote(NodeString(*node)));
        default: {
          auto chain = std::make_unique<Node>(NodeType::kChain, chain_pos);
          chain->idents = std::move(fields);
          chain->children.push_back(std::move(node));
          return chain;
        }
      }
    }
    return node;
  }

  std::unique_ptr<Node> Term() {
    const Item& item = NextNonSpace();
    switch (item.type) {
      case ItemType::kIdentifier: {
        const std::string name(item.val);
        if (auto why = RefusedFunction(name)) {
          ErrorAt(item, "function " + Quote(name) + " is not supported: " + std::string(*why));
        }
        const FuncInfo* func = FindFunction(name);
        if (func == nullptr) Errorf("function " + Quote(name) + " not defined");
        auto n = std::make_unique<Node>(NodeType::kIdentifier, item.pos);
        n->text = name;
        n->func = func;
        return n;
      }
      case ItemType::kDot:
        return std::make_unique<Node>(NodeType::kDot, item.pos);
      case ItemType::kNil:
        return std::make_unique<Node>(NodeType::kNil, item.pos);
      case ItemType::kVariable: {
        auto n = std::make_unique<Node>(NodeType::kVariable, item.pos);
        n->idents.emplace_back(item.val);
        if (std::find(vars_.begin(), vars_.end(), n->idents[0]) == vars_.end()) {
          Errorf("undefined variable " + Quote(n->idents[0]));
        }
        return n;
      }
      case ItemType::kField: {
        auto n = std::make_unique<Node>(NodeType::kField, item.pos);
        n->idents.emplace_back(item.val.substr(1));
        return n;
      }
      case ItemType::kBool: {
        auto n = std::make_unique<Node>(NodeType::kBool, item.pos);
        n->boolean = item.val == "true";
        return n;
      }
      case ItemType::kCharConstant:
      case ItemType::kComplex:
      case ItemType::kNumber:
        return Number(item);
      case ItemType::kLeftParen: {
        Nest(item);
        auto pipe = Pipeline("parenthesized pipeline", ItemType::kRightParen);
        --depth_;
        return pipe;
      }
      case ItemType::kString:
      case ItemType::kRawString: {
        auto value = Unquote(item.val);
        if (!value) Errorf("invalid syntax");
        auto n = std::make_unique<Node>(NodeType::kString, item.pos);
        n->text = std::move(*value);
        n->source = item.val;
        return n;
      }
      default:
        Backup();
        return nullptr;
    }
  }

  // newNumber.
  std::unique_ptr<Node> Number(const Item& item) {
    auto n = std::make_unique<Node>(NodeType::kNumber, item.pos);
    const std::string_view text = item.val;
    n->source = text;
    if (item.type == ItemType::kCharConstant) {
      std::string_view rest = text.substr(1);
      int64_t value = 0;
      bool multibyte = false;
      if (!UnquoteChar(rest, text[0], value, multibyte)) Errorf("invalid syntax");
      if (rest != "'") Errorf("malformed character constant: " + std::string(text));
      n->is_int = n->is_uint = n->is_float = true;
      n->int64 = value;
      n->uint64 = static_cast<uint64_t>(value);
      n->float64 = static_cast<double>(value);
      return n;
    }
    if (item.type == ItemType::kComplex || (!text.empty() && text.back() == 'i')) {
      ErrorAt(item, "complex number " + std::string(text) + " is not supported");
    }
    if (auto u = ParseUint0(text)) {
      n->is_uint = true;
      n->uint64 = *u;
    }
    if (auto i = ParseInt0(text)) {
      n->is_int = true;
      n->int64 = *i;
      if (*i == 0) n->is_uint = true;
    }
    if (n->is_int) {
      n->is_float = true;
      n->float64 = static_cast<double>(n->int64);
    } else if (n->is_uint) {
      n->is_float = true;
      n->float64 = static_cast<double>(n->uint64);
    } else {
      ParseFloatError error;
      const double f = ParseFloat(text, error);
      if (error == ParseFloatError::kNone) {
        if (text.find_first_of(".eEpP") == std::string_view::npos) {
          Errorf("integer overflow: " + Quote(text));
        }
        n->is_float = true;
        n->float64 = f;
        if (static_cast<double>(GoFloatToInt64(f)) == f) {
          n->is_int = true;
          n->int64 = GoFloatToInt64(f);
        }
      }
    }
    if (!n->is_int && !n->is_uint && !n->is_float) Errorf("illegal number syntax: " + Quote(text));
    return n;
  }

  std::string_view text_;
  std::vector<Item> items_;
  size_t next_ = 0;
  const Item* last_ = nullptr;
  std::vector<std::string> vars_{"$", "$labels", "$externalLabels", "$externalURL", "$value"};
  int range_depth_ = 0;
  size_t depth_ = 0;
};

// ---------------------------------------------------------------------------------------------------------------
// Regular expressions: Go's regexp, run by RE2 (Debian's libre2), the C++ library Go's regexp is a port of: the
// same syntax and leftmost-first semantics. Where Go 1.19 and RE2 20220601 differ, the answer here is Go's, or
// an error saying what is not supported:
// - Parsing. GoSyntaxCheck follows Go's parser to what Go refuses and RE2 accepts (\C, repeat counts of ten or
//   more digits, script names of Unicode 14 and 15) or reports with another text (the text quoted for a bad
//   escape, flag group, capture name or UTF-8 sequence; a bad repeat count before the operator's other errors).
// - Unicode tables. Go 1.19 has Unicode 13.0's, Debian's RE2 is built with Unicode 15.0's. A pattern that needs
//   them (\p classes, case folding of non-ASCII runes) is not matched against a rune on which they differ
//   (kUnicodeTableDifferences): that fails at run time.
// - Text. Go reads each byte of invalid UTF-8 as U+FFFD and tries matches only at rune boundaries; RE2 matches
//   no rune at such a byte and tries every byte. RegexpText gives RE2 U+FFFD in their place, and Find skips
//   (empty) matches inside a rune.

using re2::RE2;

// The compiled regular expressions one expansion keeps for reuse: with kAlertTemplateMaxRegexpMemory each, this
// bounds the memory they hold.
constexpr size_t kMaxCachedRegexps = 8;

// RE2::Options for Go's regexp.Compile (syntax.Perl): UTF-8; Perl syntax (\d \s \w, \b, (?flags), non-greedy
// operators, \A \z; ^ and $ at the ends of the text unless (?m)); . not matching \n; case-sensitive unless (?i);
// leftmost-first (regexp.CompilePOSIX would be leftmost-longest).
RE2::Options GoRegexpOptions() {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingUTF8);
  options.set_posix_syntax(false);  // RE2 then also reads ^ and $ as Go does (one_line is for POSIX syntax only)
  options.set_perl_classes(true);
  options.set_word_boundary(true);
  options.set_longest_match(false);
  options.set_literal(false);
  options.set_never_nl(false);
  options.set_dot_nl(false);
  options.set_never_capture(false);
  options.set_case_sensitive(true);
  options.set_log_errors(false);  // errors are returned; core does no logging
  options.set_max_mem(static_cast<int64_t>(kAlertTemplateMaxRegexpMemory));
  return options;
}

// The names \p accepts in Go 1.19 (unicode.Categories and unicode.Scripts of Unicode 13.0, and Any), sorted.
// Checked against promtool 2.42 (Go 1.19.8): each compiles; Unicode 14's Cypro_Minoan, Old_Uyghur, Tangsa, Toto
// and Vithkuqi and Unicode 15's Kawi and Nag_Mundari, which RE2 knows, do not.
// clang-format off
constexpr std::string_view kGoUnicodeClassNames[] = {
    "Adlam", "Ahom", "Anatolian_Hieroglyphs", "Any", "Arabic", "Armenian", "Avestan", "Balinese", "Bamum", "Bassa_Vah",
    "Batak", "Bengali", "Bhaiksuki", "Bopomofo", "Brahmi", "Braille", "Buginese", "Buhid", "C", "Canadian_Aboriginal",
    "Carian", "Caucasian_Albanian", "Cc", "Cf", "Chakma", "Cham", "Cherokee", "Chorasmian", "Co", "Common", "Coptic",
    "Cs", "Cuneiform", "Cypriot", "Cyrillic", "Deseret", "Devanagari", "Dives_Akuru", "Dogra", "Duployan",
    "Egyptian_Hieroglyphs", "Elbasan", "Elymaic", "Ethiopic", "Georgian", "Glagolitic", "Gothic", "Grantha", "Greek",
    "Gujarati", "Gunjala_Gondi", "Gurmukhi", "Han", "Hangul", "Hanifi_Rohingya", "Hanunoo", "Hatran", "Hebrew",
    "Hiragana", "Imperial_Aramaic", "Inherited", "Inscriptional_Pahlavi", "Inscriptional_Parthian", "Javanese",
    "Kaithi", "Kannada", "Katakana", "Kayah_Li", "Kharoshthi", "Khitan_Small_Script", "Khmer", "Khojki", "Khudawadi",
    "L", "Lao", "Latin", "Lepcha", "Limbu", "Linear_A", "Linear_B", "Lisu", "Ll", "Lm", "Lo", "Lt", "Lu", "Lycian",
    "Lydian", "M", "Mahajani", "Makasar", "Malayalam", "Mandaic", "Manichaean", "Marchen", "Masaram_Gondi", "Mc", "Me",
    "Medefaidrin", "Meetei_Mayek", "Mende_Kikakui", "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Miao", "Mn", "Modi",
    "Mongolian", "Mro", "Multani", "Myanmar", "N", "Nabataean", "Nandinagari", "Nd", "New_Tai_Lue", "Newa", "Nko", "Nl",
    "No", "Nushu", "Nyiakeng_Puachue_Hmong", "Ogham", "Ol_Chiki", "Old_Hungarian", "Old_Italic", "Old_North_Arabian",
    "Old_Permic", "Old_Persian", "Old_Sogdian", "Old_South_Arabian", "Old_Turkic", "Oriya", "Osage", "Osmanya", "P",
    "Pahawh_Hmong", "Palmyrene", "Pau_Cin_Hau", "Pc", "Pd", "Pe", "Pf", "Phags_Pa", "Phoenician", "Pi", "Po", "Ps",
    "Psalter_Pahlavi", "Rejang", "Runic", "S", "Samaritan", "Saurashtra", "Sc", "Sharada", "Shavian", "Siddham",
    "SignWriting", "Sinhala", "Sk", "Sm", "So", "Sogdian", "Sora_Sompeng", "Soyombo", "Sundanese", "Syloti_Nagri",
    "Syriac", "Tagalog", "Tagbanwa", "Tai_Le", "Tai_Tham", "Tai_Viet", "Takri", "Tamil", "Tangut", "Telugu", "Thaana",
    "Thai", "Tibetan", "Tifinagh", "Tirhuta", "Ugaritic", "Vai", "Wancho", "Warang_Citi", "Yezidi", "Yi", "Z",
    "Zanabazar_Square", "Zl", "Zp", "Zs",
};
// clang-format on

bool IsGoUnicodeClassName(std::string_view name) {
  return std::binary_search(std::begin(kGoUnicodeClassNames), std::end(kGoUnicodeClassNames), name);
}

struct RuneRange {
  char32_t lo, hi;
};

// The runes on which Go 1.19's Unicode 13.0 tables and RE2's Unicode 15.0 tables differ: the 5327 runes
// assigned in Unicode 14.0 and 15.0 (in no Go category or script, with no Go case folding), U+1734 (Mc for RE2,
// Mn for Go), U+16FE2 and U+16FE3 (Han for RE2, not for Go). Found on 2026-11-27 with promtool 2.42 (Go 1.19.8)
// as the oracle, for every rune but surrogates: its membership of each \p class Go knows, and its case-folding
// orbit where either folds it; everywhere else the tables agree. Sorted.
constexpr RuneRange kUnicodeTableDifferences[] = {
    {0x061D, 0x061D},   {0x0870, 0x088E},   {0x0890, 0x0891},   {0x0898, 0x089F},   {0x08B5, 0x08B5},
    {0x08C8, 0x08D2},   {0x0C3C, 0x0C3C},   {0x0C5D, 0x0C5D},   {0x0CDD, 0x0CDD},   {0x0CF3, 0x0CF3},
    {0x0ECE, 0x0ECE},   {0x170D, 0x170D},   {0x1715, 0x1715},   {0x171F, 0x171F},   {0x1734, 0x1734},
    {0x180F, 0x180F},   {0x1AC1, 0x1ACE},   {0x1B4C, 0x1B4C},   {0x1B7D, 0x1B7E},   {0x1DFA, 0x1DFA},
    {0x20C0, 0x20C0},   {0x2C2F, 0x2C2F},   {0x2C5F, 0x2C5F},   {0x2E53, 0x2E5D},   {0x9FFD, 0x9FFF},
    {0xA7C0, 0xA7C1},   {0xA7D0, 0xA7D1},   {0xA7D3, 0xA7D3},   {0xA7D5, 0xA7D9},   {0xA7F2, 0xA7F4},
    {0xFBC2, 0xFBC2},   {0xFD40, 0xFD4F},   {0xFDCF, 0xFDCF},   {0xFDFE, 0xFDFF},   {0x10570, 0x1057A},
    {0x1057C, 0x1058A}, {0x1058C, 0x10592}, {0x10594, 0x10595}, {0x10597, 0x105A1}, {0x105A3, 0x105B1},
    {0x105B3, 0x105B9}, {0x105BB, 0x105BC}, {0x10780, 0x10785}, {0x10787, 0x107B0}, {0x107B2, 0x107BA},
    {0x10EFD, 0x10EFF}, {0x10F70, 0x10F89}, {0x11070, 0x11075}, {0x110C2, 0x110C2}, {0x1123F, 0x11241},
    {0x116B9, 0x116B9}, {0x11740, 0x11746}, {0x11AB0, 0x11ABF}, {0x11B00, 0x11B09}, {0x11F00, 0x11F10},
    {0x11F12, 0x11F3A}, {0x11F3E, 0x11F59}, {0x12F90, 0x12FF2}, {0x1342F, 0x1342F}, {0x13439, 0x13455},
    {0x16A70, 0x16ABE}, {0x16AC0, 0x16AC9}, {0x16FE2, 0x16FE3}, {0x1AFF0, 0x1AFF3}, {0x1AFF5, 0x1AFFB},
    {0x1AFFD, 0x1AFFE}, {0x1B11F, 0x1B122}, {0x1B132, 0x1B132}, {0x1B155, 0x1B155}, {0x1CF00, 0x1CF2D},
    {0x1CF30, 0x1CF46}, {0x1CF50, 0x1CFC3}, {0x1D1E9, 0x1D1EA}, {0x1D2C0, 0x1D2D3}, {0x1DF00, 0x1DF1E},
    {0x1DF25, 0x1DF2A}, {0x1E030, 0x1E06D}, {0x1E08F, 0x1E08F}, {0x1E290, 0x1E2AE}, {0x1E4D0, 0x1E4F9},
    {0x1E7E0, 0x1E7E6}, {0x1E7E8, 0x1E7EB}, {0x1E7ED, 0x1E7EE}, {0x1E7F0, 0x1E7FE}, {0x1F6DC, 0x1F6DF},
    {0x1F774, 0x1F776}, {0x1F77B, 0x1F77F}, {0x1F7D9, 0x1F7D9}, {0x1F7F0, 0x1F7F0}, {0x1F979, 0x1F979},
    {0x1F9CC, 0x1F9CC}, {0x1FA75, 0x1FA77}, {0x1FA7B, 0x1FA7C}, {0x1FA87, 0x1FA88}, {0x1FAA9, 0x1FAAF},
    {0x1FAB7, 0x1FABD}, {0x1FABF, 0x1FABF}, {0x1FAC3, 0x1FAC5}, {0x1FACE, 0x1FACF}, {0x1FAD7, 0x1FADB},
    {0x1FAE0, 0x1FAE8}, {0x1FAF0, 0x1FAF8}, {0x2A6DE, 0x2A6DF}, {0x2B735, 0x2B739}, {0x31350, 0x323AF},
};

bool InUnicodeTableDifferences(char32_t r) {
  auto it = std::upper_bound(std::begin(kUnicodeTableDifferences), std::end(kUnicodeTableDifferences), r,
                             [](char32_t rune, const RuneRange& range) { return rune < range.lo; });
  return it != std::begin(kUnicodeTableDifferences) && r <= std::prev(it)->hi;
}

constexpr std::string_view kUnicodeVersionsDiffer =
    "Go 1.19 (Unicode 13.0) and RE2 (Unicode 15.0) have different Unicode tables for it";

std::string GoRegexpError(std::string_view code, std::string_view expr) {
  return "error parsing regexp: " + std::string(code) + ": `" + std::string(expr) + "`";
}

struct RegexpError {
  bool unsupported;     // valid in Go, not supported here
  std::string message;  // Go's error ("error parsing regexp: ...") or why it is unsupported
};

// What GoSyntaxCheck found.
struct GoSyntax {
  size_t error_pos = std::string_view::npos;  // where Go's parser fails with `error`, unless it failed before
  std::string error;
  bool unsupported = false;      // `error` says why the pattern is not supported (nesting too deep)
  bool zero_max_repeat = false;  // an x{0} (or x{0,0}): under it Go and RE2 bound nested repeat counts differently
  bool unicode_classes = false;  // \p or \P
  bool case_folding = false;     // an i flag
  bool non_ascii = false;        // a non-ASCII rune, literal or escaped
};

// Walks a pattern as Go's regexp/syntax parser does (parse, parseClass, parseEscape, parseUnicodeClass,
// parsePerlFlags, parseRepeat) up to the first error that Go reports and RE2 does not, or reports with another
// text. It stops earlier where Go and RE2 report the same error (RE2 then says which).
class GoSyntaxCheck {
 public:
  explicit GoSyntaxCheck(std::string_view pattern) : p_(pattern) {}

  GoSyntax Run() {
    size_t i = 0, depth = 0;
    bool ok = true;
    while (ok && i < p_.size()) {
      switch (p_[i]) {
        case '(':
          if (p_.substr(i, 2) == "(?") {
            ok = PerlFlags(i, depth);
          } else {
            ok = Open(i, depth);
            ++i;
          }
          break;
        case ')':
          ok = depth > 0;  // else "unexpected )", from Go and RE2 alike
          if (ok) {
            --depth;
            ++i;
          }
          break;
        case '[':
          ok = Class(i);
          break;
        case '{':
          ok = Repeat(i);
          break;
        case '\\':
          ok = Backslash(i);
          break;
        default: {
          char32_t r;
          ok = NextRune(i, p_.size(), i, r);
          break;
        }
      }
    }
    return std::move(out_);
  }

 private:
  static constexpr size_t npos = std::string_view::npos;

  bool Error(size_t at, std::string_view code, std::string_view expr) {
    out_.error_pos = at;
    out_.error = GoRegexpError(code, expr);
    return false;
  }

  bool Open(size_t at, size_t& depth) {
    if (++depth <= kAlertTemplateMaxNesting) return true;
    out_.error_pos = at;
    out_.error = "nesting deeper than " + std::to_string(kAlertTemplateMaxNesting);
    out_.unsupported = true;
    return false;
  }

  // nextRune on p_[i, end): the rune at i (RuneError and no move at the end, as Go's utf8 gives); invalid UTF-8
  // is Go's error quoting p_[i, end), reported for the construct that starts at `at`.
  bool NextRune(size_t at, size_t end, size_t& i, char32_t& r) {
    const DecodedRune d = DecodeRune(p_.substr(i, end - i));
    if (d.rune == kRuneError && d.size == 1) return Error(at, "invalid UTF-8", p_.substr(i, end - i));
    r = d.rune;
    if (d.size > 1) out_.non_ascii = true;
    i += d.size;
    return true;
  }

  // checkUTF8.
  bool CheckUtf8(size_t at, std::string_view s) {
    for (size_t k = 0; k < s.size();) {
      const DecodedRune d = DecodeRune(s.substr(k));
      if (d.rune == kRuneError && d.size == 1) return Error(at, "invalid UTF-8", s.substr(k));
      k += d.size;
    }
    return true;
  }

  // parsePerlFlags at "(?": a named group (?P<name>, flags (?i) or a group with flags (?i:. RE2 quotes other
  // text for a bad name or flag group, and reads (?P without '<' as a bad name.
  bool PerlFlags(size_t& i, size_t& depth) {
    const size_t at = i;
    const std::string_view t = p_.substr(i);
    if (t.size() > 4 && t[2] == 'P' && t[3] == '<') {
      const size_t end = t.find('>');
      if (end == npos) {
        if (!CheckUtf8(at, t)) return false;
        return Error(at, "invalid named capture", t);
      }
      const std::string_view name = t.substr(4, end - 4);
      if (!CheckUtf8(at, name)) return false;
      if (name.empty() || !std::all_of(name.begin(), name.end(),
                                       [](char c) { return IsAsciiAlphaNumeric(static_cast<unsigned char>(c)); })) {
        return Error(at, "invalid named capture", t.substr(0, end + 1));
      }
      i += end + 1;
      return Open(at, depth);
    }
    size_t j = i + 2;
    bool negated = false, saw_flag = false;
    while (j < p_.size()) {
      char32_t c;
      if (!NextRune(at, p_.size(), j, c)) return false;
      if (c == 'i' || c == 'm' || c == 's' || c == 'U') {
        out_.case_folding = out_.case_folding || c == 'i';
        saw_flag = true;
        continue;
      }
      if (c == '-' && !negated) {
        negated = true;
        saw_flag = false;
        continue;
      }
      if ((c == ':' || c == ')') && (!negated || saw_flag)) {
        i = j;
        return c == ':' ? Open(at, depth) : true;
      }
      break;
    }
    return Error(at, "invalid or unsupported Perl syntax", p_.substr(at, j - at));
  }

  // A '{' outside a class: a counted repetition if parseRepeat reads one, else a literal. Go checks the counts
  // before the operator's other errors, RE2 after them, and RE2 reads counts of ten or more digits as text.
  bool Repeat(size_t& i) {
    int min = 0, max = 0;
    size_t after = i;
    if (!ParseRepeat(after, min, max)) {
      ++i;
      return true;
    }
    if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max)) {
      return Error(i, "invalid repeat count", p_.substr(i, after - i));
    }
    if (max == 0) out_.zero_max_repeat = true;
    i = after;
    return true;
  }

  bool ParseRepeat(size_t& i, int& min, int& max) const {
    size_t t = i + 1;
    if (!ParseInt(t, min) || t >= p_.size()) return false;
    if (p_[t] != ',') {
      max = min;
    } else {
      if (++t >= p_.size()) return false;
      if (p_[t] == '}') {
        max = -1;
      } else if (!ParseInt(t, max)) {
        return false;
      } else if (max < 0) {
        min = -1;  // too big
      }
    }
    if (t >= p_.size() || p_[t] != '}') return false;
    i = t + 1;
    return true;
  }

  // parseInt: digits without a leading zero; -1 from 10 digits on.
  bool ParseInt(size_t& t, int& n) const {
    auto digit = [&](size_t k) { return k < p_.size() && p_[k] >= '0' && p_[k] <= '9'; };
    if (!digit(t) || (p_[t] == '0' && digit(t + 1))) return false;
    n = 0;
    for (; digit(t); ++t) {
      if (n >= 100'000'000) n = -1;
      if (n >= 0) n = n * 10 + (p_[t] - '0');
    }
    return true;
  }

  // A backslash outside a class.
  bool Backslash(size_t& i) {
    if (i + 1 < p_.size()) {
      switch (p_[i + 1]) {
        case 'A':
        case 'b':
        case 'B':
        case 'z':
        case 'd':
        case 'D':
        case 's':
        case 'S':
        case 'w':
        case 'W':
          i += 2;
          return true;
        case 'C':  // RE2: any byte
          return Error(i, "invalid escape sequence", p_.substr(i, 2));
        case 'Q': {  // literal text up to \E
          const size_t at = i, e = p_.find("\\E", i + 2), end = e == npos ? p_.size() : e;
          for (size_t j = i + 2; j < end;) {
            char32_t r;
            if (!NextRune(at, end, j, r)) return false;
          }
          i = e == npos ? p_.size() : e + 2;
          return true;
        }
        case 'p':
        case 'P':
          return UnicodeClass(i);
        default:
          break;
      }
    }
    char32_t r;
    return Escape(i, r);
  }

  // parseUnicodeClass at \p or \P: \pN or \p{Name}, Name optionally starting with ^.
  bool UnicodeClass(size_t& i) {
    const size_t at = i;
    const std::string_view s = p_.substr(i);
    out_.unicode_classes = true;
    size_t t = i + 2;
    char32_t c;
    if (!NextRune(at, p_.size(), t, c)) return false;
    std::string_view seq, name;
    if (c != '{') {
      seq = p_.substr(i, t - i);
      name = seq.substr(2);
    } else {
      const size_t end = s.find('}');
      if (end == npos) {
        if (!CheckUtf8(at, s)) return false;
        return Error(at, "invalid character class range", s);
      }
      seq = s.substr(0, end + 1);
      name = s.substr(3, end - 3);
      if (!CheckUtf8(at, name)) return false;
      t = i + end + 1;
    }
    if (!name.empty() && name[0] == '^') name.remove_prefix(1);
    if (!IsGoUnicodeClassName(name)) return Error(at, "invalid character class range", seq);
    i = t;
    return true;
  }

  // parseClass at '['.
  bool Class(size_t& i) {
    const size_t n = p_.size();
    size_t t = i + 1;
    if (t < n && p_[t] == '^') ++t;
    bool first = true;
    while (t >= n || p_[t] != ']' || first) {
      if (t >= n) return false;  // "missing closing ]", from Go and RE2 alike
      first = false;
      if (n - t > 2 && p_[t] == '[' && p_[t + 1] == ':') {
        const size_t close = NextPosixClose(t + 2);
        if (close != npos) {  // a POSIX class; an unknown name is reported alike
          t = close + 2;
          continue;
        }
      }
      if (p_[t] == '\\' && t + 1 < n && (p_[t + 1] == 'p' || p_[t + 1] == 'P')) {
        if (!UnicodeClass(t)) return false;
        continue;
      }
      if (p_[t] == '\\' && t + 1 < n && std::string_view("dDsSwW").find(p_[t + 1]) != npos) {
        t += 2;
        continue;
      }
      char32_t lo, hi;
      if (!ClassChar(t, lo)) return false;
      if (n - t >= 2 && p_[t] == '-' && p_[t + 1] != ']') {
        ++t;
        if (!ClassChar(t, hi)) return false;  // hi < lo is reported alike
      }
    }
    i = t + 1;
    return true;
  }

  // The first ":]" at or after `from`. The walk only moves forward, so p_ is searched once (Go searches the rest
  // of the pattern at each "[:", which is quadratic).
  size_t NextPosixClose(size_t from) {
    if (posix_close_ != npos && posix_close_ < from) posix_close_ = p_.find(":]", from);
    return posix_close_;
  }

  bool ClassChar(size_t& t, char32_t& r) {
    if (t >= p_.size()) return false;  // "missing closing ]", from Go and RE2 alike
    if (p_[t] == '\\') return Escape(t, r);
    return NextRune(t, p_.size(), t, r);
  }

  // parseEscape at '\\': the escaped rune.
  bool Escape(size_t& i, char32_t& r) {
    const size_t at = i, n = p_.size();
    size_t t = i + 1;
    if (t >= n) return Error(at, "trailing backslash at end of expression", "");
    char32_t c;
    if (!NextRune(at, n, t, c)) return false;
    auto invalid = [&] { return Error(at, "invalid escape sequence", p_.substr(at, t - at)); };
    auto octal = [&](size_t k) { return k < n && p_[k] >= '0' && p_[k] <= '7'; };
    auto done = [&](char32_t value) {
      r = value;
      if (r >= 0x80) out_.non_ascii = true;
      i = t;
      return true;
    };
    switch (c) {
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
        if (!octal(t)) return invalid();  // a backreference
        [[fallthrough]];
      case '0': {
        char32_t value = c - '0';
        for (int k = 1; k < 3 && octal(t); ++k) value = value * 8 + static_cast<char32_t>(p_[t++] - '0');
        return done(value);
      }
      case 'x': {
        if (t >= n) return invalid();
        if (!NextRune(at, n, t, c)) return false;
        if (c == '{') {
          int digits = 0;
          char32_t value = 0;
          while (true) {
            if (t >= n) return invalid();
            if (!NextRune(at, n, t, c)) return false;
            if (c == '}') break;
            const int v = c < 0x80 ? Unhex(static_cast<char>(c)) : -1;
            if (v < 0) return invalid();
            value = value * 16 + static_cast<char32_t>(v);
            if (value > static_cast<char32_t>(kMaxRune)) return invalid();
            ++digits;
          }
          return digits == 0 ? invalid() : done(value);
        }
        const int x = c < 0x80 ? Unhex(static_cast<char>(c)) : -1;
        if (!NextRune(at, n, t, c)) return false;
        const int y = c < 0x80 ? Unhex(static_cast<char>(c)) : -1;
        if (x < 0 || y < 0) return invalid();
        return done(static_cast<char32_t>(x * 16 + y));
      }
      case 'a':
        return done('\a');
      case 'f':
        return done('\f');
      case 'n':
        return done('\n');
      case 'r':
        return done('\r');
      case 't':
        return done('\t');
      case 'v':
        return done('\v');
      default:
        if (c < 0x80 && (c == '_' || !IsAsciiAlphaNumeric(static_cast<int32_t>(c)))) return done(c);
        return invalid();
    }
  }

  std::string_view p_;
  GoSyntax out_;
  size_t posix_close_ = 0;  // see NextPosixClose
};

// Go's error for a pattern RE2 refused, which GoSyntaxCheck found no reason for before.
RegexpError FromRe2Error(const RE2& re, const GoSyntax& go) {
  const std::string& arg = re.error_arg();
  switch (re.error_code()) {
    case RE2::ErrorBadEscape:
      return {false, GoRegexpError("invalid escape sequence", arg)};
    case RE2::ErrorBadCharClass:
      return {false, GoRegexpError("invalid character class", arg)};
    case RE2::ErrorBadCharRange:
      return {false, GoRegexpError("invalid character class range", arg)};
    case RE2::ErrorMissingBracket:
      return {false, GoRegexpError("missing closing ]", arg)};
    case RE2::ErrorMissingParen:
      return {false, GoRegexpError("missing closing )", arg)};
    case RE2::ErrorUnexpectedParen:
      return {false, GoRegexpError("unexpected )", arg)};
    case RE2::ErrorTrailingBackslash:
      return {false, GoRegexpError("trailing backslash at end of expression", arg)};
    case RE2::ErrorRepeatArgument:
      return {false, GoRegexpError("missing argument to repetition operator", arg)};
    case RE2::ErrorRepeatSize:
      if (go.zero_max_repeat) {
        return {true, "repeat counts nested under a {0} whose product exceeds 1000 (RE2 refuses them, Go does not)"};
      }
      return {false, GoRegexpError("invalid repeat count", arg)};
    case RE2::ErrorRepeatOp:
      return {false, GoRegexpError("invalid nested repetition operator", arg)};
    case RE2::ErrorBadPerlOp:
      return {false, GoRegexpError("invalid or unsupported Perl syntax", arg)};
    case RE2::ErrorBadUTF8:
      return {false, GoRegexpError("invalid UTF-8", arg)};
    case RE2::ErrorBadNamedCapture:
      return {false, GoRegexpError("invalid named capture", arg)};
    case RE2::ErrorPatternTooLarge:
      return {true, "compiled, it needs more than " + std::to_string(kAlertTemplateMaxRegexpMemory) +
                        " bytes (a bound of this implementation)"};
    default:
      return {true, "RE2 refuses it: " + re.error()};
  }
}

// A compiled regular expression. Immutable; RE2 matches from several threads at once.
struct Regexp {
  std::unique_ptr<const RE2> re;
  std::vector<std::string> group_names;  // [i] names capture group i ("" when unnamed); [0] is the match
  bool uses_unicode_tables = false;      // \p classes, or case folding that may reach non-ASCII runes
};

// Compiles `pattern` as Go's regexp.Compile; a RegexpError (thrown) says why it cannot be.
std::shared_ptr<const Regexp> CompileRegexp(std::string_view pattern) {
  if (pattern.size() > kAlertTemplateMaxRegexpBytes) {
    throw RegexpError{true, "longer than " + std::to_string(kAlertTemplateMaxRegexpBytes) +
                                " bytes (a bound of this implementation)"};
  }
  const GoSyntax go = GoSyntaxCheck(pattern).Run();
  const RE2::Options options = GoRegexpOptions();
  if (go.error_pos != std::string_view::npos) {
    // Go fails there unless it failed before: what RE2 reports for the text before it, other than what is
    // missing at its end (an unclosed group or class).
    const RE2 before(re2::StringPiece(pattern.data(), go.error_pos), options);
    const auto code = before.error_code();
    if (!before.ok() && code != RE2::ErrorMissingParen && code != RE2::ErrorMissingBracket &&
        code != RE2::ErrorPatternTooLarge) {
      throw FromRe2Error(before, go);
    }
    throw RegexpError{go.unsupported, go.error};
  }
  auto re = std::make_unique<const RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) throw FromRe2Error(*re, go);
  auto out = std::make_shared<Regexp>();
  out->group_names.assign(static_cast<size_t>(re->NumberOfCapturingGroups()) + 1, "");
  for (const auto& [index, name] : re->CapturingGroupNames()) out->group_names[static_cast<size_t>(index)] = name;
  // Case folding of ASCII runes is the same in every Unicode version (k, K and U+212A; s, S and U+017F).
  out->uses_unicode_tables = go.unicode_classes || (go.case_folding && go.non_ascii);
  out->re = std::move(re);
  return out;
}

// Counts evaluation work against kAlertTemplateMaxSteps.
struct Budget {
  size_t steps = 0;
  size_t range_iterations = 0;
  uint64_t next_time_identity = 1;
  void Step(size_t n = 1) {
    steps += n;
    if (steps > kAlertTemplateMaxSteps) {
      Fail(std::string::npos, "the expansion takes more than " + std::to_string(kAlertTemplateMaxSteps) +
                                  " steps (a bound of this implementation)");
    }
  }
};

// Text to match as Go's regexp reads it: each byte of invalid UTF-8 is the rune U+FFFD. RE2 matches no rune at
// such a byte, so it is given the text with "\xEF\xBF\xBD" in its place; offsets map back to the original.
class RegexpText {
 public:
  explicit RegexpText(std::string_view original) : original_(original) {
    if (IsAscii(original) || IsValidUtf8(original)) {
      text_ = original.data() != nullptr ? original : std::string_view("", 0);  // RE2 wants data() != null
      return;
    }
    for (size_t i = 0; i < original.size();) {
      const DecodedRune d = DecodeRune(original.substr(i));
      if (d.rune == kRuneError && d.size == 1) {
        replaced_at_.push_back(replaced_.size());
        replaced_ += "\xEF\xBF\xBD";
      } else {
        replaced_.append(original.substr(i, d.size));
      }
      i += d.size;
    }
    text_ = replaced_;
  }
  RegexpText(const RegexpText&) = delete;
  RegexpText& operator=(const RegexpText&) = delete;

  std::string_view text() const { return text_; }
  // The original bytes of text()[begin, end), both at rune boundaries.
  std::string_view Original(size_t begin, size_t end) const {
    const size_t b = OriginalOffset(begin);
    return original_.substr(b, OriginalOffset(end) - b);
  }

 private:
  size_t OriginalOffset(size_t offset) const {
    const auto before = std::lower_bound(replaced_at_.begin(), replaced_at_.end(), offset) - replaced_at_.begin();
    return offset - 2 * static_cast<size_t>(before);
  }

  std::string_view original_, text_;
  std::string replaced_;
  std::vector<size_t> replaced_at_;  // offsets in replaced_ of a U+FFFD that stands for one byte
};

// Refuses to match a pattern that needs Unicode tables against a rune on which Go's and RE2's tables differ.
void CheckUnicodeTables(const Regexp& re, std::string_view text, Budget& budget) {
  if (!re.uses_unicode_tables || IsAscii(text)) return;
  budget.Step(1 + text.size() / 256);
  for (size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const DecodedRune d = DecodeRune(text.substr(i));
    if (InUnicodeTableDifferences(d.rune)) {
      Fail(std::string::npos, "matching regular expression " + Quote(re.re->pattern(), true) + " against " +
                                  HexRune(d.rune) + " is not supported: " + std::string(kUnicodeVersionsDiffer));
    }
    i += d.size;
  }
}

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The leftmost-first match of `re` in `text` (valid UTF-8) that starts at or after `start`, a rune boundary, at a
// rune boundary as Go tries them: groups[0] is the match, groups[i] capture group i (null data when it did not
// take part), for as many groups as `groups` has room for. A search may read the rest of the text: it costs a
// step per 256 bytes of that.
bool Find(const Regexp& re, std::string_view text, size_t start, std::vector<re2::StringPiece>& groups,
          Budget& budget) {
  while (true) {
    budget.Step(1 + (text.size() - start) / 256);
    if (!re.re->Match(text, start, text.size(), RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()))) {
      return false;
    }
    const size_t at = static_cast<size_t>(groups[0].data() - text.data());
    if (at == text.size() || !IsContinuationByte(text[at])) return true;
    // RE2 also tries the positions inside a rune, where only an empty match (\B) can be: Go does not.
    for (start = at; start < text.size() && IsContinuationByte(text[start]);) ++start;
  }
}

// unicode.IsLetter(r) || unicode.IsDigit(r) (categories L and Nd).
bool IsGoLetterOrDigit(char32_t r) {
  if (r < 0x80) return r != '_' && IsAsciiAlphaNumeric(static_cast<int32_t>(r));
  if (InUnicodeTableDifferences(r)) {
    Fail(std::string::npos, "a $ name with " + HexRune(r) + " in a reReplaceAll replacement is not supported: " +
                                std::string(kUnicodeVersionsDiffer));
  }
  static const RE2* const kLetterOrDigit = new RE2("[\\pL\\p{Nd}]", GoRegexpOptions());
  std::string rune;
  AppendRune(rune, r);
  return RE2::FullMatch(rune, *kLetterOrDigit);
}

// Regexp.expand of a ReplaceAllString template ($1, ${1}, $name, ${name}, $$) for the match `groups` in `src`.
void ExpandReplacement(std::string& out, std::string_view tmpl, const Regexp& re, const RegexpText& src,
                       const std::vector<re2::StringPiece>& groups) {
  while (!tmpl.empty()) {
    const size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out += tmpl.substr(0, dollar);
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out += '$';
      tmpl.remove_prefix(1);
      continue;
    }
    // extract: a name of letters, digits and '_' (a number if only digits), optionally in braces.
    std::string_view str = tmpl;
    bool brace = false;
    if (!str.empty() && str[0] == '{') {
      brace = true;
      str.remove_prefix(1);
    }
    size_t i = 0;
    while (i < str.size()) {
      const auto r = DecodeRune(str.substr(i));
      if (r.rune != '_' && !IsGoLetterOrDigit(r.rune)) break;
      i += r.size;
    }
    if (i == 0 || (brace && (i >= str.size() || str[i] != '}'))) {
      out += '$';  // malformed: the $ is text
      continue;
    }
    const std::string_view name = str.substr(0, i);
    if (brace) ++i;
    int num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (name[0] == '0' && name.size() > 1) num = -1;
    tmpl = str.substr(i);
    auto took_part = [&](size_t group) { return group < groups.size() && groups[group].data() != nullptr; };
    size_t group = groups.size();
    if (num >= 0) {
      group = static_cast<size_t>(num);
    } else {  // the first group of that name that took part (a name may be used twice)
      for (size_t g = 1; g < re.group_names.size() && group == groups.size(); ++g) {
        if (re.group_names[g] == name && took_part(g)) group = g;
      }
    }
    if (took_part(group)) {
      const auto begin = static_cast<size_t>(groups[group].data() - src.text().data());
      out += src.Original(begin, begin + groups[group].size());
    }
  }
  out += tmpl;
}

// Regexp.ReplaceAllString.
std::string ReplaceAll(const Regexp& re, std::string_view src, std::string_view repl, Budget& budget) {
  const RegexpText source(src);
  const std::string_view text = source.text();
  CheckUnicodeTables(re, text, budget);
  // As Go, ask for the capture groups only when the replacement may use them (RE2 is faster without).
  std::vector<re2::StringPiece> groups(repl.find('$') == std::string_view::npos ? 1 : re.group_names.size());
  std::string out;
  size_t last_match_end = 0, search_pos = 0;
  while (search_pos <= text.size()) {
    if (!Find(re, text, search_pos, groups, budget)) break;
    const auto a0 = static_cast<size_t>(groups[0].data() - text.data()), a1 = a0 + groups[0].size();
    out += source.Original(last_match_end, a0);
    // No replacement for an empty match right after a match.
    if (a1 > last_match_end || a0 == 0) ExpandReplacement(out, repl, re, source, groups);
    if (out.size() > kAlertTemplateMaxOutputBytes) FailTooLarge();
    last_match_end = a1;
    const size_t width = DecodeRune(text.substr(search_pos)).size;  // 0 at the end
    if (search_pos + width > a1) {
      search_pos += width;
    } else if (search_pos + 1 > a1) {
      ++search_pos;
    } else {
      search_pos = a1;
    }
  }
  out += source.Original(last_match_end, text.size());
  if (out.size() > kAlertTemplateMaxOutputBytes) FailTooLarge();
  return out;
}

// Regexp.MatchString.
bool MatchString(const Regexp& re, std::string_view s, Budget& budget) {
  const RegexpText text(s);
  CheckUnicodeTables(re, text.text(), budget);
  std::vector<re2::StringPiece> match(1);
  return Find(re, text.text(), 0, match, budget);
}

// Refuses (Fail at `pos`) a literal pattern whose syntax is valid in Go but not supported here. A pattern Go
// refuses is accepted: it fails when expanded, as in Prometheus.
void CheckLiteralPattern(std::string_view pattern, size_t pos) {
  try {
    CompileRegexp(pattern);
  } catch (const RegexpError& e) {
    if (e.unsupported) Fail(pos, "regular expression " + Quote(pattern, true) + " is not supported: " + e.message);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Prometheus's functions (template/template.go) and the Go library functions they call.

// template.HTMLEscapeString.
std::string HtmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\0':
        out += "\xEF\xBF\xBD";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// template.JSEscapeString.
std::string JsEscape(std::string_view s) {
  std::string out;
  while (!s.empty()) {
    const auto c = static_cast<unsigned char>(s[0]);
    if (c < 0x80) {
      switch (c) {
        case '\\':
          out += "\\\\";
          break;
        case '\'':
          out += "\\'";
          break;
        case '"':
          out += "\\\"";
          break;
        case '<':
          out += "\\u003C";
          break;
        case '>':
          out += "\\u003E";
          break;
        case '&':
          out += "\\u0026";
          break;
        case '=':
          out += "\\u003D";
          break;
        default:
          if (c < ' ') {
            out += "\\u00";
            out += kUpperHex[c >> 4];
            out += kUpperHex[c & 0xF];
          } else {
            out += static_cast<char>(c);
          }
      }
      s.remove_prefix(1);
      continue;
    }
    const DecodedRune r = DecodeRune(s);
    if (IsPrint(r.rune, "js")) {
      out += s.substr(0, r.size);
    } else {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(r.rune));
      out += buf;
    }
    s.remove_prefix(r.size);
  }
  return out;
}

// net.SplitHostPort; false on error.
bool SplitHostPort(std::string_view hostport, std::string_view& host, std::string_view& port) {
  const size_t i = hostport.rfind(':');
  if (i == std::string_view::npos) return false;
  size_t j = 0, k = 0;
  if (hostport[0] == '[') {
    const size_t end = hostport.find(']');
    if (end == std::string_view::npos) return false;
    if (end + 1 == hostport.size()) return false;
    if (end + 1 != i) return false;
    host = hostport.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.substr(0, i);
    if (host.find(':') != std::string_view::npos) return false;
  }
  if (hostport.find('[', j) != std::string_view::npos) return false;
  if (hostport.find(']', k) != std::string_view::npos) return false;
  port = hostport.substr(i + 1);
  return true;
}

// net.ParseIP(s) != nil (no zones; no leading zeros in IPv4 parts).
bool ParseIPv4(std::string_view s) {
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (s.empty() || s[0] != '.') return false;
      s.remove_prefix(1);
    }
    size_t n = 0;
    int value = 0;
    while (n < s.size() && n < 4 && s[n] >= '0' && s[n] <= '9') value = value * 10 + (s[n++] - '0');
    if (n == 0 || n > 3 || value > 255 || (n > 1 && s[0] == '0')) return false;
    s.remove_prefix(n);
  }
  return s.empty();
}

bool ParseIPv6(std::string_view s) {
  int groups = 0;
  bool ellipsis = false;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    ellipsis = true;
    s.remove_prefix(2);
    if (s.empty()) return true;
  }
  while (!s.empty()) {
    size_t n = 0;
    while (n < s.size() && n < 5 && Unhex(s[n]) >= 0) ++n;
    if (n == 0 || n > 4) return false;
    if (n < s.size() && s[n] == '.') {  // an embedded IPv4 address ends the string
      if ((!ellipsis && groups != 6) || groups > 6) return false;
      if (!ParseIPv4(s)) return false;
      groups += 2;
      s = {};
      break;
    }
    ++groups;
    s.remove_prefix(n);
    if (s.empty()) break;
    if (s[0] != ':' || s.size() == 1) return false;
    s.remove_prefix(1);
    if (s[0] == ':') {
      if (ellipsis) return false;
      ellipsis = true;
      s.remove_prefix(1);
      if (s.empty()) break;
    }
    if (groups > 8) return false;
  }
  return ellipsis ? groups < 8 : groups == 8;
}

bool ParseIP(std::string_view s) {
  for (char c : s) {
    if (c == '.') return ParseIPv4(s);
    if (c == ':') return ParseIPv6(s);
  }
  return false;
}

std::string StripPort(std::string_view hostport) {
  std::string_view host, port;
  if (!SplitHostPort(hostport, host, port)) return std::string(hostport);
  return std::string(host);
}

std::string StripDomain(std::string_view hostport) {
  std::string_view host, port;
  if (!SplitHostPort(hostport, host, port)) {
    host = hostport;
    port = {};
  }
  if (ParseIP(host)) return std::string(hostport);
  host = host.substr(0, host.find('.'));
  if (port.empty()) return std::string(host);
  if (host.find(':') != std::string_view::npos) return "[" + std::string(host) + "]:" + std::string(port);
  return std::string(host) + ":" + std::string(port);
}

// model.ParseDuration (prometheus/common) in seconds.
double ParseModelDuration(std::string_view s) {
  if (s == "0") return 0;
  if (s.empty()) Fail(std::string::npos, "empty duration string");
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {{"y", 1000LL * 60 * 60 * 24 * 365},
                                                                    {"w", 1000LL * 60 * 60 * 24 * 7},
                                                                    {"d", 1000LL * 60 * 60 * 24},
                                                                    {"h", 1000LL * 60 * 60},
                                                                    {"m", 1000LL * 60},
                                                                    {"s", 1000},
                                                                    {"ms", 1}};
  auto invalid = [&] { Fail(std::string::npos, "not a valid duration string: " + Quote(s)); };
  std::string_view rest = s;
  size_t next_unit = 0;
  int64_t duration_ns = 0;
  bool overflow = false;
  while (!rest.empty()) {
    size_t n = 0;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == 0) invalid();
    const std::string_view digits = rest.substr(0, n);
    rest.remove_prefix(n);
    std::string_view unit = rest.substr(0, rest.substr(0, 2) == "ms" ? 2 : 1);
    size_t u = next_unit;
    while (u < std::size(kUnits) && kUnits[u].first != unit) ++u;
    if (unit.empty() || u == std::size(kUnits)) invalid();
    rest.remove_prefix(unit.size());
    next_unit = u + 1;
    int64_t value = 0;  // strconv.Atoi, saturating as Go's does on overflow
    for (char c : digits) {
      if (value > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10) {
        value = std::numeric_limits<int64_t>::max();
        break;
      }
      value = value * 10 + (c - '0');
    }
    const int64_t mult = kUnits[u].second;
    if (value > std::numeric_limits<int64_t>::max() / mult / 1000000) overflow = true;
    // d := time.Duration(n) * time.Millisecond; dur += d * mult (wrapping, as Go's int64 arithmetic)
    const uint64_t d = static_cast<uint64_t>(value) * 1000000u;
    duration_ns = static_cast<int64_t>(static_cast<uint64_t>(duration_ns) + d * static_cast<uint64_t>(mult));
    if (duration_ns < 0) overflow = true;
  }
  if (overflow) Fail(std::string::npos, "duration out of range");
  return static_cast<double>(duration_ns) / 1e9;
}

std::string Humanize(double v) {
  if (v == 0 || std::isnan(v) || std::isinf(v)) return Format4g(v);
  const char* prefix = "";
  if (std::fabs(v) >= 1) {
    for (const char* p : {"k", "M", "G", "T", "P", "E", "Z", "Y"}) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return Format4g(v) + prefix;
  }
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return Format4g(v) + prefix;
}

std::string Humanize1024(double v) {
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return Format4g(v);
  const char* prefix = "";
  for (const char* p : {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"}) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return Format4g(v) + prefix;
}

std::string HumanizeDuration(double v) {
  if (std::isnan(v) || std::isinf(v)) return Format4g(v);
  if (v == 0) return Format4g(v) + "s";
  if (std::fabs(v) >= 1) {
    std::string sign;
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    const int64_t duration = GoFloatToInt64(v);
    const int64_t seconds = duration % 60, minutes = (duration / 60) % 60, hours = (duration / 60 / 60) % 24,
                  days = duration / 60 / 60 / 24;
    auto s = [](int64_t x) { return std::to_string(x); };
    if (days != 0) return sign + s(days) + "d " + s(hours) + "h " + s(minutes) + "m " + s(seconds) + "s";
    if (hours != 0) return sign + s(hours) + "h " + s(minutes) + "m " + s(seconds) + "s";
    if (minutes != 0) return sign + s(minutes) + "m " + s(seconds) + "s";
    return sign + Format4g(v) + "s";
  }
  const char* prefix = "";
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return Format4g(v) + prefix + "s";
}

// template.go's floatToTime, in milliseconds since the epoch. `nan_or_inf` reports errNaNOrInf.
std::optional<int64_t> FloatToTime(double v, bool& nan_or_inf) {
  nan_or_inf = std::isnan(v) || std::isinf(v);
  if (nan_or_inf) return std::nullopt;
  const double timestamp = v * 1e9;
  if (timestamp > 9223372036854775807.0 || timestamp < -9223372036854775808.0) {
    Fail(std::string::npos,
         GoFormatFloat(v) + " cannot be represented as a nanoseconds timestamp since it overflows int64");
  }
  return GoFloatToInt64(timestamp) / 1000000;  // model.TimeFromUnixNano
}

// The path of a URL (url.URL.Path, unescaped).
std::string UrlPath(std::string_view url) {
  std::string_view rest = url;
  const size_t scheme = rest.find("://");
  if (scheme != std::string_view::npos) {
    rest.remove_prefix(scheme + 3);
    rest = rest.substr(std::min(rest.find('/'), rest.size()));
  }
  rest = rest.substr(0, std::min(rest.find_first_of("?#"), rest.size()));
  std::string out;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%' && i + 2 < rest.size() && Unhex(rest[i + 1]) >= 0 && Unhex(rest[i + 2]) >= 0) {
      out += static_cast<char>(Unhex(rest[i + 1]) * 16 + Unhex(rest[i + 2]));
      i += 2;
    } else {
      out += rest[i];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation (text/template/exec.go and funcs.go).

struct BreakSignal {};
struct ContinueSignal {};

bool IsTrue(const Value& v) {
  switch (v.kind) {
    case Kind::kInvalid:
    case Kind::kNilInterface:
      return false;
    case Kind::kBool:
      return v.boolean;
    case Kind::kInt:
    case Kind::kUint8:
      return v.integer != 0;
    case Kind::kFloat:
      return v.number != 0;
    case Kind::kString:
    case Kind::kHtml:
      return !v.str.empty();
    case Kind::kStringMap:
      return !v.map->empty();
    case Kind::kArgs:
      return !v.args->empty();
    case Kind::kData:
    case Kind::kTime:
      return true;
  }
  return false;
}

// indirectInterface: a nil interface becomes the invalid value.
Value IndirectInterface(Value v) {
  if (v.kind == Kind::kNilInterface) v.kind = Kind::kInvalid;
  v.boxed = false;
  return v;
}

Value Boxed(Value v) {
  v.boxed = v.kind != Kind::kNilInterface;
  return v;
}

enum class BasicKind { kInvalid, kBool, kInt, kUint, kFloat, kString };

BasicKind BasicKindOf(const Value& v) {
  switch (v.kind) {
    case Kind::kBool:
      return BasicKind::kBool;
    case Kind::kInt:
      return BasicKind::kInt;
    case Kind::kUint8:
      return BasicKind::kUint;
    case Kind::kFloat:
      return BasicKind::kFloat;
    case Kind::kString:
    case Kind::kHtml:
      return BasicKind::kString;
    default:
      return BasicKind::kInvalid;
  }
}

std::string Sprintf(std::string_view format, const std::vector<Value>& args) {
  Printer p;
  p.DoPrintf(format, args);
  return p.Take();
}

bool Eq(Value a1, const std::vector<Value>& rest) {
  a1 = IndirectInterface(a1);
  if (rest.empty()) Fail(std::string::npos, "missing argument for comparison");
  const BasicKind k1 = BasicKindOf(a1);
  for (Value a : rest) {
    a = IndirectInterface(a);
    const BasicKind k2 = BasicKindOf(a);
    bool truth = false;
    if (k1 != k2) {
      if (k1 == BasicKind::kInt && k2 == BasicKind::kUint) {
        truth = a1.integer >= 0 && a1.integer == a.integer;
      } else if (k1 == BasicKind::kUint && k2 == BasicKind::kInt) {
        truth = a.integer >= 0 && a1.integer == a.integer;
      } else if (a1.kind != Kind::kInvalid && a.kind != Kind::kInvalid) {
        Fail(std::string::npos, "incompatible types for comparison");
      }
    } else {
      switch (k1) {
        case BasicKind::kBool:
          truth = a1.boolean == a.boolean;
          break;
        case BasicKind::kFloat:
          truth = a1.number == a.number;
          break;
        case BasicKind::kInt:
        case BasicKind::kUint:
          truth = a1.integer == a.integer;
          break;
        case BasicKind::kString:
          truth = a1.str == a.str;
          break;
        case BasicKind::kInvalid: {  // maps, the data struct, times, nil
          // reflect kinds: canCompare wants the same kind, or a nil.
          auto reflect_kind = [](const Value& v) {
            return v.kind == Kind::kArgs ? Kind::kStringMap : v.kind;  // both are maps
          };
          if (reflect_kind(a1) != reflect_kind(a) && a1.kind != Kind::kInvalid && a.kind != Kind::kInvalid) {
            Fail(std::string::npos, "non-comparable types " + Sprintf("%s", {a1}) + ": " + std::string(TypeName(a1)) +
                                        ", " + std::string(TypeName(a)) + ": " + Sprint(a));
          }
          if (a1.kind == Kind::kInvalid || a.kind == Kind::kInvalid) {
            truth = a1.kind == a.kind;
          } else if (a.kind != Kind::kTime) {  // maps and structs with maps are not comparable
            Fail(std::string::npos, "non-comparable type " + Sprintf("%s", {a}) + ": " + std::string(TypeName(a)));
          } else {
            truth = a1.identity == a.identity;  // pointer equality
          }
          break;
        }
      }
    }
    if (truth) return true;
  }
  return false;
}

bool Lt(Value a1, Value a2) {
  a1 = IndirectInterface(a1);
  a2 = IndirectInterface(a2);
  const BasicKind k1 = BasicKindOf(a1), k2 = BasicKindOf(a2);
  if (k1 == BasicKind::kInvalid || k2 == BasicKind::kInvalid) Fail(std::string::npos, "invalid type for comparison");
  if (k1 != k2) {
    if (k1 == BasicKind::kInt && k2 == BasicKind::kUint) return a1.integer < 0 || a1.integer < a2.integer;
    if (k1 == BasicKind::kUint && k2 == BasicKind::kInt) return a2.integer >= 0 && a1.integer < a2.integer;
    Fail(std::string::npos, "incompatible types for comparison");
  }
  switch (k1) {
    case BasicKind::kFloat:
      return a1.number < a2.number;
    case BasicKind::kInt:
    case BasicKind::kUint:
      return a1.integer < a2.integer;
    case BasicKind::kString:
      return a1.str < a2.str;
    default:
      Fail(std::string::npos, "invalid type for comparison");
  }
}

bool Le(const Value& a1, const Value& a2) { return Lt(a1, a2) || Eq(a1, {a2}); }

// convertToFloat.
double ConvertToFloat(const Value& v) {
  switch (v.kind) {
    case Kind::kFloat:
      return v.number;
    case Kind::kInt:
      return static_cast<double>(v.integer);
    case Kind::kString: {
      ParseFloatError error;
      const double f = ParseFloat(v.str, error);
      if (error != ParseFloatError::kNone) {
        Fail(std::string::npos, "strconv.ParseFloat: parsing " + Quote(v.str) + ": " +
                                    (error == ParseFloatError::kSyntax ? "invalid syntax" : "value out of range"));
      }
      return f;
    }
    default:
      Fail(std::string::npos, "can't convert " + std::string(v.is_nil() ? "<nil>" : TypeName(v)) + " to float");
  }
}

// An index given to index or slice (indexArg).
int64_t IndexArg(const Value& index, size_t cap) {
  if (index.kind == Kind::kInvalid) Fail(std::string::npos, "cannot index slice/array with nil");
  if (index.kind != Kind::kInt && index.kind != Kind::kUint8) {
    Fail(std::string::npos, "cannot index slice/array with type " + std::string(TypeName(index)));
  }
  if (index.integer < 0 || static_cast<uint64_t>(index.integer) > cap) {
    Fail(std::string::npos, "index out of range: " + std::to_string(index.integer));
  }
  return index.integer;
}

// The map key given to index (prepareArg).
std::string MapKey(const Value& index) {
  if (index.kind == Kind::kInvalid) Fail(std::string::npos, "value is nil; should be of type string");
  if (index.kind != Kind::kString) {
    Fail(std::string::npos, "value has type " + std::string(TypeName(index)) + "; should be string");
  }
  return index.str;
}

// The Go type of what indirect() leaves of a value (a *time.Time becomes a time.Time).
std::string IndirectTypeName(const Value& v) { return v.kind == Kind::kTime ? "time.Time" : std::string(TypeName(v)); }

// Methods of *time.Time (toTime's result): calling one is not supported.
bool IsTimeMethod(std::string_view name) {
  static constexpr std::string_view kMethods[] = {"Add",
                                                  "AddDate",
                                                  "After",
                                                  "AppendFormat",
                                                  "Before",
                                                  "Clock",
                                                  "Date",
                                                  "Day",
                                                  "Equal",
                                                  "Format",
                                                  "GoString",
                                                  "GobDecode",
                                                  "GobEncode",
                                                  "Hour",
                                                  "ISOWeek",
                                                  "In",
                                                  "IsDST",
                                                  "IsZero",
                                                  "Local",
                                                  "Location",
                                                  "MarshalBinary",
                                                  "MarshalJSON",
                                                  "MarshalText",
                                                  "Minute",
                                                  "Month",
                                                  "Nanosecond",
                                                  "Round",
                                                  "Second",
                                                  "String",
                                                  "Sub",
                                                  "Truncate",
                                                  "UTC",
                                                  "Unix",
                                                  "UnixMicro",
                                                  "UnixMilli",
                                                  "UnixNano",
                                                  "UnmarshalBinary",
                                                  "UnmarshalJSON",
                                                  "UnmarshalText",
                                                  "Weekday",
                                                  "Year",
                                                  "YearDay",
                                                  "Zone",
                                                  "ZoneBounds"};
  return std::find(std::begin(kMethods), std::end(kMethods), name) != std::end(kMethods);
}

}  // namespace

struct AlertTemplate::Tree {
  std::string text;
  std::unique_ptr<Node> root;
  bool has_actions = false;
};

std::string GoQueryEscape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kUpperHex[c >> 4];
      out += kUpperHex[c & 0xF];
    }
  }
  return out;
}

std::string TableLinkForExpression(std::string_view expr) {
  return "/graph?g0.expr=" + GoQueryEscape(expr) + "&g0.tab=1";
}

namespace {

const std::map<std::string, std::string>& EmptyLabels() {
  static const std::map<std::string, std::string> kEmpty;
  return kEmpty;
}

class State {
 public:
  State(const AlertTemplate::Tree& tree, const AlertTemplateData& data) : tree_(tree), data_(data) {
    if (data_.labels == nullptr) data_.labels = &EmptyLabels();
    if (data_.external_labels == nullptr) data_.external_labels = &EmptyLabels();
    dot_.kind = Kind::kData;
    dot_.data = &data_;
  }

  std::string Run() {
    vars_.push_back({"$", dot_});
    vars_.push_back({"$labels", Value::StringMap(data_.labels)});
    vars_.push_back({"$externalLabels", Value::StringMap(data_.external_labels)});
    vars_.push_back({"$externalURL", Value::String(std::string(data_.external_url))});
    vars_.push_back({"$value", Value::Float(data_.value)});
    try {
      Walk(dot_, *tree_.root);
    } catch (const Failure& f) {
      if (f.pos != std::string::npos) throw;
      Errorf(f.message);  // a bound or an unsupported rune outside a function call
    }
    return std::move(out_);
  }

 private:
  struct Var {
    std::string name;
    Value value;
  };
  using Final = std::optional<Value>;  // the previous command's value in a pipeline; nullopt: none

  void At(const Node& n) { at_ = &n; }
  // Charges the work of handing out `v` (copying its string) to the budget.
  const Value& Charge(const Value& v) {
    budget_.Step(1 + v.str.size() / 256);
    return v;
  }
  [[noreturn]] void Errorf(const std::string& message) {
    if (at_ == nullptr) Fail(0, message);
    Fail(at_->pos, "at <" + NodeString(*at_) + ">: " + message);
  }
  void Write(std::string_view s) {
    if (out_.size() + s.size() > kAlertTemplateMaxOutputBytes) {
      Errorf("the expansion would exceed " + std::to_string(kAlertTemplateMaxOutputBytes) +
             " bytes (a bound of this implementation)");
    }
    out_ += s;
  }

  void Walk(const Value& dot, const Node& node) {
    budget_.Step();
    At(node);
    switch (node.type) {
      case NodeType::kAction: {
        const Value v = EvalPipeline(dot, *node.pipe);
        if (node.pipe->decls.empty()) PrintValue(node, v);
        return;
      }
      case NodeType::kBreak:
        throw BreakSignal{};
      case NodeType::kContinue:
        throw ContinueSignal{};
      case NodeType::kIf:
      case NodeType::kWith: {
        const size_t mark = vars_.size();
        const Value v = EvalPipeline(dot, *node.pipe);
        if (IsTrue(IndirectInterface(v))) {
          Walk(node.type == NodeType::kWith ? v : dot, *node.list);
        } else if (node.else_list) {
          Walk(dot, *node.else_list);
        }
        vars_.resize(mark);
        return;
      }
      case NodeType::kList:
        for (const auto& child : node.children) Walk(dot, *child);
        return;
      case NodeType::kRange:
        WalkRange(dot, node);
        return;
      case NodeType::kText:
        Write(node.text);
        return;
      default:
        Errorf("unknown node: " + NodeString(node));
    }
  }

  void WalkRange(const Value& dot, const Node& r) {
    At(r);
    const size_t mark = vars_.size();
    const Value val = EvalPipeline(dot, *r.pipe);
    const size_t body_mark = vars_.size();
    const size_t decls = r.pipe->decls.size();
    // One iteration; false after {{break}}.
    auto iteration = [&](const Value& index, const Value& elem) {
      if (++budget_.range_iterations > kAlertTemplateMaxRangeIterations) {
        Errorf("more than " + std::to_string(kAlertTemplateMaxRangeIterations) +
               " range iterations (a bound of this implementation)");
      }
      if (decls > 0) vars_[vars_.size() - 1].value = elem;
      if (decls > 1) vars_[vars_.size() - 2].value = index;
      bool more = true;
      try {
        Walk(elem, *r.list);
      } catch (const BreakSignal&) {
        more = false;
      } catch (const ContinueSignal&) {
      }
      vars_.resize(body_mark);
      return more;
    };
    switch (val.kind) {
      case Kind::kStringMap:
        if (val.map->empty()) break;
        for (const auto& [key, value] : *val.map) {
          if (!iteration(Value::String(key), Value::String(value))) break;
        }
        vars_.resize(mark);
        return;
      case Kind::kArgs:
        if (val.args->empty()) break;
        for (const auto& [key, value] : *val.args) {
          if (!iteration(Value::String(key), Boxed(value))) break;
        }
        vars_.resize(mark);
        return;
      case Kind::kInvalid:
        break;
      default:
        Errorf("range can't iterate over " + Sprint(val));
    }
    if (r.else_list) Walk(dot, *r.else_list);
    vars_.resize(mark);
  }

  void PrintValue(const Node& node, const Value& v) {
    At(node);
    if (v.kind == Kind::kInvalid) {
      Write("<no value>");
      return;
    }
    Write(Sprint(v));
  }

  Value EvalPipeline(const Value& dot, const Node& pipe) {
    At(pipe);
    Final value;
    for (const auto& cmd : pipe.children) {
      Value v = EvalCommand(dot, *cmd, value);
      Charge(v);
      if (v.kind == Kind::kNilInterface) v.kind = Kind::kInvalid;  // an interface{} is unwrapped
      v.boxed = false;
      value = std::move(v);
    }
    for (const std::string& name : pipe.decls) {
      if (pipe.is_assign) {
        SetVar(name, *value);
      } else {
        vars_.push_back({name, *value});
      }
    }
    return *value;
  }

  void SetVar(const std::string& name, const Value& value) {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].name == name) {
        vars_[i].value = value;
        return;
      }
    }
    Errorf("undefined variable: " + name);
  }

  const Value& VarValue(const std::string& name) {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].name == name) return vars_[i].value;
    }
    Errorf("undefined variable: " + name);
  }

  void NotAFunction(const std::vector<std::unique_ptr<Node>>* args, const Final& final) {
    if ((args != nullptr && args->size() > 1) || final) {
      Errorf("can't give argument to non-function " + (args != nullptr ? NodeString(*(*args)[0]) : std::string()));
    }
  }

  Value EvalCommand(const Value& dot, const Node& cmd, const Final& final) {
    budget_.Step();
    const Node& first = *cmd.children[0];
    switch (first.type) {
      case NodeType::kField:
        return EvalFieldNode(dot, first, &cmd.children, final);
      case NodeType::kChain:
        return EvalChainNode(dot, first, &cmd.children, final);
      case NodeType::kIdentifier:
        return EvalFunction(dot, first, cmd, &cmd.children, final);
      case NodeType::kPipe:
        NotAFunction(&cmd.children, final);
        return EvalPipeline(dot, first);
      case NodeType::kVariable:
        return EvalVariableNode(dot, first, &cmd.children, final);
      default:
        break;
    }
    At(first);
    NotAFunction(&cmd.children, final);
    switch (first.type) {
      case NodeType::kBool:
        return Value::Bool(first.boolean);
      case NodeType::kDot:
        return dot;
      case NodeType::kNil:
        Errorf("nil is not a command");
      case NodeType::kNumber:
        return IdealConstant(first);
      case NodeType::kString:
        return Value::String(first.text);
      default:
        Errorf("can't evaluate command " + Quote(NodeString(first)));
    }
  }

  Value IdealConstant(const Node& n) {
    At(n);
    const std::string_view text = n.source;
    const bool hex_int = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') &&
                         text.find_first_of("pP") == std::string_view::npos;
    const bool rune_int = !text.empty() && text[0] == '\'';
    if (n.is_float && !hex_int && !rune_int && text.find_first_of(".eEpP") != std::string_view::npos) {
      return Value::Float(n.float64);
    }
    if (n.is_int) return Value::Int(n.int64);
    if (n.is_uint) Errorf(std::string(text) + " overflows int");
    return Value();
  }

  Value EvalFieldNode(const Value& dot, const Node& field, const std::vector<std::unique_ptr<Node>>* args,
                      const Final& final) {
    At(field);
    return EvalFieldChain(dot, dot, field, field.idents, 0, args, final);
  }

  Value EvalChainNode(const Value& dot, const Node& chain, const std::vector<std::unique_ptr<Node>>* args,
                      const Final& final) {
    At(chain);
    const Value pipe = EvalArg(dot, std::nullopt, *chain.children[0]);
    return EvalFieldChain(dot, pipe, chain, chain.idents, 0, args, final);
  }

  Value EvalVariableNode(const Value& dot, const Node& variable, const std::vector<std::unique_ptr<Node>>* args,
                         const Final& final) {
    At(variable);
    const Value value = Charge(VarValue(variable.idents[0]));
    if (variable.idents.size() == 1) {
      NotAFunction(args, final);
      return value;
    }
    return EvalFieldChain(dot, value, variable, variable.idents, 1, args, final);
  }

  Value EvalFieldChain(const Value& dot, Value receiver, const Node& node, const std::vector<std::string>& idents,
                       size_t first, const std::vector<std::unique_ptr<Node>>* args, const Final& final) {
    for (size_t i = first; i + 1 < idents.size(); ++i)
      receiver = EvalField(dot, idents[i], node, nullptr, {}, receiver);
    return EvalField(dot, idents.back(), node, args, final, receiver);
  }

  Value EvalField(const Value& /*dot*/, const std::string& name, const Node& /*node*/,
                  const std::vector<std::unique_ptr<Node>>* args, const Final& final, const Value& receiver) {
    if (receiver.kind == Kind::kInvalid) return Value();
    const std::string type(receiver.boxed ? "interface {}" : TypeName(receiver));
    if (receiver.kind == Kind::kNilInterface) Errorf("nil pointer evaluating " + type + "." + name);
    if (receiver.kind == Kind::kTime && IsTimeMethod(name)) {
      Errorf("calling the method " + name + " of a time value is not supported");
    }
    const bool has_args = (args != nullptr && args->size() > 1) || final;
    switch (receiver.kind) {
      case Kind::kData:
        for (const DataField& field : DataFields(*receiver.data)) {
          if (field.name == name) {
            if (has_args) Errorf(name + " has arguments but cannot be invoked as function");
            return field.value;
          }
        }
        break;
      case Kind::kStringMap: {
        if (has_args) Errorf(name + " is not a method but has arguments");
        auto it = receiver.map->find(name);
        return Value::String(it == receiver.map->end() ? std::string() : it->second);  // missingkey=zero
      }
      case Kind::kArgs: {
        if (has_args) Errorf(name + " is not a method but has arguments");
        for (const auto& [key, value] : *receiver.args) {
          if (key == name) return Boxed(Charge(value));
        }
        return Value::NilInterface();  // missingkey=zero: the zero interface{}
      }
      default:
        break;
    }
    Errorf("can't evaluate field " + name + " in type " + type);
  }

  Value EvalFunction(const Value& dot, const Node& ident, const Node& cmd,
                     const std::vector<std::unique_ptr<Node>>* args, const Final& final) {
    At(ident);
    return EvalCall(dot, *ident.func, cmd, args, final);
  }

  static std::string_view ParamName(Param p) {
    switch (p) {
      case Param::kValue:
        return "reflect.Value";
      case Param::kInterface:
        return "interface {}";
      case Param::kString:
        return "string";
    }
    return "";
  }

  // validateType; `type` nullopt is Go's nil type (untyped).
  Value ValidateType(const Value& value, std::optional<Param> type) {
    if (value.kind == Kind::kInvalid) {
      if (!type || *type != Param::kString) return Value();
      Errorf("invalid value; expected string");
    }
    if (type == Param::kString && value.kind != Kind::kString) {
      Errorf("wrong type for value; expected string; got " + std::string(TypeName(value)));
    }
    return value;
  }

  Value EvalArg(const Value& dot, std::optional<Param> type, const Node& n) {
    At(n);
    switch (n.type) {
      case NodeType::kDot:
        return ValidateType(dot, type);
      case NodeType::kNil:
        if (type == Param::kString) Errorf("cannot assign nil to string");
        return Value();
      case NodeType::kField:
        return ValidateType(EvalFieldChain(dot, dot, n, n.idents, 0, nullptr, {}), type);
      case NodeType::kVariable:
        return ValidateType(EvalVariableNode(dot, n, nullptr, {}), type);
      case NodeType::kPipe:
        return ValidateType(EvalPipeline(dot, n), type);
      case NodeType::kIdentifier:
        return ValidateType(EvalFunction(dot, n, n, nullptr, {}), type);
      case NodeType::kChain:
        return ValidateType(EvalChainNode(dot, n, nullptr, {}), type);
      default:
        break;
    }
    if (type == Param::kString) {
      if (n.type == NodeType::kString) return Value::String(n.text);
      Errorf("expected string; found " + NodeString(n));
    }
    switch (n.type) {  // evalEmptyInterface
      case NodeType::kBool:
        return Value::Bool(n.boolean);
      case NodeType::kNumber:
        return IdealConstant(n);
      case NodeType::kString:
        return Value::String(n.text);
      default:
        Errorf("can't handle " + NodeString(n) + " for arg of type " +
               std::string(type ? ParamName(*type) : std::string_view("<nil>")));
    }
  }

  Value EvalCall(const Value& dot, const FuncInfo& f, const Node& node, const std::vector<std::unique_ptr<Node>>* all,
                 const Final& final) {
    const size_t nargs = all != nullptr ? all->size() - 1 : 0;
    auto arg = [&](size_t i) -> const Node& { return *(*all)[i + 1]; };
    const size_t num_in = nargs + (final ? 1 : 0);
    size_t num_fixed = nargs;
    if (f.variadic) {
      num_fixed = f.params.size() - 1;
      if (num_in < num_fixed) {
        Errorf("wrong number of args for " + std::string(f.name) + ": want at least " + std::to_string(num_fixed) +
               " got " + std::to_string(nargs));
      }
    } else if (num_in != f.params.size()) {
      Errorf("wrong number of args for " + std::string(f.name) + ": want " + std::to_string(f.params.size()) + " got " +
             std::to_string(num_in));
    }
    if (f.func == Func::kAnd || f.func == Func::kOr) {  // short-circuit
      Value v;
      for (size_t i = 0; i < nargs; ++i) {
        v = EvalArg(dot, Param::kValue, arg(i));
        if (IsTrue(IndirectInterface(v)) == (f.func == Func::kOr)) return v;
      }
      if (final) v = ValidateType(*final, Param::kValue);
      return v;
    }
    std::vector<Value> argv;
    size_t i = 0;
    for (; i < num_fixed && i < nargs; ++i) argv.push_back(EvalArg(dot, f.params[i], arg(i)));
    if (f.variadic) {
      for (; i < nargs; ++i) argv.push_back(EvalArg(dot, f.params.back(), arg(i)));
    }
    if (final) {
      Param t = f.params.empty() ? Param::kInterface : f.params.back();
      if (f.variadic && num_in - 1 < num_fixed) t = f.params[num_in - 1];
      argv.push_back(ValidateType(*final, t));
    }
    try {
      return Charge(Call(f, argv));
    } catch (const Failure& failure) {
      if (failure.pos != std::string::npos) throw;
      At(node);
      Errorf("error calling " + std::string(f.name) + ": " + failure.message);
    }
  }

  std::shared_ptr<const Regexp> Compile(const std::string& pattern, bool must_compile) {
    auto it = regexps_.find(pattern);
    if (it != regexps_.end()) return it->second;
    budget_.Step(1 + pattern.size() / 256);
    try {
      auto re = CompileRegexp(pattern);
      if (regexps_.size() >= kMaxCachedRegexps) regexps_.clear();  // bounds the memory they hold
      regexps_.emplace(pattern, re);
      return re;
    } catch (const RegexpError& e) {
      if (e.unsupported) {
        Fail(std::string::npos, "regular expression " + Quote(pattern, true) + " is not supported: " + e.message);
      }
      if (!must_compile) Fail(std::string::npos, e.message);
      const std::string quoted = CanBackquote(pattern) ? "`" + pattern + "`" : Quote(pattern);
      Fail(std::string::npos, "regexp: Compile(" + quoted + "): " + e.message);
    }
  }

  static std::vector<Value> PrintableArgs(std::vector<Value> args) {  // evalArgs of html, js, urlquery
    for (Value& a : args) {
      if (a.is_nil()) a = Value::String("<no value>");
    }
    return args;
  }
  static std::string EvalArgs(const std::vector<Value>& args) {
    if (args.size() == 1 && args[0].kind == Kind::kString) return args[0].str;
    Printer p;
    p.DoPrint(PrintableArgs(args));
    return p.Take();
  }

  Value Call(const FuncInfo& f, std::vector<Value>& a) {
    auto string_result = [](std::string s) {
      if (s.size() > kAlertTemplateMaxOutputBytes) FailTooLarge();
      return Value::String(std::move(s));
    };
    switch (f.func) {
      case Func::kAnd:
      case Func::kOr:
        break;  // handled by EvalCall
      case Func::kNot:
        return Value::Bool(!IsTrue(IndirectInterface(a[0])));
      case Func::kLen: {
        const Value& v = a[0];
        if (v.kind == Kind::kNilInterface) Fail(std::string::npos, "len of nil pointer");
        if (v.kind == Kind::kInvalid) Fail(std::string::npos, "reflect: call of reflect.Value.Type on zero Value");
        switch (v.kind) {
          case Kind::kString:
          case Kind::kHtml:
            return Value::Int(static_cast<int64_t>(v.str.size()));
          case Kind::kStringMap:
            return Value::Int(static_cast<int64_t>(v.map->size()));
          case Kind::kArgs:
            return Value::Int(static_cast<int64_t>(v.args->size()));
          default:
            Fail(std::string::npos, "len of type " + IndirectTypeName(v));
        }
      }
      case Func::kIndex: {
        Value item = IndirectInterface(a[0]);
        if (item.kind == Kind::kInvalid) Fail(std::string::npos, "index of untyped nil");
        for (size_t i = 1; i < a.size(); ++i) {
          const Value index = IndirectInterface(a[i]);
          switch (item.kind) {
            case Kind::kString:
            case Kind::kHtml: {
              const int64_t x = IndexArg(index, item.str.size());
              if (static_cast<size_t>(x) == item.str.size()) {
                Fail(std::string::npos, "reflect: string index out of range");
              }
              item = Value::Int(static_cast<unsigned char>(item.str[static_cast<size_t>(x)]), Kind::kUint8);
              break;
            }
            case Kind::kStringMap: {
              auto it = item.map->find(MapKey(index));
              item = Value::String(it == item.map->end() ? std::string() : it->second);
              break;
            }
            case Kind::kArgs: {
              const std::string key = MapKey(index);
              Value found = Value::NilInterface();
              for (const auto& [k, v] : *item.args) {
                if (k == key) found = Boxed(v);
              }
              item = found;
              break;
            }
            default:
              Fail(std::string::npos, "can't index item of type " + IndirectTypeName(item));
          }
          if (item.kind == Kind::kNilInterface && i + 1 < a.size()) {
            Fail(std::string::npos, "index of nil pointer");
          }
        }
        return item;
      }
      case Func::kSlice: {
        const Value item = IndirectInterface(a[0]);
        if (item.kind == Kind::kInvalid) Fail(std::string::npos, "slice of untyped nil");
        const size_t n = a.size() - 1;
        if (n > 3) Fail(std::string::npos, "too many slice indexes: " + std::to_string(n));
        if (item.kind != Kind::kString && item.kind != Kind::kHtml) {
          Fail(std::string::npos, "can't slice item of type " + std::string(TypeName(item)));
        }
        if (n == 3) Fail(std::string::npos, "cannot 3-index slice a string");
        int64_t idx[2] = {0, static_cast<int64_t>(item.str.size())};
        for (size_t i = 0; i < n; ++i) idx[i] = IndexArg(IndirectInterface(a[i + 1]), item.str.size());
        if (idx[0] > idx[1]) {
          Fail(std::string::npos, "invalid slice index: " + std::to_string(idx[0]) + " > " + std::to_string(idx[1]));
        }
        return Value::String(item.str.substr(static_cast<size_t>(idx[0]), static_cast<size_t>(idx[1] - idx[0])),
                             item.kind);
      }
      case Func::kCall: {
        const Value fn = IndirectInterface(a[0]);
        if (fn.kind == Kind::kInvalid) Fail(std::string::npos, "call of nil");
        Fail(std::string::npos, "non-function of type " + std::string(TypeName(fn)));
      }
      case Func::kEq:
        return Value::Bool(Eq(a[0], std::vector<Value>(a.begin() + 1, a.end())));
      case Func::kNe:
        return Value::Bool(!Eq(a[0], {a[1]}));
      case Func::kLt:
        return Value::Bool(Lt(a[0], a[1]));
      case Func::kLe:
        return Value::Bool(Le(a[0], a[1]));
      case Func::kGt:
        return Value::Bool(!Le(a[0], a[1]));
      case Func::kGe:
        return Value::Bool(!Lt(a[0], a[1]));
      case Func::kHtml:
        return string_result(HtmlEscape(EvalArgs(a)));
      case Func::kJs:
        return string_result(JsEscape(EvalArgs(a)));
      case Func::kUrlquery:
        return string_result(GoQueryEscape(EvalArgs(a)));
      case Func::kPrint: {
        Printer p;
        p.DoPrint(a);
        return Value::String(p.Take());
      }
      case Func::kPrintln: {
        Printer p;
        p.DoPrintln(a);
        return Value::String(p.Take());
      }
      case Func::kPrintf: {
        Printer p;
        p.DoPrintf(a[0].str, std::vector<Value>(a.begin() + 1, a.end()));
        return Value::String(p.Take());
      }
      case Func::kArgs: {
        auto map = std::make_shared<ArgsMap>();
        for (size_t i = 0; i < a.size(); ++i) {
          map->emplace_back("arg" + std::to_string(i), a[i].is_nil() ? Value::NilInterface() : a[i]);
        }
        std::sort(map->begin(), map->end(), [](const auto& x, const auto& y) { return x.first < y.first; });
        Value v;
        v.kind = Kind::kArgs;
        v.args = std::move(map);
        return v;
      }
      case Func::kReReplaceAll: {
        auto re = Compile(a[0].str, true);
        return Value::String(ReplaceAll(*re, a[2].str, a[1].str, budget_));
      }
      case Func::kMatch: {
        auto re = Compile(a[0].str, false);
        return Value::Bool(MatchString(*re, a[1].str, budget_));
      }
      case Func::kSafeHtml:
        return Value::String(a[0].str, Kind::kHtml);
      case Func::kTitle:
        return Value::String(Title(a[0].str));
      case Func::kToUpper:
        return Value::String(ToCase(a[0].str, Case::kUpper, "toUpper"));
      case Func::kToLower:
        return Value::String(ToCase(a[0].str, Case::kLower, "toLower"));
      case Func::kGraphLink:
        return string_result("/graph?g0.expr=" + GoQueryEscape(a[0].str) + "&g0.tab=0");
      case Func::kTableLink:
        return string_result(TableLinkForExpression(a[0].str));
      case Func::kHumanize:
        return Value::String(Humanize(ConvertToFloat(a[0])));
      case Func::kHumanize1024:
        return Value::String(Humanize1024(ConvertToFloat(a[0])));
      case Func::kHumanizeDuration:
        return Value::String(HumanizeDuration(ConvertToFloat(a[0])));
      case Func::kHumanizePercentage:
        return Value::String(Format4g(ConvertToFloat(a[0]) * 100) + "%");
      case Func::kHumanizeTimestamp: {
        const double v = ConvertToFloat(a[0]);
        bool nan_or_inf = false;
        auto ms = FloatToTime(v, nan_or_inf);
        if (nan_or_inf) return Value::String(Format4g(v));
        return Value::String(TimeString(*ms));
      }
      case Func::kToTime: {
        bool nan_or_inf = false;
        auto ms = FloatToTime(ConvertToFloat(a[0]), nan_or_inf);
        if (nan_or_inf) Fail(std::string::npos, "value is NaN or Inf");
        Value v;
        v.kind = Kind::kTime;
        v.integer = *ms;
        v.identity = budget_.next_time_identity++;
        return v;
      }
      case Func::kPathPrefix:
        return Value::String(UrlPath(data_.external_url));
      case Func::kExternalURL:
        return Value::String(std::string(data_.external_url));
      case Func::kParseDuration:
        return Value::Float(ParseModelDuration(a[0].str));
      case Func::kStripPort:
        return Value::String(StripPort(a[0].str));
      case Func::kStripDomain:
        return Value::String(StripDomain(a[0].str));
    }
    return Value();
  }

  const AlertTemplate::Tree& tree_;
  AlertTemplateData data_;
  Value dot_;
  std::vector<Var> vars_;
  const Node* at_ = nullptr;
  std::string out_;
  Budget budget_;
  std::map<std::string, std::shared_ptr<const Regexp>> regexps_;  // at most kMaxCachedRegexps
};

// Checks the literal patterns of match and reReplaceAll at parse time, so unsupported syntax is refused then.
void CheckPatterns(const Node& node) {
  if (node.type == NodeType::kCommand && node.children.size() >= 2 && node.children[0]->type == NodeType::kIdentifier &&
      node.children[1]->type == NodeType::kString &&
      (node.children[0]->func->func == Func::kMatch || node.children[0]->func->func == Func::kReReplaceAll)) {
    const Node& pattern = *node.children[1];
    CheckLiteralPattern(pattern.text, pattern.pos);
  }
  for (const auto& child : node.children) CheckPatterns(*child);
  for (const Node* n : {node.pipe.get(), node.list.get(), node.else_list.get()}) {
    if (n != nullptr) CheckPatterns(*n);
  }
}

}  // namespace

Result<AlertTemplate> AlertTemplate::Parse(std::string_view text) {
  auto tree = std::make_shared<Tree>();
  tree->text = std::string(text);
  tree->has_actions = text.find("{{") != std::string_view::npos;
  try {
    Parser parser(tree->text, Lexer(tree->text).Run());
    tree->root = parser.Parse();
    CheckPatterns(*tree->root);
  } catch (const Failure& failure) {
    const size_t pos = failure.pos == std::string::npos ? 0 : failure.pos;
    return MakeError(ErrorKind::kBadData, "column " + std::to_string(pos + 1) + ": " + failure.message);
  }
  return AlertTemplate(std::move(tree));
}

Result<std::string> AlertTemplate::Expand(const AlertTemplateData& data) const {
  if (!tree_->has_actions) return tree_->text;
  try {
    return State(*tree_, data).Run();
  } catch (const Failure& failure) {
    const size_t pos = failure.pos == std::string::npos ? 0 : failure.pos;
    return MakeError(ErrorKind::kBadData, "column " + std::to_string(pos + 1) + ": " + failure.message);
  }
}

std::string AlertTemplate::PrometheusErrorText(std::string_view rule_name, const Error& error) const {
  std::string_view message = error.message;
  size_t column = 0;
  if (message.substr(0, 7) == "column ") {
    const char* begin = message.data() + 7;
    auto [ptr, ec] = std::from_chars(begin, message.data() + message.size(), column);
    if (ec == std::errc() && column > 0 && std::string_view(ptr, 2) == ": ") {
      message.remove_prefix(static_cast<size_t>(ptr - message.data()) + 2);
    } else {
      column = 0;
    }
  }
  if (column == 0) return "<error expanding template: " + std::string(error.message) + ">";
  const std::string name = "__alert_" + std::string(rule_name);
  const size_t offset = std::min(column - 1, tree_->text.size());
  const std::string_view before = std::string_view(tree_->text).substr(0, offset);
  const size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
  const size_t last_newline = before.rfind('\n');
  const size_t go_column =
      last_newline == std::string_view::npos ? kPrelude.size() + offset : offset - last_newline - 1;
  std::string quoted;
  try {
    quoted = Quote(name);
  } catch (const Failure&) {
    quoted = Quote(name, true);
  }
  return "<error expanding template: error executing template " + name + ": template: " + name + ":" +
         std::to_string(line) + ":" + std::to_string(go_column) + ": executing " + quoted + " " + std::string(message) +
         ">";
}

bool AlertTemplate::has_actions() const { return tree_->has_actions; }

const std::string& AlertTemplate::text() const { return tree_->text; }

}  // namespace topdog::advisor
