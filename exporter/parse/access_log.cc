#include "exporter/parse/access_log.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

using access_log_detail::Field;
using access_log_detail::JsonKey;
using access_log_detail::Token;

constexpr size_t kFieldCount = static_cast<size_t>(Field::kUserAgent) + 1;

// nginx variables the record is made of. When a format logs several variables of one field, the lowest
// rank wins ($body_bytes_sent over $bytes_sent: the response size without headers, as ingress-nginx's
// response_size).
struct VariableField {
  std::string_view variable;
  Field field;
  int rank;
};
constexpr VariableField kVariableFields[] = {
    {"remote_addr", Field::kRemoteAddr, 0},
    {"host", Field::kHost, 0},
    {"http_host", Field::kHost, 1},
    {"server_name", Field::kHost, 2},
    {"request", Field::kRequest, 0},
    {"request_method", Field::kMethod, 0},
    {"request_uri", Field::kPath, 0},
    {"uri", Field::kPath, 1},
    {"document_uri", Field::kPath, 2},
    {"status", Field::kStatus, 0},
    {"body_bytes_sent", Field::kBytes, 0},
    {"bytes_sent", Field::kBytes, 1},
    {"request_time", Field::kRequestTime, 0},
    {"upstream_response_time", Field::kUpstreamResponseTime, 0},
    {"http_user_agent", Field::kUserAgent, 0},
};

std::string_view FieldName(Field field) {
  switch (field) {
    case Field::kIgnored:
      return "ignored";
    case Field::kRemoteAddr:
      return "remote_addr";
    case Field::kHost:
      return "host";
    case Field::kRequest:
      return "request";
    case Field::kMethod:
      return "method";
    case Field::kPath:
      return "path";
    case Field::kStatus:
      return "status";
    case Field::kBytes:
      return "bytes";
    case Field::kRequestTime:
      return "request_time";
    case Field::kUpstreamResponseTime:
      return "upstream_response_time";
    case Field::kUserAgent:
      return "user_agent";
  }
  return "?";
}

// nginx joins the values of each upstream tried with ", " and those of each internal redirect with " : "
// (ngx_http_upstream_response_time_variable and friends); the per-upstream header/cookie/trailer
// variables and the cache status are single values.
bool IsListVariable(std::string_view name) {
  if (!name.starts_with("upstream_")) return false;
  for (std::string_view single : {"upstream_http_", "upstream_cookie_", "upstream_trailer_"}) {
    if (name.starts_with(single)) return false;
  }
  return name != "upstream_cache_status";
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Error BadLine(size_t column, std::string_view what, std::string_view rest) {
  std::string message = "column " + std::to_string(column + 1) + ": " + std::string(what);
  if (!rest.empty()) message += ", found " + parse::QuoteEscaped(rest);
  return Error{ErrorKind::kBadData, std::move(message)};
}

Error BadField(Field field, std::string_view what, std::string_view value) {
  return Error{ErrorKind::kBadData,
               "field " + std::string(FieldName(field)) + ": " + std::string(what) + " " + parse::QuoteEscaped(value)};
}

// "0.123" as nginx writes $request_time ("%T.%03M"); JSON exponents are accepted too. Negative, infinite
// and out-of-range values are rejected.
std::optional<double> ParseSeconds(std::string_view field) {
  if (field.empty() || field.front() < '0' || field.front() > '9') return std::nullopt;
  double value = 0;
  const char* end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, value, std::chars_format::general);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

// $status is "%03ui": three digits, but be lenient about leading zeros in JSON numbers ("status":200).
std::optional<int> ParseStatus(std::string_view field) {
  if (field.empty() || field.size() > 3) return std::nullopt;
  int value = 0;
  for (char c : field) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// "-", "0.001", "0.000, 0.001", "0.002 : 0.001", "0.000, 0.001 : 0.004". Items of "-" (an upstream that
// was never reached) count neither as time nor as attempts.
bool ParseUpstreamTimes(std::string_view value, std::optional<double>& sum, uint32_t& attempts) {
  sum.reset();
  attempts = 0;
  if (value.empty() || value == "-") return true;
  double total = 0;
  size_t pos = 0;
  while (true) {
    size_t end = pos;
    while (end < value.size() && value[end] != ',' && value[end] != ' ') ++end;
    std::string_view item = value.substr(pos, end - pos);
    if (item != "-") {
      auto seconds = ParseSeconds(item);
      if (!seconds) return false;
      total += *seconds;
      ++attempts;
    }
    if (end == value.size()) break;
    if (value.compare(end, 2, ", ") == 0) {
      pos = end + 2;
    } else if (value.compare(end, 3, " : ") == 0) {
      pos = end + 3;
    } else {
      return false;
    }
  }
  if (attempts > 0) sum = total;
  return true;
}

// End of a list value starting at `pos`: items without spaces or commas joined by ", " or " : ".
size_t ScanList(std::string_view line, size_t pos) {
  while (true) {
    while (pos < line.size() && line[pos] != ' ' && line[pos] != ',') ++pos;
    if (line.compare(pos, 2, ", ") == 0) {
      pos += 2;
    } else if (line.compare(pos, 3, " : ") == 0) {
      pos += 3;
    } else {
      return pos;
    }
  }
}

std::string_view TargetPath(std::string_view target) {
  // Absolute form (a request sent as to a proxy): drop "scheme://authority".
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.starts_with(scheme)) {
      std::string_view after = target.substr(scheme.size());
      size_t slash = after.find_first_of("/?#");
      if (slash == std::string_view::npos || after[slash] != '/') return "/";
      target = after.substr(slash);
      break;
    }
  }
  return target.substr(0, target.find_first_of("?#"));
}

bool IsAbsentValue(std::string_view value) { return value.empty() || value == "-"; }

// An HTTP method as nginx accepts it (upper-case letters, '_' and '-'); its longest known method is 11
// bytes ("MKACTIVITY"), 32 leaves room for extensions.
bool IsMethodToken(std::string_view token) {
  constexpr size_t kMaxMethodBytes = 32;
  if (token.empty() || token.size() > kMaxMethodBytes) return false;
  for (char c : token) {
    if (!((c >= 'A' && c <= 'Z') || c == '_' || c == '-')) return false;
  }
  return true;
}

// Appends the UTF-8 encoding of `code_point` (<= 0x10FFFF); returns the bytes written.
size_t EncodeUtf8(uint32_t code_point, char* out) {
  if (code_point < 0x80) {
    out[0] = static_cast<char>(code_point);
    return 1;
  }
  if (code_point < 0x800) {
    out[0] = static_cast<char>(0xC0 | (code_point >> 6));
    out[1] = static_cast<char>(0x80 | (code_point & 0x3F));
    return 2;
  }
  if (code_point < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (code_point >> 12));
    out[1] = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (code_point & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (code_point >> 18));
  out[1] = static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (code_point & 0x3F));
  return 4;
}

std::optional<uint32_t> Hex4(std::string_view text, size_t pos) {
  if (pos + 4 > text.size()) return std::nullopt;
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) {
    int digit = HexValue(text[pos + i]);
    if (digit < 0) return std::nullopt;
    value = value * 16 + static_cast<uint32_t>(digit);
  }
  return value;
}

// Skips JSON white space.
size_t SkipSpace(std::string_view line, size_t pos) {
  while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t' || line[pos] == '\r' || line[pos] == '\n')) {
    ++pos;
  }
  return pos;
}

// `pos` is just after an opening '"'; returns the index of the closing '"', or npos for an unterminated
// string or a raw control byte (nginx escapes those in both escape modes).
size_t ScanJsonString(std::string_view line, size_t pos) {
  while (pos < line.size()) {
    const unsigned char c = static_cast<unsigned char>(line[pos]);
    if (c == '"') return pos;
    if (c == '\\') {
      pos += 2;
      continue;
    }
    if (c < 0x20) return std::string_view::npos;
    ++pos;
  }
  return std::string_view::npos;
}

// Skips a nested object or array starting at `pos` ('{' or '['); returns the index after it or npos.
size_t SkipJsonContainer(std::string_view line, size_t pos) {
  constexpr int kMaxDepth = 64;
  int depth = 0;
  while (pos < line.size()) {
    const char c = line[pos];
    if (c == '"') {
      pos = ScanJsonString(line, pos + 1);
      if (pos == std::string_view::npos) return pos;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxDepth) return std::string_view::npos;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return pos + 1;
    }
    ++pos;
  }
  return std::string_view::npos;
}

bool IsScalarChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '+';
}

}  // namespace

void SplitRequestLine(std::string_view request, std::string_view& method, std::string_view& path) {
  method = {};
  path = {};
  size_t space = request.find(' ');
  if (space == std::string_view::npos) return;
  std::string_view token = request.substr(0, space);
  if (!IsMethodToken(token)) return;
  std::string_view target = request.substr(space + 1);
  size_t last = target.rfind(' ');
  if (last != std::string_view::npos && target.substr(last + 1).starts_with("HTTP/")) {
    target = target.substr(0, last);
  }
  method = token;
  path = TargetPath(target);
}

Result<AccessLogParser> AccessLogParser::ForLogFormat(std::string_view log_format, size_t max_line_bytes) {
  AccessLogParser parser;
  parser.max_line_bytes_ = max_line_bytes;
  std::vector<Token>& tokens = parser.tokens_;
  auto bad = [&](size_t column, const std::string& what) {
    return MakeError(ErrorKind::kBadData, "log_format column " + std::to_string(column + 1) + ": " + what);
  };
  size_t i = 0;
  while (i < log_format.size()) {
    if (log_format[i] != '$') {
      size_t end = std::min(log_format.find('$', i), log_format.size());
      if (!tokens.empty() && tokens.back().variable.empty()) {
        tokens.back().literal.append(log_format.substr(i, end - i));
      } else {
        tokens.push_back(Token{std::string(log_format.substr(i, end - i)), "", Field::kIgnored, false});
      }
      i = end;
      continue;
    }
    std::string_view name;
    size_t next = 0;
    if (i + 1 < log_format.size() && log_format[i + 1] == '{') {
      size_t close = log_format.find('}', i + 2);
      if (close == std::string_view::npos) return bad(i, "unterminated \"${\"");
      name = log_format.substr(i + 2, close - i - 2);
      next = close + 1;
    } else {
      size_t end = i + 1;
      while (end < log_format.size() && IsNameChar(log_format[end])) ++end;
      name = log_format.substr(i + 1, end - i - 1);
      next = end;
    }
    if (name.empty()) return bad(i, "'$' is not followed by a variable name");
    for (char c : name) {
      if (!IsNameChar(c)) return bad(i, "invalid variable name " + parse::QuoteEscaped(name));
    }
    if (!tokens.empty() && !tokens.back().variable.empty()) {
      return bad(i, "$" + tokens.back().variable + " and $" + std::string(name) +
                        " are not separated by a literal, so a line cannot be split between them");
    }
    tokens.push_back(Token{"", std::string(name), Field::kIgnored, IsListVariable(name)});
    i = next;
  }
  // Each field from its best-ranked variable; the others of that field are matched and ignored.
  std::array<int, kFieldCount> best_rank;
  best_rank.fill(1 << 30);
  std::array<Token*, kFieldCount> best{};
  for (Token& token : tokens) {
    if (token.variable.empty()) continue;
    for (const VariableField& known : kVariableFields) {
      if (token.variable != known.variable) continue;
      const size_t index = static_cast<size_t>(known.field);
      if (known.rank < best_rank[index]) {
        best_rank[index] = known.rank;
        best[index] = &token;
      }
    }
  }
  for (size_t field = 0; field < kFieldCount; ++field) {
    if (best[field] != nullptr) best[field]->field = static_cast<Field>(field);
  }
  if (best[static_cast<size_t>(Field::kStatus)] == nullptr) {
    return MakeError(ErrorKind::kBadData, "log_format has no $status");
  }
  if (best[static_cast<size_t>(Field::kRequestTime)] == nullptr) {
    return MakeError(ErrorKind::kBadData, "log_format has no $request_time");
  }
  if (best[static_cast<size_t>(Field::kRequest)] == nullptr && best[static_cast<size_t>(Field::kPath)] == nullptr) {
    return MakeError(ErrorKind::kBadData, "log_format has neither $request nor $request_uri/$uri");
  }
  return parser;
}

Result<AccessLogParser> AccessLogParser::ForJson(AccessLogFieldMap fields, size_t max_line_bytes) {
  AccessLogParser parser;
  parser.json_ = true;
  parser.max_line_bytes_ = max_line_bytes;
  const std::pair<std::string*, Field> mapping[] = {
      {&fields.remote_addr, Field::kRemoteAddr},
      {&fields.host, Field::kHost},
      {&fields.request, Field::kRequest},
      {&fields.method, Field::kMethod},
      {&fields.path, Field::kPath},
      {&fields.status, Field::kStatus},
      {&fields.bytes, Field::kBytes},
      {&fields.request_time, Field::kRequestTime},
      {&fields.upstream_response_time, Field::kUpstreamResponseTime},
      {&fields.user_agent, Field::kUserAgent},
  };
  for (const auto& [key, field] : mapping) {
    if (key->empty()) continue;
    for (const JsonKey& existing : parser.json_keys_) {
      if (existing.key == *key) {
        return MakeError(ErrorKind::kBadData, "JSON key " + parse::QuoteEscaped(*key) + " is mapped to both " +
                                                  std::string(FieldName(existing.field)) + " and " +
                                                  std::string(FieldName(field)));
      }
    }
    parser.json_keys_.push_back(JsonKey{std::move(*key), field});
  }
  auto mapped = [&](Field field) {
    for (const JsonKey& key : parser.json_keys_) {
      if (key.field == field) return true;
    }
    return false;
  };
  if (!mapped(Field::kStatus)) return MakeError(ErrorKind::kBadData, "JSON field map has no status key");
  if (!mapped(Field::kRequestTime)) return MakeError(ErrorKind::kBadData, "JSON field map has no request_time key");
  if (!mapped(Field::kRequest) && !mapped(Field::kPath)) {
    return MakeError(ErrorKind::kBadData, "JSON field map has neither a request nor a path key");
  }
  return parser;
}

std::string AccessLogParser::Describe() const {
  std::string out = json_ ? "JSON keys:" : "log_format variables:";
  if (json_) {
    for (const JsonKey& key : json_keys_) out += " " + std::string(FieldName(key.field)) + "=\"" + key.key + "\"";
  } else {
    for (const Token& token : tokens_) {
      if (token.field != Field::kIgnored) out += " " + std::string(FieldName(token.field)) + "=$" + token.variable;
    }
  }
  return out;
}

std::string_view AccessLogParser::Unescape(std::string_view raw, bool json) {
  size_t backslash = raw.find('\\');
  if (backslash == std::string_view::npos) return raw;
  // REQUIRES: scratch_ has room for raw.size() more bytes (Parse() sizes it to the line; fields are
  // disjoint parts of the line and unescaping never lengthens them).
  char* const begin = scratch_.data() + scratch_used_;
  char* out = begin;
  for (size_t i = 0; i < backslash; ++i) *out++ = raw[i];
  size_t i = backslash;
  while (i < raw.size()) {
    const char c = raw[i];
    if (c != '\\' || i + 1 >= raw.size()) {
      *out++ = c;
      ++i;
      continue;
    }
    const char kind = raw[i + 1];
    if (kind == 'x' && i + 3 < raw.size() && HexValue(raw[i + 2]) >= 0 && HexValue(raw[i + 3]) >= 0) {
      *out++ = static_cast<char>(HexValue(raw[i + 2]) * 16 + HexValue(raw[i + 3]));
      i += 4;
      continue;
    }
    if (!json) {  // escape=default writes only \xHH; any other backslash is literal (escape=none)
      *out++ = c;
      ++i;
      continue;
    }
    char simple = 0;
    switch (kind) {
      case '"':
        simple = '"';
        break;
      case '\\':
        simple = '\\';
        break;
      case '/':
        simple = '/';
        break;
      case 'b':
        simple = '\b';
        break;
      case 'f':
        simple = '\f';
        break;
      case 'n':
        simple = '\n';
        break;
      case 'r':
        simple = '\r';
        break;
      case 't':
        simple = '\t';
        break;
      default:
        break;
    }
    if (simple != 0) {
      *out++ = simple;
      i += 2;
      continue;
    }
    if (kind == 'u') {
      if (auto unit = Hex4(raw, i + 2)) {
        uint32_t code_point = *unit;
        size_t consumed = 6;
        if (code_point >= 0xD800 && code_point <= 0xDBFF) {
          auto low = raw.substr(i + 6, 2) == "\\u" ? Hex4(raw, i + 8) : std::nullopt;
          if (low && *low >= 0xDC00 && *low <= 0xDFFF) {
            code_point = 0x10000 + ((code_point - 0xD800) << 10) + (*low - 0xDC00);
            consumed = 12;
          } else {
            code_point = 0xFFFD;  // a lone surrogate: the replacement character (3 bytes for 6)
          }
        } else if (code_point >= 0xDC00 && code_point <= 0xDFFF) {
          code_point = 0xFFFD;
        }
        out += EncodeUtf8(code_point, out);
        i += consumed;
        continue;
      }
    }
    // Not an escape JSON or nginx knows: keep it as written.
    *out++ = c;
    ++i;
  }
  const size_t length = static_cast<size_t>(out - begin);
  scratch_used_ += length;
  return std::string_view(begin, length);
}

Result<AccessLogRecord> AccessLogParser::Parse(std::string_view line) {
  if (line.size() > max_line_bytes_) {
    return MakeError(ErrorKind::kBadData, "line of " + std::to_string(line.size()) + " bytes is longer than the " +
                                              std::to_string(max_line_bytes_) + "-byte limit");
  }
  if (line.empty()) return MakeError(ErrorKind::kBadData, "empty line");
  if (scratch_.size() < line.size()) scratch_.resize(line.size());
  scratch_used_ = 0;
  return json_ ? ParseJson(line) : ParseText(line);
}

namespace {

// The raw (still escaped) value of each field found in a line.
struct RawFields {
  std::array<std::string_view, kFieldCount> value{};
  std::array<bool, kFieldCount> present{};

  void Set(Field field, std::string_view raw) {
    value[static_cast<size_t>(field)] = raw;
    present[static_cast<size_t>(field)] = true;
  }
  bool Has(Field field) const { return present[static_cast<size_t>(field)]; }
  std::string_view Get(Field field) const { return value[static_cast<size_t>(field)]; }
};

// Turns raw field values into a record; shared by the text and JSON paths. `unescape` undoes the escapes
// of the line's format.
template <typename Unescaper>
Result<AccessLogRecord> BuildRecord(const RawFields& raw, Unescaper&& unescape) {
  AccessLogRecord record;
  auto text = [&](Field field) -> std::string_view {
    if (!raw.Has(field) || IsAbsentValue(raw.Get(field))) return {};
    return unescape(raw.Get(field));
  };
  record.remote_addr = text(Field::kRemoteAddr);
  record.host = text(Field::kHost);
  record.user_agent = text(Field::kUserAgent);
  record.method = text(Field::kMethod);
  if (!IsMethodToken(record.method)) record.method = {};  // junk in $request_method: as if absent
  std::string_view path = text(Field::kPath);
  if (!path.empty()) record.path = TargetPath(path);
  if ((record.method.empty() || path.empty()) && raw.Has(Field::kRequest)) {
    std::string_view method;
    std::string_view request_path;
    SplitRequestLine(text(Field::kRequest), method, request_path);
    if (record.method.empty()) record.method = method;
    if (path.empty()) record.path = request_path;
  }

  if (!raw.Has(Field::kStatus)) return MakeError(ErrorKind::kBadData, "no status field");
  auto status = ParseStatus(raw.Get(Field::kStatus));
  if (!status) return tl::unexpected(BadField(Field::kStatus, "not a 3-digit status", raw.Get(Field::kStatus)));
  record.status = *status;

  if (raw.Has(Field::kBytes) && !IsAbsentValue(raw.Get(Field::kBytes))) {
    auto bytes = parse::ParseUint64(raw.Get(Field::kBytes));
    if (!bytes) return tl::unexpected(BadField(Field::kBytes, "not a byte count", raw.Get(Field::kBytes)));
    record.bytes = *bytes;
  }

  if (!raw.Has(Field::kRequestTime)) return MakeError(ErrorKind::kBadData, "no request_time field");
  auto request_time = ParseSeconds(raw.Get(Field::kRequestTime));
  if (!request_time) {
    return tl::unexpected(BadField(Field::kRequestTime, "not a time in seconds", raw.Get(Field::kRequestTime)));
  }
  record.request_time_seconds = *request_time;

  if (raw.Has(Field::kUpstreamResponseTime) &&
      !ParseUpstreamTimes(raw.Get(Field::kUpstreamResponseTime), record.upstream_response_time_seconds,
                          record.upstream_attempts)) {
    return tl::unexpected(BadField(Field::kUpstreamResponseTime, "not a list of times in seconds",
                                   raw.Get(Field::kUpstreamResponseTime)));
  }
  return record;
}

}  // namespace

Result<AccessLogRecord> AccessLogParser::ParseText(std::string_view line) {
  RawFields raw;
  size_t pos = 0;
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const Token& token = tokens_[t];
    if (token.variable.empty()) {
      if (line.compare(pos, token.literal.size(), token.literal) != 0) {
        return tl::unexpected(
            BadLine(pos, "expected " + parse::QuoteEscaped(token.literal) + " (log_format literal)", line.substr(pos)));
      }
      pos += token.literal.size();
      continue;
    }
    size_t end = line.size();
    if (t + 1 < tokens_.size()) {
      const std::string& next = tokens_[t + 1].literal;
      end = token.is_list ? ScanList(line, pos) : line.find(next, pos);
      if (end == std::string_view::npos) {
        return tl::unexpected(
            BadLine(pos, "no " + parse::QuoteEscaped(next) + " after $" + token.variable, line.substr(pos)));
      }
    }
    if (token.field != Field::kIgnored) raw.Set(token.field, line.substr(pos, end - pos));
    pos = end;
  }
  if (pos != line.size()) return tl::unexpected(BadLine(pos, "expected the end of the line", line.substr(pos)));
  return BuildRecord(raw, [this](std::string_view value) { return Unescape(value, /*json=*/false); });
}

Result<AccessLogRecord> AccessLogParser::ParseJson(std::string_view line) {
  RawFields raw;
  size_t pos = SkipSpace(line, 0);
  if (pos >= line.size() || line[pos] != '{') {
    return tl::unexpected(BadLine(pos, "expected a JSON object", line.substr(pos)));
  }
  pos = SkipSpace(line, pos + 1);
  bool first = true;
  while (true) {
    if (pos < line.size() && line[pos] == '}' && first) {
      ++pos;
      break;
    }
    first = false;
    if (pos >= line.size() || line[pos] != '"') {
      return tl::unexpected(BadLine(pos, "expected a '\"' starting a key", line.substr(pos)));
    }
    size_t key_end = ScanJsonString(line, pos + 1);
    if (key_end == std::string_view::npos) return tl::unexpected(BadLine(pos, "unterminated key", {}));
    std::string_view key = line.substr(pos + 1, key_end - pos - 1);
    pos = SkipSpace(line, key_end + 1);
    if (pos >= line.size() || line[pos] != ':') {
      return tl::unexpected(BadLine(pos, "expected ':' after a key", line.substr(pos)));
    }
    pos = SkipSpace(line, pos + 1);
    if (pos >= line.size()) return tl::unexpected(BadLine(pos, "expected a value", {}));
    std::string_view value;
    bool is_null = false;
    const char c = line[pos];
    if (c == '"') {
      size_t value_end = ScanJsonString(line, pos + 1);
      if (value_end == std::string_view::npos) {
        return tl::unexpected(BadLine(pos, "unterminated string (or a raw control byte in it)", {}));
      }
      value = line.substr(pos + 1, value_end - pos - 1);
      pos = value_end + 1;
    } else if (c == '{' || c == '[') {
      size_t end = SkipJsonContainer(line, pos);
      if (end == std::string_view::npos) {
        return tl::unexpected(BadLine(pos, "unterminated or too deeply nested value", {}));
      }
      value = line.substr(pos, end - pos);
      pos = end;
    } else {
      size_t end = pos;
      while (end < line.size() && IsScalarChar(line[end])) ++end;
      if (end == pos) return tl::unexpected(BadLine(pos, "expected a value", line.substr(pos)));
      value = line.substr(pos, end - pos);
      is_null = value == "null";
      pos = end;
    }
    for (const JsonKey& mapped : json_keys_) {
      if (mapped.key.size() != key.size() || std::string_view(mapped.key) != key) continue;
      if (c == '{' || c == '[') {
        return tl::unexpected(BadField(mapped.field, "expected a string or number, got", value));
      }
      if (is_null) {
        raw.Set(mapped.field, {});
      } else {
        raw.Set(mapped.field, value);
      }
      break;
    }
    pos = SkipSpace(line, pos);
    if (pos < line.size() && line[pos] == ',') {
      pos = SkipSpace(line, pos + 1);
      continue;
    }
    if (pos < line.size() && line[pos] == '}') {
      ++pos;
      break;
    }
    return tl::unexpected(BadLine(pos, "expected ',' or '}'", line.substr(pos)));
  }
  pos = SkipSpace(line, pos);
  if (pos != line.size()) return tl::unexpected(BadLine(pos, "expected the end of the line", line.substr(pos)));
  // A mapped key that is absent is an error only for the fields a record needs (checked while building).
  return BuildRecord(raw, [this](std::string_view value) { return Unescape(value, /*json=*/true); });
}

}  // namespace topdog::exporter
