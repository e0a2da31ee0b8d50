// AccessLogParser: one NGINX access-log line -> AccessLogRecord (who asked what, status, bytes, times), for
// text log_formats (`combined` with times appended, ingress-nginx's upstreaminfo, or any log_format string)
// and JSON log_formats with a configurable field mapping. Pure; an instance is NOT thread-safe (it owns the
// buffer unescaped fields live in): use one per followed file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace topdog::exporter {

// `combined` with $request_time and $upstream_response_time appended: the format issue 6 names.
inline constexpr std::string_view kCombinedWithTimesLogFormat =
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" "
    "\"$http_user_agent\" $request_time $upstream_response_time";

// ingress-nginx's default log-format-upstream (internal/ingress/controller/config/config.go, logFormatUpstream).
inline constexpr std::string_view kIngressNginxLogFormat =
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" "
    "\"$http_user_agent\" $request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] "
    "$upstream_addr $upstream_response_length $upstream_response_time $upstream_status $req_id";

// One parsed line. Views point into the parsed line, or into the parser's buffer when the value had escapes
// to undo (or, for an absolute-form target without a path, at a static "/"); they stay valid until the next
// Parse() call on the same parser and while the line lives.
struct AccessLogRecord {
  std::string_view remote_addr;  // "" when the format has none or nginx wrote "-"
  std::string_view host;         // $host, $http_host or $server_name; "" when the format has none
  std::string_view method;       // A-Z, '_', '-'; "" when not an HTTP method (a TLS handshake on a plain port: a 400)
  std::string_view path;         // the request target without query; escapes undone, percent-encoding kept
  int status = 0;                // 0..999 as nginx logs it (000: no response sent, 009: HTTP/0.9, 499: client left)
  uint64_t bytes = 0;            // $body_bytes_sent ($bytes_sent when the format has only that); 0 if neither
  double request_time_seconds = 0;
  // $upstream_response_time summed over its items: "0.000, 0.001" (the first server failed, the second
  // answered) and "0.002 : 0.001" (an internal redirect to a second upstream) are both time this request
  // spent on upstreams, so the sum is what the client waited for them (the last item alone would hide
  // retries). nullopt when no upstream was involved ("-", empty, or the format has no such field).
  std::optional<double> upstream_response_time_seconds;
  uint32_t upstream_attempts = 0;  // number of timed items in $upstream_response_time (2 for "0.000, 0.001")
  std::string_view user_agent;     // "" when absent or "-"
};

// Which JSON keys hold which field. An empty key means the lines have no such field. The defaults are the
// nginx variable names, the most common convention (`"status":"$status"`). The request target comes from
// `path` when present and non-empty, else from the request line in `request`; likewise `method`.
struct AccessLogFieldMap {
  std::string remote_addr = "remote_addr";
  std::string host = "host";
  std::string request = "request";  // "GET /a?b HTTP/1.1"
  std::string method = "request_method";
  std::string path = "request_uri";  // $request_uri (query stripped here) or $uri
  std::string status = "status";
  std::string bytes = "body_bytes_sent";
  std::string request_time = "request_time";
  std::string upstream_response_time = "upstream_response_time";
  std::string user_agent = "http_user_agent";
};

namespace access_log_detail {

enum class Field : uint8_t {
  kIgnored,
  kRemoteAddr,
  kHost,
  kRequest,
  kMethod,
  kPath,
  kStatus,
  kBytes,
  kRequestTime,
  kUpstreamResponseTime,
  kUserAgent,
};

// A compiled log_format: literals and variables in order.
struct Token {
  std::string literal;   // set for a literal (variable is then empty)
  std::string variable;  // set for a variable, without '$'
  Field field = Field::kIgnored;
  bool is_list = false;  // $upstream_addr, _status, _response_time, ...: items joined by ", " or " : "
};

struct JsonKey {
  std::string key;
  Field field;
};

}  // namespace access_log_detail

class AccessLogParser {
 public:
  // Lines longer than this are rejected before any parsing. The request line and each logged header are
  // bounded by nginx's large_client_header_buffers (8 KiB by default), so a longer line is junk or comes with
  // raised buffers (then raise this too).
  static constexpr size_t kDefaultMaxLineBytes = 64 * 1024;

  // A parser for lines written by `log_format` (the format string as in nginx.conf, its quoted parts
  // concatenated, without the `escape=` parameter). The format must log $status, $request_time and
  // $request (or $request_uri / $uri), and every two variables must be separated by a literal; else
  // kBadData naming the problem. Unknown variables are matched and ignored.
  // Values are unescaped as nginx's default `escape=default` writes them (\xHH for '"', '\' and bytes
  // outside 0x20..0x7e). A value may contain the literal that follows it only where nginx escapes it
  // (a '"' in a quoted variable), so `escape=none` formats with free text before a literal may misparse.
  static Result<AccessLogParser> ForLogFormat(std::string_view log_format,
                                              size_t max_line_bytes = kDefaultMaxLineBytes);

  // A parser for one JSON object per line. `fields` must map status, request_time, and request or path;
  // keys must be distinct. Strings are unescaped per JSON and, as nginx writes them without
  // `escape=json`, per \xHH; bytes that are not UTF-8 are accepted (nginx writes them raw). Numbers may
  // be JSON numbers or strings ("status":200 or "status":"200"). Keys are compared as written (unescaped
  // keys only); for a repeated key the last value wins; nested objects and arrays are skipped.
  static Result<AccessLogParser> ForJson(AccessLogFieldMap fields, size_t max_line_bytes = kDefaultMaxLineBytes);

  // Parses one line (without its '\n'). kBadData names the column and what was expected there; a line over
  // max_line_bytes, binary junk or a line of another format is such an error, never a crash. Allocates only
  // on errors and when a line is longer than every line before it.
  Result<AccessLogRecord> Parse(std::string_view line);

  // The variables (text) or keys (JSON) the parser reads, for log lines and debugging.
  std::string Describe() const;

 private:
  AccessLogParser() = default;
  Result<AccessLogRecord> ParseText(std::string_view line);
  Result<AccessLogRecord> ParseJson(std::string_view line);
  // Undoes escapes of `raw` into scratch_; returns `raw` itself when it has none.
  std::string_view Unescape(std::string_view raw, bool json);

  bool json_ = false;
  size_t max_line_bytes_ = kDefaultMaxLineBytes;
  std::vector<access_log_detail::Token> tokens_;       // text
  std::vector<access_log_detail::JsonKey> json_keys_;  // JSON
  // Unescaped values of the current line. Sized to the longest line seen; unescaping never lengthens a
  // value and fields are disjoint parts of the line, so it is never resized during a line (views stay valid).
  std::vector<char> scratch_;
  size_t scratch_used_ = 0;
};

// Splits a request line ("GET /a/b?c=d HTTP/1.1", already unescaped) into method and target path without
// query. An absolute-form target ("http://host/p") loses its scheme and authority. Both are "" when the
// line does not start with an HTTP method token (A-Z, '_', '-'); exposed for the tests.
void SplitRequestLine(std::string_view request, std::string_view& method, std::string_view& path);

}  // namespace topdog::exporter
