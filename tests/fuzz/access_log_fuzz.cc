// libFuzzer target: the access-log parsers on arbitrary bytes, one line per '\n'. Every line goes through
// the combined and ingress-nginx text parsers and the JSON parser (default and ingress-nginx-docs key
// maps), and every line is also fed to a CriJoiner whose joined stdout lines are parsed again. An input
// whose first line holds a '$' is also compiled as a log_format for the other lines. Records must be
// sane (status range, finite non-negative times, views inside the line or no longer than it, a path
// without query), parsing must be deterministic, errors one printable line, and the joiner bounded.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "exporter/parse/access_log.h"
#include "exporter/parse/cri_log.h"
#include "exporter/parse/route_template.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using topdog::fuzz::Check;
using namespace topdog::exporter;

void CheckMessage(const std::string& message) {
  Check(!message.empty());
  for (char c : message) Check(c >= 0x20 && c < 0x7f);
}

// A view of the record is in the line, or an unescaped copy (never longer than the line), or the "/" of an
// absolute-form target without path.
void CheckView(std::string_view view, std::string_view line) {
  if (topdog::fuzz::PointsInto(view, line)) return;
  Check(view.size() <= line.size());
}

struct Copy {
  std::string text[6];
  int status;
  uint64_t bytes;
  double request_time;
  std::optional<double> upstream;
  uint32_t attempts;
  bool operator==(const Copy&) const = default;
};

Copy CopyOf(const AccessLogRecord& record) {
  return Copy{{std::string(record.remote_addr), std::string(record.host), std::string(record.method),
               std::string(record.path), std::string(record.user_agent), ""},
              record.status,
              record.bytes,
              record.request_time_seconds,
              record.upstream_response_time_seconds,
              record.upstream_attempts};
}

void ParseAndCheck(AccessLogParser& parser, std::string_view line, const RouteTemplater& templater) {
  auto record = parser.Parse(line);
  if (!record) {
    CheckMessage(record.error().message);
    Check(!parser.Parse(line));
    return;
  }
  Check(record->status >= 0 && record->status <= 999);
  Check(std::isfinite(record->request_time_seconds) && record->request_time_seconds >= 0);
  if (record->upstream_response_time_seconds) {
    Check(std::isfinite(*record->upstream_response_time_seconds) && *record->upstream_response_time_seconds >= 0);
    Check(record->upstream_attempts > 0);
  } else {
    Check(record->upstream_attempts == 0);
  }
  for (std::string_view view : {record->remote_addr, record->host, record->method, record->path, record->user_agent}) {
    CheckView(view, line);
  }
  Check(record->path.find_first_of("?#") == std::string_view::npos);
  for (char c : record->method) Check((c >= 'A' && c <= 'Z') || c == '_' || c == '-');
  const Copy first = CopyOf(*record);
  auto again = parser.Parse(line);
  Check(again && CopyOf(*again) == first);
  std::string route;
  templater.Template(again->path, route);
  Check(route.size() <= 128);
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const RouteTemplater templater = *RouteTemplater::Create({});
  static AccessLogParser combined = *AccessLogParser::ForLogFormat(kCombinedWithTimesLogFormat, 4096);
  static AccessLogParser ingress = *AccessLogParser::ForLogFormat(kIngressNginxLogFormat, 4096);
  static AccessLogParser json = *AccessLogParser::ForJson(AccessLogFieldMap{}, 4096);
  static AccessLogParser json_docs = [] {
    AccessLogFieldMap map;  // ingress-nginx's documented JSON format (tests/fixtures/gateway)
    map.host = "vhost";
    map.request = "";
    map.method = "method";
    map.path = "path";
    map.bytes = "bytes_sent";
    return *AccessLogParser::ForJson(map, 4096);
  }();
  const std::vector<std::string_view> lines = Lines(topdog::fuzz::AsText(data, size));

  for (std::string_view line : lines) {
    for (AccessLogParser* parser : {&combined, &ingress, &json, &json_docs}) ParseAndCheck(*parser, line, templater);
  }

  constexpr size_t kMaxJoined = 512;
  CriJoiner joiner(kMaxJoined);
  for (std::string_view line : lines) {
    auto entry = joiner.Add(line);
    Check(joiner.pending_bytes() <= 2 * kMaxJoined);
    if (!entry) {
      CheckMessage(entry.error().message);
      continue;
    }
    if (!entry->has_value()) continue;
    const CriEntry& joined = **entry;
    Check(joined.content.size() <= kMaxJoined);
    Check(topdog::fuzz::PointsInto(joined.timestamp, line));
    if (joined.stream != CriStream::kStdout) continue;
    const std::string content(joined.content);  // the parsers' views must not depend on the joiner's buffer
    ParseAndCheck(ingress, content, templater);
    ParseAndCheck(json, content, templater);
  }

  if (!lines.empty() && lines[0].find('$') != std::string_view::npos) {
    auto custom = AccessLogParser::ForLogFormat(lines[0], 4096);
    if (!custom) {
      CheckMessage(custom.error().message);
    } else {
      for (size_t i = 1; i < lines.size(); ++i) ParseAndCheck(*custom, lines[i], templater);
    }
  }
  return 0;
}
