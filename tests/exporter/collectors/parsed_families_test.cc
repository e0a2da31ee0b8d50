// GroupFamilies: parsed text-format samples back into typed families, on real pages (node_exporter 1.5.0,
// a FastAPI app) and on the corner cases of the format.
#include "exporter/collectors/parsed_families.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>

#include "common/exposition/text_writer.h"
#include "tests/exporter/collectors/families_for_test.h"
#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::ElementsAre;
using testing::FindFamily;
using ::testing::HasSubstr;
using testing::ReadFixture;
using testing::SampleValue;

Result<std::vector<prometheus::MetricFamily>> Group(std::string_view text,
                                                    const std::function<bool(std::string_view)>& keep = nullptr) {
  auto page = exposition::ParseTextFormat(text);
  EXPECT_TRUE(page) << page.error().message;
  if (!page) return tl::unexpected(page.error());
  return GroupFamilies(*page, keep);
}

// Writing the grouped families gives back every sample line of a page written in the same canonical form.
TEST(GroupFamiliesTest, RealPagesRoundTrip) {
  for (const char* path : {"exposition/node_exporter_1.5.0_host-6.18.prom", "gateway/fastapi_metrics.prom"}) {
    std::string text = ReadFixture(path);
    auto families = Group(text);
    ASSERT_TRUE(families) << path << ": " << families.error().message;
    std::string written;
    exposition::AppendFamilies(written, *families, exposition::Format::kText004);
    auto reread = exposition::ParseTextFormat(written);
    ASSERT_TRUE(reread) << reread.error().message;
    auto original = exposition::ParseTextFormat(text);
    ASSERT_EQ(reread->samples.size(), original->samples.size()) << path;
    // Same samples, compared as sets of (name, sorted labels, value).
    auto key = [](const exposition::ParsedSample& s) {
      auto labels = s.labels;
      std::sort(labels.begin(), labels.end());
      std::string k = s.name;
      for (const auto& [n, v] : labels) {
        // Bounds are written in Go's number format (Python's le="1.0" comes back as le="1").
        std::string value = v;
        if (n == "le" || n == "quantile") {
          value.clear();
          exposition::AppendGoFloat(value, *exposition::ParseGoFloat(v));
        }
        k += "|" + n + "=" + value;
      }
      std::string value;
      exposition::AppendGoFloat(value, s.value);
      return k + " " + value;
    };
    std::multiset<std::string> a, b;
    for (const auto& s : original->samples) a.insert(key(s));
    for (const auto& s : reread->samples) b.insert(key(s));
    std::vector<std::string> differ;
    std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(differ));
    EXPECT_TRUE(differ.empty()) << path << ": " << (differ.empty() ? "" : differ.front());
  }
}

TEST(GroupFamiliesTest, TypesHistogramsSummariesAndUntyped) {
  auto families = Group(
      "# HELP rq Requests.\n# TYPE rq counter\nrq{code=\"200\"} 3\nrq{code=\"500\"} 1\n"
      "# TYPE lat histogram\nlat_bucket{path=\"/a\",le=\"1\"} 2\nlat_bucket{path=\"/a\",le=\"+Inf\"} 3\n"
      "lat_bucket{path=\"/a\",le=\"0.5\"} 1\nlat_sum{path=\"/a\"} 2.5\nlat_count{path=\"/a\"} 3\n"
      "# TYPE q summary\nq{quantile=\"0.5\"} 0.2\nq{quantile=\"0.99\"} 0.9\nq_sum 12\nq_count 40\n"
      "bare 7\nrq_created 1.7e9\n");
  ASSERT_TRUE(families) << families.error().message;
  ASSERT_EQ(families->size(), 5u);
  EXPECT_EQ((*families)[0].name, "rq");
  EXPECT_EQ((*families)[0].help, "Requests.");
  EXPECT_EQ((*families)[0].type, prometheus::MetricType::Counter);
  EXPECT_EQ(SampleValue(*families, "rq", {{"code", "500"}}), 1);
  const auto& lat = (*families)[1];
  EXPECT_EQ(lat.type, prometheus::MetricType::Histogram);
  ASSERT_EQ(lat.metric.size(), 1u);
  EXPECT_EQ(testing::LabelsOf(lat.metric[0]), (testing::LabelMap{{"path", "/a"}}));
  const auto& h = lat.metric[0].histogram;
  EXPECT_EQ(h.sample_count, 3u);
  EXPECT_EQ(h.sample_sum, 2.5);
  ASSERT_EQ(h.bucket.size(), 3u);  // sorted by bound
  EXPECT_EQ(h.bucket[0].upper_bound, 0.5);
  EXPECT_EQ(h.bucket[1].cumulative_count, 2u);
  EXPECT_TRUE(std::isinf(h.bucket[2].upper_bound));
  const auto& q = (*families)[2];
  EXPECT_EQ(q.type, prometheus::MetricType::Summary);
  ASSERT_EQ(q.metric.size(), 1u);
  EXPECT_EQ(q.metric[0].summary.sample_count, 40u);
  EXPECT_EQ(q.metric[0].summary.sample_sum, 12);
  ASSERT_EQ(q.metric[0].summary.quantile.size(), 2u);
  EXPECT_EQ(q.metric[0].summary.quantile[1].quantile, 0.99);
  EXPECT_EQ((*families)[3].name, "bare");
  EXPECT_EQ((*families)[3].type, prometheus::MetricType::Untyped);
  EXPECT_EQ((*families)[4].name, "rq_created");  // not declared: untyped of its own
}

TEST(GroupFamiliesTest, KeepFamilyIsAskedOncePerFamily) {
  std::vector<std::string> asked;
  auto families = Group(
      "# TYPE a counter\na 1\na{x=\"1\"} 2\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\n"
      "h_count 1\nb 3\n",
      [&](std::string_view name) {
        asked.emplace_back(name);
        return name != "a";
      });
  ASSERT_TRUE(families);
  EXPECT_THAT(asked, ElementsAre("a", "h", "b"));
  ASSERT_EQ(families->size(), 2u);
  EXPECT_EQ((*families)[0].name, "h");
}

TEST(GroupFamiliesTest, MalformedHistogramsAndSummariesAreErrors) {
  auto no_le = Group("# TYPE h histogram\nh_bucket{x=\"1\"} 1\n");
  ASSERT_FALSE(no_le);
  EXPECT_THAT(no_le.error().message, HasSubstr("sample h_bucket: a histogram bucket without an le label"));
  EXPECT_FALSE(Group("# TYPE h histogram\nh_bucket{le=\"NaN\"} 1\n"));
  EXPECT_FALSE(Group("# TYPE h histogram\nh_bucket{le=\"1\"} -1\n"));
  EXPECT_FALSE(Group("# TYPE h histogram\nh 1\n"));
  EXPECT_FALSE(Group("# TYPE h histogram\nh_count +Inf\n"));
  auto no_quantile = Group("# TYPE s summary\ns 1\n");
  ASSERT_FALSE(no_quantile);
  EXPECT_THAT(no_quantile.error().message, HasSubstr("without a quantile label"));
  // Without _count the +Inf bucket is the count.
  auto families = Group("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 4\n");
  ASSERT_TRUE(families);
  EXPECT_EQ((*families)[0].metric[0].histogram.sample_count, 4u);
}

}  // namespace
}  // namespace topdog::exporter
