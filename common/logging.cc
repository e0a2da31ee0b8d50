#include "common/logging.h"

#include <cstdlib>
#include <memory>
#include <utility>
#include <vector>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace topdog {

std::string LogQuote(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static const char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

namespace {

bool IsKeyChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'; }

// Splits "free text key=value key2=\"quoted value\"" into the message and its fields.
struct Parsed {
  std::string message;
  std::vector<std::pair<std::string_view, std::string>> fields;
};

Parsed ParsePayload(std::string_view payload) {
  Parsed out;
  size_t i = 0;
  while (i < payload.size()) {
    while (i < payload.size() && payload[i] == ' ') ++i;
    if (i >= payload.size()) break;
    size_t key_end = i;
    while (key_end < payload.size() && IsKeyChar(payload[key_end])) ++key_end;
    bool is_field = key_end > i && key_end < payload.size() && payload[key_end] == '=';
    if (!is_field) {
      // A word of the message (fields after the first one keep their order; stray words join the message).
      size_t end = payload.find(' ', i);
      if (end == std::string_view::npos) end = payload.size();
      if (!out.message.empty()) out.message += ' ';
      out.message.append(payload.substr(i, end - i));
      i = end;
      continue;
    }
    std::string_view key = payload.substr(i, key_end - i);
    i = key_end + 1;
    std::string value;
    if (i < payload.size() && payload[i] == '"') {
      // A LogQuote()d value: undo its escapes.
      ++i;
      while (i < payload.size() && payload[i] != '"') {
        if (payload[i] == '\\' && i + 1 < payload.size()) {
          char e = payload[++i];
          if (e == 'u' && i + 4 < payload.size()) {
            value += static_cast<char>(std::strtol(std::string(payload.substr(i + 1, 4)).c_str(), nullptr, 16));
            i += 4;
          } else {
            value += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
          }
        } else {
          value += payload[i];
        }
        ++i;
      }
      ++i;
    } else {
      size_t end = payload.find(' ', i);
      if (end == std::string_view::npos) end = payload.size();
      value.assign(payload.substr(i, end - i));
      i = end;
    }
    out.fields.emplace_back(key, std::move(value));
  }
  return out;
}

bool NeedsQuotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return true;
  }
  return false;
}

// Renders the payload as logfmt fields (msg="..." key=value) or as JSON members ("msg":"...","key":"value"),
// so every line stays one valid record whatever the message contains.
class FieldsFlag : public spdlog::custom_flag_formatter {
 public:
  explicit FieldsFlag(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string out = FormatLogFields(std::string_view(msg.payload.data(), msg.payload.size()), json_);
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<FieldsFlag>(json_); }

 private:
  bool json_;
};

}  // namespace

std::string FormatLogFields(std::string_view payload, bool json) {
  Parsed parsed = ParsePayload(payload);
  std::string out;
  auto add = [&](std::string_view key, std::string_view value) {
      if (json) {
        if (!out.empty()) out += ',';
        out += LogQuote(key);
        out += ':';
        out += LogQuote(value);
      } else {
        if (!out.empty()) out += ' ';
        out += key;
        out += '=';
        out += NeedsQuotes(value) ? LogQuote(value) : std::string(value);
      }
    };
  add("msg", parsed.message);
  for (const auto& [key, value] : parsed.fields) add(key, value);
  return out;
}

Result<void> SetUpLogging(std::string_view level, std::string_view format) {
  spdlog::level::level_enum lvl;
  if (level == "debug") {
    lvl = spdlog::level::debug;
  } else if (level == "info") {
    lvl = spdlog::level::info;
  } else if (level == "warn") {
    lvl = spdlog::level::warn;
  } else if (level == "error") {
    lvl = spdlog::level::err;
  } else {
    return MakeError(ErrorKind::kBadData, "--log.level must be one of debug, info, warn, error; got " +
                                              LogQuote(level));
  }
  std::string pattern;
  if (format == "logfmt") {
    pattern = "ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %*";
  } else if (format == "json") {
    pattern = R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%*})";
  } else {
    return MakeError(ErrorKind::kBadData, "--log.format must be logfmt or json; got " + LogQuote(format));
  }
  auto logger = std::make_shared<spdlog::logger>("topdog", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<FieldsFlag>('*', format == "json").set_pattern(pattern);
  logger->set_formatter(std::move(formatter));
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  return {};
}

}  // namespace topdog
