// Every collector, given back an earlier result (its own or another collector's) through Recycle, writes
// the same families as a fresh collector does.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/exposition/text_writer.h"
#include "exporter/collectors/collectors.h"
#include "exporter/collectors/registry.h"
#include "tests/fakes/fake_system.h"
#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using testing::FakeSystem;
using testing::LoadFixtureTree;

std::string Render(const std::vector<MetricFamily>& families) {
  std::string out;
  exposition::AppendFamilies(out, families, exposition::Format::kText004);
  return out;
}

class RecycleTest : public ::testing::TestWithParam<NodeExporterCompat> {
 protected:
  RecycleTest() : reader_(LoadFixtureTree("host-6.18")) {
    system_.statfs["/"] = StatfsInfo{4096, 1000, 500, 400, 100, 50};
    options_.compat = GetParam();
    options_.cpu_info = true;
  }

  std::unique_ptr<Collector> New(const CollectorInfo& info) {
    auto collector = info.factory(CollectorDeps{reader_, system_, options_});
    EXPECT_TRUE(collector) << info.name << ": " << collector.error().message;
    return collector ? std::move(*collector) : nullptr;
  }

  InMemoryFileReader reader_;
  FakeSystem system_;
  CollectorOptions options_;
};

TEST_P(RecycleTest, RecycledResultsGiveWhatAFreshCollectorGives) {
  const auto& known = KnownCollectors();
  auto meminfo_info = std::find_if(known.begin(), known.end(), [](const CollectorInfo& c) { return c.name == "meminfo"; });
  ASSERT_NE(meminfo_info, known.end());
  auto meminfo = New(*meminfo_info);
  for (const CollectorInfo& info : known) {
    if (!info.enabled_by_default) continue;  // they need flags (paths, URLs); their own tests recycle them
    auto fresh = New(info);
    auto recycling = New(info);
    ASSERT_TRUE(fresh && recycling);
    auto expected = fresh->Collect();
    ASSERT_TRUE(expected) << info.name << ": " << expected.error().message;
    ASSERT_FALSE(Render(*expected).empty()) << info.name;

    // Its own earlier result, twice over (the steady state), then another collector's.
    auto first = recycling->Collect();
    ASSERT_TRUE(first) << info.name;
    recycling->Recycle(std::move(*first));
    auto second = recycling->Collect();
    ASSERT_TRUE(second) << info.name;
    EXPECT_EQ(Render(*second), Render(*expected)) << info.name;
    recycling->Recycle(std::move(*second));
    auto third = recycling->Collect();
    ASSERT_TRUE(third) << info.name;
    EXPECT_EQ(Render(*third), Render(*expected)) << info.name;
    auto other = meminfo->Collect();
    ASSERT_TRUE(other);
    recycling->Recycle(std::move(*other));
    auto fourth = recycling->Collect();
    ASSERT_TRUE(fourth) << info.name;
    EXPECT_EQ(Render(*fourth), Render(*expected)) << info.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Compat, RecycleTest, ::testing::Values(NodeExporterCompat::kV1_12, NodeExporterCompat::kV1_5),
                         [](const auto& info) { return info.param == NodeExporterCompat::kV1_12 ? "v1_12" : "v1_5"; });

}  // namespace
}  // namespace topdog::exporter
