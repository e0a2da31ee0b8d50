#include "exporter/parse/access_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::HasSubstr;
using testing::ReadFixture;

// The lines of a captured log (tests/fixtures/gateway, see PROVENANCE.md); line i of every log is the same
// request, so the formats can be checked against each other.
std::vector<std::string> FixtureLines(const std::string& name) { return testing::ReadFixtureLines("gateway/" + name); }

constexpr size_t kCapturedRequests = 45;

// Plain copy of a record, so records of two parsers can be compared after both parsed.
struct Owned {
  std::string remote_addr, host, method, path, user_agent;
  int status = 0;
  uint64_t bytes = 0;
  double request_time = 0;
  std::optional<double> upstream;
  uint32_t attempts = 0;
};

Owned Own(const AccessLogRecord& record) {
  return Owned{std::string(record.remote_addr),
               std::string(record.host),
               std::string(record.method),
               std::string(record.path),
               std::string(record.user_agent),
               record.status,
               record.bytes,
               record.request_time_seconds,
               record.upstream_response_time_seconds,
               record.upstream_attempts};
}

std::vector<Owned> ParseAll(AccessLogParser& parser, const std::vector<std::string>& lines) {
  std::vector<Owned> records;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto record = parser.Parse(lines[i]);
    EXPECT_TRUE(record) << "line " << i + 1 << ": " << record.error().message;
    records.push_back(record ? Own(*record) : Owned{});
  }
  return records;
}

AccessLogParser MustParser(Result<AccessLogParser> parser) {
  EXPECT_TRUE(parser) << parser.error().message;
  return std::move(*parser);
}

AccessLogFieldMap IngressDocsJsonMap() {
  // The keys of ingress-nginx's documented JSON log format (json_default_escape.log).
  AccessLogFieldMap map;
  map.host = "vhost";
  map.request = "";
  map.method = "method";
  map.path = "path";
  map.bytes = "bytes_sent";
  map.user_agent = "http_user_agent";
  return map;
}

TEST(AccessLogParserTest, ParsesCombinedWithTimes) {
  auto parser = MustParser(AccessLogParser::ForLogFormat(kCombinedWithTimesLogFormat));
  const auto lines = FixtureLines("combined_times.log");
  ASSERT_EQ(lines.size(), kCapturedRequests);
  const auto records = ParseAll(parser, lines);

  // 5: "GET /api/users/12345/orders/987?page=2&sort=desc HTTP/1.1" 200 74 "-" "curl/capture" 0.004 0.004
  EXPECT_EQ(records[4].remote_addr, "127.0.0.1");
  EXPECT_EQ(records[4].host, "");  // combined has no host
  EXPECT_EQ(records[4].method, "GET");
  EXPECT_EQ(records[4].path, "/api/users/12345/orders/987");
  EXPECT_EQ(records[4].status, 200);
  EXPECT_EQ(records[4].bytes, 74u);
  EXPECT_DOUBLE_EQ(records[4].request_time, 0.004);
  EXPECT_EQ(records[4].upstream, 0.004);
  EXPECT_EQ(records[4].attempts, 1u);
  EXPECT_EQ(records[4].user_agent, "curl/capture");

  // 1: no upstream ("-").
  EXPECT_EQ(records[0].path, "/healthz");
  EXPECT_EQ(records[0].upstream, std::nullopt);
  EXPECT_EQ(records[0].attempts, 0u);
  // 10, 11: the slow handler (150 and 420 ms).
  EXPECT_DOUBLE_EQ(records[9].request_time, 0.154);
  EXPECT_EQ(records[9].upstream, 0.153);
  EXPECT_DOUBLE_EQ(records[10].request_time, 0.422);
  EXPECT_EQ(records[9].path, "/api/slow");
  // 12-15: POST, PUT, DELETE, HEAD (no body).
  EXPECT_EQ(records[11].method, "POST");
  EXPECT_EQ(records[12].method, "PUT");
  EXPECT_EQ(records[13].method, "DELETE");
  EXPECT_EQ(records[14].method, "HEAD");
  EXPECT_EQ(records[14].bytes, 0u);
  // 16: a 404 from nginx itself; 19: a 503 from the backend.
  EXPECT_EQ(records[15].status, 404);
  EXPECT_EQ(records[18].status, 503);
  // 21: "0.000, 0.000": the dead server, then the live one; 24: "0.001 : 0.000", an internal redirect.
  EXPECT_EQ(records[20].upstream, 0.0);
  EXPECT_EQ(records[20].attempts, 2u);
  EXPECT_EQ(records[22].attempts, 2u);
  EXPECT_EQ(records[23].upstream, 0.001);
  EXPECT_EQ(records[23].attempts, 2u);
  // 27-29: \x22 and \x5C escapes undone; the query goes.
  EXPECT_EQ(records[26].path, "/api/search");
  EXPECT_EQ(records[27].path, "/api/say\"hi\"/now");
  EXPECT_EQ(records[28].path, "/api/back\\slash");
  // 30: percent-encoding is kept.
  EXPECT_EQ(records[29].path, "/api/caf%c3%a9/%c3%bcn%c3%afcode/%c3%9f");
  // 32: a user agent with quotes, UTF-8 and a backslash, all \xHH-escaped by nginx.
  EXPECT_EQ(records[31].user_agent,
            "Mozilla/5.0 (X11; Linux x86_64) \"quoted\" \xC3\xBCn\xC3\xAF"
            "code \\back");
  // 36: absolute-form target.
  EXPECT_EQ(records[35].path, "/api/users/11");
  // 37: "OPTIONS * HTTP/1.1", rejected by nginx (400, no user agent logged).
  EXPECT_EQ(records[36].method, "OPTIONS");
  EXPECT_EQ(records[36].path, "*");
  EXPECT_EQ(records[36].status, 400);
  EXPECT_EQ(records[36].user_agent, "");
  // 38: a 20 000-byte path; 39: 40 000 bytes, nginx's 414, logged only as far as its 32 KiB header buffer
  // (large_client_header_buffers 4 32k) held it: "GET " and 32 764 bytes of path, no protocol.
  EXPECT_EQ(records[37].path, "/api/long/" + std::string(20000, 'a'));
  EXPECT_EQ(records[38].status, 414);
  EXPECT_EQ(records[38].path, "/api/long/" + std::string(32768 - 4 - 10, 'b'));
  // 41: a TLS ClientHello on the plain port: counted (status 400) without method or path.
  EXPECT_EQ(records[40].status, 400);
  EXPECT_EQ(records[40].method, "");
  EXPECT_EQ(records[40].path, "");
  // 42: control bytes and a stray 0xFF in the path come back as bytes.
  EXPECT_EQ(records[41].path, "/api/ctl\x01\x7F\xFF");
  // 43, 44: raw UTF-8 in the request line (answered, then a client that left: 499).
  EXPECT_EQ(records[42].path, "/api/caf\xC3\xA9/\xE2\x9C\x93/7");
  EXPECT_EQ(records[43].status, 499);
}

TEST(AccessLogParserTest, AllFormatsOfOneRequestAgree) {
  auto combined = MustParser(AccessLogParser::ForLogFormat(kCombinedWithTimesLogFormat));
  auto ingress = MustParser(AccessLogParser::ForLogFormat(kIngressNginxLogFormat));
  auto json = MustParser(AccessLogParser::ForJson(AccessLogFieldMap{}));
  auto json_docs = MustParser(AccessLogParser::ForJson(IngressDocsJsonMap()));
  const auto expected = ParseAll(combined, FixtureLines("combined_times.log"));
  const auto from_ingress = ParseAll(ingress, FixtureLines("upstreaminfo.log"));
  const auto from_json = ParseAll(json, FixtureLines("json_vars.log"));
  const auto from_docs = ParseAll(json_docs, FixtureLines("json_default_escape.log"));
  ASSERT_EQ(from_ingress.size(), kCapturedRequests);
  ASSERT_EQ(from_json.size(), kCapturedRequests);
  ASSERT_EQ(from_docs.size(), kCapturedRequests);
  for (size_t i = 0; i < kCapturedRequests; ++i) {
    SCOPED_TRACE("line " + std::to_string(i + 1));
    for (const Owned* other : {&from_ingress[i], &from_json[i], &from_docs[i]}) {
      EXPECT_EQ(other->status, expected[i].status);
      // The documented JSON format has no $request: for requests nginx rejected before parsing them (400,
      // 414) its $request_method is "-".
      const bool rejected = expected[i].status == 400 || expected[i].status == 414;
      if (other != &from_docs[i] || !rejected) {
        EXPECT_EQ(other->method, expected[i].method);
      }
      EXPECT_EQ(other->request_time, expected[i].request_time);
      EXPECT_EQ(other->upstream, expected[i].upstream);
      EXPECT_EQ(other->attempts, expected[i].attempts);
      EXPECT_EQ(other->user_agent, expected[i].user_agent);
      EXPECT_EQ(other->remote_addr, "127.0.0.1");
    }
    // Same variables ($request, $body_bytes_sent): same values.
    EXPECT_EQ(from_ingress[i].path, expected[i].path);
    EXPECT_EQ(from_json[i].path, expected[i].path);
    EXPECT_EQ(from_ingress[i].bytes, expected[i].bytes);
    EXPECT_EQ(from_json[i].bytes, expected[i].bytes);
    // $bytes_sent counts the response header too (none for the client that left: 499).
    if (expected[i].status == 499) {
      EXPECT_EQ(from_docs[i].bytes, 0u);
    } else {
      EXPECT_GT(from_docs[i].bytes, expected[i].bytes);
    }
  }
  // $host: the Host header without port, else the server name (the 400s never read a Host header).
  EXPECT_EQ(from_json[0].host, "127.0.0.1");
  EXPECT_EQ(from_json[32].host, "shop.example.com");
  EXPECT_EQ(from_json[33].host, "other.example.org");
  EXPECT_EQ(from_docs[33].host, "other.example.org");
  EXPECT_EQ(from_json[40].host, "shop.example.com");
}

TEST(AccessLogParserTest, JsonWithDefaultEscapingUsesDecodedUri) {
  // $uri is percent-decoded and normalized by nginx, and \xHH-escaped in a JSON format without escape=json.
  auto parser = MustParser(AccessLogParser::ForJson(IngressDocsJsonMap()));
  const auto records = ParseAll(parser, FixtureLines("json_default_escape.log"));
  ASSERT_EQ(records.size(), kCapturedRequests);
  EXPECT_EQ(records[27].path, "/api/say\"hi\"/now");
  EXPECT_EQ(records[28].path, "/api/back\\slash");
  EXPECT_EQ(records[29].path,
            "/api/caf\xC3\xA9/\xC3\xBCn\xC3\xAF"
            "code/\xC3\x9F");
  EXPECT_EQ(records[30].path, "/api/caf\xC3\xA9/\xE2\x9C\x93");
  // 39 (414) and 41 (TLS junk): nginx logs "-" for $uri and $request_method.
  EXPECT_EQ(records[38].status, 414);
  EXPECT_EQ(records[38].path, "");
  EXPECT_EQ(records[40].method, "");
}

TEST(AccessLogParserTest, JsonEscapesAsNginxWritesThem) {
  auto parser = MustParser(AccessLogParser::ForJson(AccessLogFieldMap{}));
  const auto lines = FixtureLines("json_vars.log");
  // escape=json: \" and \\ in strings, raw UTF-8, \u00XX for control bytes, raw bytes >= 0x7f.
  auto quoted = parser.Parse(lines[27]);
  ASSERT_TRUE(quoted) << quoted.error().message;
  EXPECT_EQ(quoted->path, "/api/say\"hi\"/now");
  auto agent = parser.Parse(lines[31]);
  ASSERT_TRUE(agent) << agent.error().message;
  EXPECT_EQ(agent->user_agent,
            "Mozilla/5.0 (X11; Linux x86_64) \"quoted\" \xC3\xBCn\xC3\xAF"
            "code \\back");
  auto control = parser.Parse(lines[41]);  // "request":"GET /api/ctl\u0001\x7f\xff HTTP/1.1", method ""
  ASSERT_TRUE(control) << control.error().message;
  EXPECT_EQ(control->method, "GET");
  EXPECT_EQ(control->path, "/api/ctl\x01\x7F\xFF");

  // Escapes nginx does not write but JSON allows, spliced into a captured line.
  std::string line = lines[2];
  const std::string agent_value = "\"curl/capture\"";
  line.replace(line.find(agent_value), agent_value.size(), "\"\\ud83d\\ude00 \\u00e9 \\/ \\t \\ud800x\"");
  auto spliced = parser.Parse(line);
  ASSERT_TRUE(spliced) << spliced.error().message;
  EXPECT_EQ(spliced->user_agent, "\xF0\x9F\x98\x80 \xC3\xA9 / \t \xEF\xBF\xBDx");
}

TEST(AccessLogParserTest, JsonValueKindsAndLayout) {
  auto parser = MustParser(AccessLogParser::ForJson(AccessLogFieldMap{}));
  std::string line = FixtureLines("json_vars.log")[3];  // /api/users/12345, "status":200
  auto replace = [](std::string text, const std::string& from, const std::string& to) {
    size_t pos = text.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return text.replace(pos, from.size(), to);
  };
  // A string status, white space, a nested object, and null for an optional field.
  std::string variant = replace(line, "\"status\":200", " \"status\" : \"200\" ");
  variant = replace(variant, "{", "{\"extra\":{\"a\":[1,{\"b\":\"}\"}]},");
  variant = replace(variant, "\"http_user_agent\":\"curl/capture\"", "\"http_user_agent\":null");
  const std::string padded = variant + "  ";  // the record's views point into the line: keep it alive
  auto record = parser.Parse(padded);
  ASSERT_TRUE(record) << record.error().message;
  EXPECT_EQ(record->status, 200);
  EXPECT_EQ(record->user_agent, "");
  EXPECT_EQ(record->path, "/api/users/12345");

  // A missing required key, an object where a number belongs, trailing junk, a truncated line.
  auto missing = parser.Parse(replace(line, "\"status\":200,", ""));
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("no status"));
  auto object = parser.Parse(replace(line, "\"status\":200", "\"status\":{}"));
  ASSERT_FALSE(object);
  EXPECT_THAT(object.error().message, HasSubstr("field status"));
  EXPECT_FALSE(parser.Parse(line + "}"));
  for (size_t length = 0; length < line.size(); ++length) {
    EXPECT_FALSE(parser.Parse(std::string_view(line).substr(0, length))) << length;
  }
}

TEST(AccessLogParserTest, RejectsLongLinesAndJunk) {
  auto parser = MustParser(AccessLogParser::ForLogFormat(kCombinedWithTimesLogFormat));
  const auto lines = FixtureLines("combined_times.log");
  // A 1 MB line: a clean error before any parsing.
  std::string huge = lines[3];
  huge.insert(huge.find(" HTTP/1.1"), std::string(1 << 20, 'x'));
  auto too_long = parser.Parse(huge);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(too_long.error().message, HasSubstr("65536-byte limit"));
  // Binary junk: every byte value.
  std::string junk;
  for (int i = 0; i < 256; ++i) junk += static_cast<char>(i);
  EXPECT_FALSE(parser.Parse(junk));
  EXPECT_FALSE(parser.Parse(""));
  // A line of another format: a JSON line for the text parser, and a text line for the JSON parser.
  auto json_line = parser.Parse(FixtureLines("json_vars.log")[3]);
  ASSERT_FALSE(json_line);
  EXPECT_THAT(json_line.error().message, HasSubstr("column 1"));
  auto json = MustParser(AccessLogParser::ForJson(AccessLogFieldMap{}));
  EXPECT_FALSE(json.Parse(lines[3]));
  // The still-good parser parses the next good line.
  auto next = parser.Parse(lines[3]);
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->path, "/api/users/12345");
}

TEST(AccessLogParserTest, TruncatedTextLinesAreErrorsUntilTheLastField) {
  auto parser = MustParser(AccessLogParser::ForLogFormat(kIngressNginxLogFormat));
  const std::string line = FixtureLines("upstreaminfo.log")[20];  // the retried request
  const size_t last_field = line.rfind(' ') + 1;                  // $req_id
  for (size_t length = 0; length < line.size(); ++length) {
    auto record = parser.Parse(std::string_view(line).substr(0, length));
    // A cut inside $req_id (the last, ignored, variable) still gives the same record.
    EXPECT_EQ(static_cast<bool>(record), length >= last_field) << length;
  }
}

TEST(AccessLogParserTest, BadFieldValuesNameTheField) {
  auto parser = MustParser(AccessLogParser::ForLogFormat(kCombinedWithTimesLogFormat));
  const std::string line = FixtureLines("combined_times.log")[20];  // ... 200 41 "-" "curl/capture" 0.001 0.000, 0.000
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string text = line;
    size_t pos = text.rfind(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return text.replace(pos, from.size(), to);
  };
  auto status = parser.Parse(replace(" 200 41 ", " 2000 41 "));
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message, HasSubstr("field status"));
  auto time = parser.Parse(replace(" 0.001 0.000", " -0.001 0.000"));
  ASSERT_FALSE(time);
  EXPECT_THAT(time.error().message, HasSubstr("field request_time"));
  auto upstream = parser.Parse(replace("0.000, 0.000", "0.000,0.000"));
  ASSERT_FALSE(upstream);
  auto nan = parser.Parse(replace("0.000, 0.000", "nan"));
  ASSERT_FALSE(nan);
  EXPECT_THAT(nan.error().message, HasSubstr("field upstream_response_time"));
}

TEST(AccessLogParserTest, CompilesCustomFormatsAndRejectsAmbiguousOnes) {
  // Variables in ${} form and a host; $bytes_sent is used only when $body_bytes_sent is absent.
  auto custom = AccessLogParser::ForLogFormat("${host} $status $bytes_sent $request_time \"$request\"");
  ASSERT_TRUE(custom) << custom.error().message;
  EXPECT_EQ(custom->Describe(),
            "log_format variables: host=$host status=$status bytes=$bytes_sent request_time=$request_time "
            "request=$request");
  auto both = AccessLogParser::ForLogFormat("$status $bytes_sent $body_bytes_sent $request_time $request_uri");
  ASSERT_TRUE(both);
  EXPECT_THAT(both->Describe(), HasSubstr("bytes=$body_bytes_sent"));

  auto adjacent = AccessLogParser::ForLogFormat("$status$request_time $request");
  ASSERT_FALSE(adjacent);
  EXPECT_THAT(adjacent.error().message, HasSubstr("not separated"));
  EXPECT_FALSE(AccessLogParser::ForLogFormat("$request $request_time"));  // no $status
  EXPECT_FALSE(AccessLogParser::ForLogFormat("$request $status"));        // no $request_time
  EXPECT_FALSE(AccessLogParser::ForLogFormat("$status $request_time"));   // no request
  EXPECT_FALSE(AccessLogParser::ForLogFormat("$status $request_time $request $"));
  EXPECT_FALSE(AccessLogParser::ForLogFormat("$status $request_time ${request"));
  EXPECT_FALSE(AccessLogParser::ForLogFormat(""));

  AccessLogFieldMap duplicate;
  duplicate.path = "request";
  auto json = AccessLogParser::ForJson(duplicate);
  ASSERT_FALSE(json);
  EXPECT_THAT(json.error().message, HasSubstr("mapped to both"));
  AccessLogFieldMap no_status;
  no_status.status = "";
  EXPECT_FALSE(AccessLogParser::ForJson(no_status));
}

TEST(SplitRequestLineTest, SplitsMethodAndPath) {
  std::string_view method;
  std::string_view path;
  SplitRequestLine("GET /a/b?c=d HTTP/1.1", method, path);
  EXPECT_EQ(method, "GET");
  EXPECT_EQ(path, "/a/b");
  SplitRequestLine("GET /old", method, path);  // HTTP/0.9
  EXPECT_EQ(path, "/old");
  SplitRequestLine("PROPFIND /dav/x#frag HTTP/2.0", method, path);
  EXPECT_EQ(method, "PROPFIND");
  EXPECT_EQ(path, "/dav/x");
  SplitRequestLine("GET https://example.com HTTP/1.1", method, path);
  EXPECT_EQ(path, "/");
  SplitRequestLine("GET http://example.com?x HTTP/1.1", method, path);
  EXPECT_EQ(path, "/");
  SplitRequestLine("get /lower HTTP/1.1", method, path);
  EXPECT_EQ(method, "");
  EXPECT_EQ(path, "");
  SplitRequestLine("", method, path);
  EXPECT_EQ(method, "");
}

}  // namespace
}  // namespace topdog::exporter
