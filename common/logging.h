// Process-wide logging set-up on spdlog: logfmt or JSON lines on stderr, level from --log.level.
// SetUpLogging is called once at start-up before other threads exist; spdlog's loggers are thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace topdog {

// Call sites log a short message followed by key=value fields, values with spaces wrapped in LogQuote():
//   spdlog::warn("collector failed collector={} err={}", name, LogQuote(error));
// which prints `ts=... level=warn msg="collector failed" collector=cpu err="..."` (logfmt) or the same as
// one JSON object (json).
// level: debug|info|warn|error (node_exporter's names); format: logfmt|json.
// Returns an error naming the bad value; the caller exits 1.
Result<void> SetUpLogging(std::string_view level, std::string_view format);

// Quotes a logfmt/JSON value safely (escapes quotes, backslashes and control characters).
std::string LogQuote(std::string_view value);

// Renders a payload "message key=value ..." as logfmt fields or JSON members (without braces). Exposed for
// tests; the log formatter calls it for every line.
std::string FormatLogFields(std::string_view payload, bool json);

}  // namespace topdog
