#include "exporter/parse/route_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "exporter/parse/access_log.h"
#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::HasSubstr;
using testing::ReadFixture;

// The request paths of the captured combined log, in order (tests/fixtures/gateway).
std::vector<std::string> CapturedPaths() {
  auto parser = AccessLogParser::ForLogFormat(kCombinedWithTimesLogFormat);
  EXPECT_TRUE(parser);
  const std::string text = ReadFixture("gateway/combined_times.log");
  std::vector<std::string> paths;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    auto record = parser->Parse(std::string_view(text).substr(start, end - start));
    EXPECT_TRUE(record) << record.error().message;
    paths.emplace_back(record ? record->path : "");
    start = end + 1;
  }
  return paths;
}

RouteTemplater MustTemplater(RouteTemplateOptions options) {
  auto templater = RouteTemplater::Create(std::move(options));
  EXPECT_TRUE(templater) << templater.error().message;
  return std::move(*templater);
}

bool IsValidUtf8(std::string_view text) {
  std::string sanitized;
  AppendUtf8Sanitized(text, sanitized);
  return sanitized == text;
}

TEST(RouteTemplaterTest, CollapsesIdsUuidsAndHashesOfCapturedPaths) {
  RouteTemplateOptions options;
  options.prefix_rules.push_back({"/static/", "/static/*"});
  const RouteTemplater templater = MustTemplater(options);
  const auto paths = CapturedPaths();
  ASSERT_EQ(paths.size(), 45u);
  const std::pair<size_t, std::string> expected[] = {
      {1, "/healthz"},
      {4, "/api/users/:id"},
      {5, "/api/users/:id/orders/:id"},
      {6, "/api/items/:uuid"},
      {7, "/api/items/:uuid/reviews"},  // upper-case UUID
      {8, "/api/blobs/:hash"},          // sha256
      {9, "/api/commits/:hash"},        // 16 hex digits
      {10, "/api/slow"},                // query stripped
      {16, "/does/not/exist"},
      {17, "/static/*"},
      {18, "/static/*"},
      {28, "/api/say\"hi\"/now"},
      {30, "/api/caf%c3%a9/%c3%bcn%c3%afcode/%c3%9f"},  // percent-encoding left as is
      {36, "/api/users/:id"},                           // absolute-form target
      {37, "*"},                                        // OPTIONS *
      {38, "/api/long/:hash"},                          // 20 000 'a's are hex digits too
      {41, "/"},                                        // no path (TLS junk)
      {42, "/api/ctl%01%7F%FF"},                        // control bytes and invalid UTF-8 encoded
      {43, "/api/caf\xC3\xA9/\xE2\x9C\x93/:id"},        // raw UTF-8 kept
  };
  for (const auto& [line, route] : expected) {
    EXPECT_EQ(templater.Template(paths[line - 1]), route) << "line " << line;
  }
  RouteTemplateOptions short_options;
  short_options.max_route_bytes = 24;
  const RouteTemplater short_routes = MustTemplater(short_options);
  for (const std::string& path : paths) {
    const std::string route = templater.Template(path);
    EXPECT_LE(route.size(), 128u);
    EXPECT_TRUE(IsValidUtf8(route)) << route;
    const std::string short_route = short_routes.Template(path);
    EXPECT_LE(short_route.size(), 24u);
    EXPECT_TRUE(IsValidUtf8(short_route)) << short_route;
  }
  EXPECT_EQ(short_routes.Template(paths[4]), "/api/users/:id/orders/*");  // line 5, 25 bytes in full
}

TEST(RouteTemplaterTest, LongestPrefixWinsWhateverTheOrder) {
  RouteTemplateOptions options;
  options.prefix_rules = {{"/api/", "/api/*"}, {"/api/users/", "/api/users/*"}, {"/api", "/api-ish"}};
  const RouteTemplater forward = MustTemplater(options);
  std::reverse(options.prefix_rules.begin(), options.prefix_rules.end());
  const RouteTemplater backward = MustTemplater(options);
  for (const RouteTemplater* templater : {&forward, &backward}) {
    EXPECT_EQ(templater->Template("/api/users/12345"), "/api/users/*");
    EXPECT_EQ(templater->Template("/api/items/1"), "/api/*");
    EXPECT_EQ(templater->Template("/apix"), "/api-ish");
    EXPECT_EQ(templater->Template("/healthz?x=/api/"), "/healthz");
  }
}

TEST(RouteTemplaterTest, SegmentRulesAreExact) {
  const RouteTemplater templater = MustTemplater({});
  EXPECT_EQ(templater.Template(""), "/");
  EXPECT_EQ(templater.Template("/"), "/");
  EXPECT_EQ(templater.Template("//a//1/"), "//a//:id/");
  EXPECT_EQ(templater.Template("/v1/users/0"), "/v1/users/:id");
  EXPECT_EQ(templater.Template("/x/3f2504e0-4f89-11d3-9a0c-0305e82c330"), "/x/3f2504e0-4f89-11d3-9a0c-0305e82c330");
  EXPECT_EQ(templater.Template("/x/3f2504e04f8911d39a0c0305e82c3301"), "/x/:hash");  // UUID without dashes
  EXPECT_EQ(templater.Template("/x/1a2b3c4d5e6f7a8"), "/x/1a2b3c4d5e6f7a8");         // 15 hex digits
  EXPECT_EQ(templater.Template("/x/deadbeefcafebabe"), "/x/:hash");
  EXPECT_EQ(templater.Template("/x/12.json"), "/x/12.json");
  EXPECT_EQ(templater.Template("/a/1#frag"), "/a/:id");
}

TEST(RouteTemplaterTest, BoundsLengthAtSegmentBoundaries) {
  RouteTemplateOptions options;
  options.max_route_bytes = 16;
  const RouteTemplater templater = MustTemplater(options);
  EXPECT_EQ(templater.Template("/abc/defgh/ijklm"), "/abc/defgh/ijklm");  // exactly 16
  EXPECT_EQ(templater.Template("/abc/defgh/ijklmn"), "/abc/defgh/*");
  EXPECT_EQ(templater.Template("/" + std::string(100, 'z')), "/*");
  EXPECT_EQ(templater.Template(std::string(100, 'z')), "/*");
  // Encoding can make a short path long: "%FF" per byte.
  EXPECT_EQ(templater.Template("/ab/\xFF\xFF\xFF\xFF"), "/ab/%FF%FF%FF%FF");  // 16
  EXPECT_EQ(templater.Template("/ab/\xFF\xFF\xFF\xFF\xFF"), "/ab/*");
}

TEST(RouteTemplaterTest, CreateRejectsBadRules) {
  RouteTemplateOptions options;
  options.prefix_rules = {{"", "/x"}};
  EXPECT_FALSE(RouteTemplater::Create(options));
  options.prefix_rules = {{"/x", ""}};
  EXPECT_FALSE(RouteTemplater::Create(options));
  options.prefix_rules = {{"/x", "/bad\xFF"}};
  auto invalid = RouteTemplater::Create(options);
  ASSERT_FALSE(invalid);
  EXPECT_THAT(invalid.error().message, HasSubstr("UTF-8"));
  options.prefix_rules.clear();
  options.max_route_bytes = 4;
  EXPECT_FALSE(RouteTemplater::Create(options));
}

TEST(AppendUtf8SanitizedTest, KeepsValidUtf8AndEncodesTheRest) {
  std::string out;
  AppendUtf8Sanitized("a\xC3\xA9\xF0\x9F\x98\x80", out);
  EXPECT_EQ(out, "a\xC3\xA9\xF0\x9F\x98\x80");
  out.clear();
  // Overlong '/', a surrogate, a truncated sequence, DEL, a tab.
  AppendUtf8Sanitized("\xC0\xAF|\xED\xA0\x80|\xE2\x9C|\x7F|\t", out);
  EXPECT_EQ(out, "%C0%AF|%ED%A0%80|%E2%9C|%7F|%09");
}

TEST(TopRoutesTest, AdmitsTheFirstNAndCountsTheRest) {
  TopRoutes routes(3);
  EXPECT_EQ(routes.Label("/a"), "/a");
  EXPECT_EQ(routes.Label("/b"), "/b");
  EXPECT_EQ(routes.Label("/a"), "/a");
  EXPECT_EQ(routes.Label("/c"), "/c");
  EXPECT_EQ(routes.Label("/d"), "other");
  EXPECT_EQ(routes.Label("/d"), "other");
  EXPECT_EQ(routes.Label("/a"), "/a");  // admitted routes keep their label
  EXPECT_EQ(routes.Label("other"), "other");
  EXPECT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes.overflow_total(), 2u);

  TopRoutes none(0);
  EXPECT_EQ(none.Label("/a"), "other");
  EXPECT_EQ(none.overflow_total(), 1u);
}

TEST(TopRoutesTest, CapturedTrafficIsDeterministicAndBounded) {
  const RouteTemplater templater = MustTemplater({});
  const auto paths = CapturedPaths();
  auto run = [&] {
    TopRoutes routes(8);
    std::vector<std::string> labels;
    std::string route;
    for (const std::string& path : paths) {
      templater.Template(path, route);
      labels.emplace_back(routes.Label(route));
    }
    return std::make_pair(labels, routes.overflow_total());
  };
  const auto [labels, overflow] = run();
  EXPECT_EQ(run().first, labels);
  EXPECT_EQ(labels[0], "/healthz");
  EXPECT_EQ(labels[3], "/api/users/:id");
  EXPECT_EQ(labels[7], "/api/blobs/:hash");
  EXPECT_EQ(labels[9], "other");             // /api/slow: the 9th distinct route
  EXPECT_EQ(labels.back(), "/stub_status");  // admitted at line 2, so it keeps its label
  std::set<std::string> distinct(labels.begin(), labels.end());
  EXPECT_EQ(distinct.size(), 9u);  // 8 routes + "other"
  EXPECT_GT(overflow, 0u);
}

}  // namespace
}  // namespace topdog::exporter
