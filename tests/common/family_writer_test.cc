#include "common/exposition/family_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "common/exposition/text_writer.h"

namespace topdog::exposition {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type) { return {name, help, type, {}}; }

void AddSample(MetricFamily& family, double value, std::vector<prometheus::ClientMetric::Label> labels = {}) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  FamilyWriter::SetValue(metric, family.type, value);
  family.metric.push_back(std::move(metric));
}

std::string Render(const std::vector<MetricFamily>& families) {
  std::string out;
  AppendFamilies(out, families, Format::kText004);
  return out;
}

// The same families through the one-off builders.
std::vector<MetricFamily> Expected() {
  std::vector<MetricFamily> out;
  out.push_back(
      Family("node_network_receive_bytes_total", "Network device statistic receive_bytes.", MetricType::Counter));
  AddSample(out.back(), 10, {{"device", "eth0"}});
  AddSample(out.back(), 20, {{"device", "a-rather-long-interface-name"}});
  out.push_back(Family("node_load1", "1m load average.", MetricType::Gauge));
  AddSample(out.back(), 0.5);
  return out;
}

void Write(FamilyWriter& writer) {
  size_t bytes = writer.Counter("node_network_receive_bytes_total", "Network device statistic receive_bytes.");
  size_t load = writer.Gauge("node_load1", "1m load average.");
  writer.Sample(bytes, 10, {{"device", "eth0"}});
  writer.Sample(load, 0.25);
  writer.Sample(bytes, 20, {{"device", "a-rather-long-interface-name"}});
  writer.SetValue(load, 0, 0.5);
}

TEST(FamilyWriterTest, FreshWriterBuildsWhatTheBuildersBuild) {
  FamilyWriter writer;
  Write(writer);
  EXPECT_EQ(writer.FamilyCount(), 2u);
  EXPECT_EQ(writer.SampleCount(0), 2u);
  auto families = std::move(writer).Finish();
  EXPECT_EQ(Render(families), Render(Expected()));
  EXPECT_EQ(families[0].type, MetricType::Counter);
  EXPECT_EQ(families[0].metric[1].label[0].value, "a-rather-long-interface-name");
}

TEST(FamilyWriterTest, RecycledStorageOfAnyShapeGivesTheSameResult) {
  // More families, more samples, more labels and other types than the next result needs.
  std::vector<MetricFamily> recycled;
  for (int i = 0; i < 4; ++i) {
    recycled.push_back(
        Family("node_vmstat_some_long_field_name_" + std::to_string(i), "help text", MetricType::Untyped));
    for (int j = 0; j < 3; ++j) {
      AddSample(recycled.back(), j, {{"a", "x"}, {"b", "y"}, {"c", std::string(40, 'z')}});
    }
  }
  FamilyWriter writer(std::move(recycled));
  Write(writer);
  auto families = std::move(writer).Finish();
  ASSERT_EQ(families.size(), 2u);
  EXPECT_EQ(families[1].metric.size(), 1u);
  EXPECT_EQ(families[1].metric[0].label.size(), 0u);
  EXPECT_EQ(Render(families), Render(Expected()));
  // Fewer families and samples than needed: grown as required.
  FamilyWriter small(std::vector<MetricFamily>(1));
  Write(small);
  EXPECT_EQ(Render(std::move(small).Finish()), Render(Expected()));
}

TEST(FamilyWriterTest, SameShapeAgainReusesTheStorage) {
  FamilyWriter first;
  Write(first);
  auto families = std::move(first).Finish();
  const char* long_label = families[0].metric[1].label[0].value.data();
  const prometheus::ClientMetric* samples = families[0].metric.data();
  const char* help = families[0].help.data();
  FamilyWriter second(std::move(families));
  Write(second);
  auto again = std::move(second).Finish();
  EXPECT_EQ(again[0].metric.data(), samples);
  EXPECT_EQ(again[0].metric[1].label[0].value.data(), long_label);
  EXPECT_EQ(again[0].help.data(), help);
  EXPECT_EQ(Render(again), Render(Expected()));
}

TEST(FamilyWriterTest, FamiliesWithoutSamplesStayButAreNotRendered) {
  FamilyWriter writer;
  writer.Gauge("node_disk_ata_write_cache", "ATA disk has a write cache.");
  size_t load = writer.Gauge("node_load1", "1m load average.");
  writer.Sample(load, 1);
  auto families = std::move(writer).Finish();
  ASSERT_EQ(families.size(), 2u);
  EXPECT_TRUE(families[0].metric.empty());
  EXPECT_EQ(Render(families), "# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 1\n");
}

TEST(FamilyWriterTest, HistogramSamplesOverRecycledStorage) {
  const uint64_t counts[] = {1, 3, 4};
  const double bounds[] = {0.1, 1, std::numeric_limits<double>::infinity()};
  const FamilyWriter::Label labels[] = {{"handler", "/metrics"}};
  std::vector<MetricFamily> recycled;
  for (int round = 0; round < 2; ++round) {
    FamilyWriter writer(std::move(recycled));
    size_t durations = writer.Add("test_duration_seconds", "Durations.", MetricType::Histogram);
    writer.HistogramSample(durations, labels, 4, 2.5, counts, bounds);
    recycled = std::move(writer).Finish();
    EXPECT_EQ(Render(recycled),
              "# HELP test_duration_seconds Durations.\n# TYPE test_duration_seconds histogram\n"
              "test_duration_seconds_bucket{handler=\"/metrics\",le=\"0.1\"} 1\n"
              "test_duration_seconds_bucket{handler=\"/metrics\",le=\"1\"} 3\n"
              "test_duration_seconds_bucket{handler=\"/metrics\",le=\"+Inf\"} 4\n"
              "test_duration_seconds_sum{handler=\"/metrics\"} 2.5\n"
              "test_duration_seconds_count{handler=\"/metrics\"} 4\n")
        << "round " << round;
  }
}

}  // namespace
}  // namespace topdog::exposition
