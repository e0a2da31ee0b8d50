#include "advisor/core/history.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace topdog::advisor {
namespace {

TEST(HistoryStoreTest, KeepsTheNewestRingOfStepsWithGaps) {
  HistoryStore store(60, 5, 10);
  ASSERT_TRUE(store.Add("a", 600, 1));
  ASSERT_TRUE(store.Add("a", 659, 2));  // same step: the last value wins
  ASSERT_TRUE(store.Add("a", 780, 4));  // step 13: step 12 is a gap
  auto series = store.Get("a");
  ASSERT_TRUE(series);
  EXPECT_EQ(series->step_seconds, 60);
  EXPECT_EQ(series->start_seconds, 9 * 60);  // steps 9..13
  ASSERT_EQ(series->values.size(), 5u);
  EXPECT_TRUE(std::isnan(series->values[0]));
  EXPECT_EQ(series->values[1], 2);  // step 10
  EXPECT_TRUE(std::isnan(series->values[3]));
  EXPECT_EQ(series->values[4], 4);
  // Far ahead: the whole ring is gaps but the newest value; older samples are dropped.
  ASSERT_TRUE(store.Add("a", 60 * 100, 7));
  ASSERT_TRUE(store.Add("a", 60 * 95, 99));  // older than the ring: dropped
  series = store.Get("a");
  EXPECT_EQ(series->start_seconds, 96 * 60);
  EXPECT_EQ(series->values[4], 7);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(std::isnan(series->values[i])) << i;
  EXPECT_FALSE(store.Get("b"));
}

TEST(HistoryStoreTest, FootprintIsBoundedBySeriesAndPoints) {
  HistoryStore store(60, 1440, 2);
  ASSERT_TRUE(store.Add("a", 0, 1));
  ASSERT_TRUE(store.Add("b", 0, 1));
  auto third = store.Add("c", 0, 1);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().kind, ErrorKind::kRejected);
  EXPECT_EQ(store.ValueBytes(), 2u * 1440 * sizeof(float));
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(store.Add("a", 60.0 * i, i));
  EXPECT_EQ(store.ValueBytes(), 2u * 1440 * sizeof(float));
  EXPECT_FALSE(store.Add("a", std::nan(""), 1));
}

TEST(HistoryStoreTest, SnapshotRoundTripsAndRefusesDamage) {
  HistoryStore store(60, 8, 4);
  ASSERT_TRUE(store.Add("rps{service=\"web\"}", 1700000000, 12.5));
  ASSERT_TRUE(store.Add("rps{service=\"web\"}", 1700000120, 13.5));
  ASSERT_TRUE(store.Add("cpu", 1700000060, 0.25));
  std::string bytes = store.Encode();
  auto restored = HistoryStore::Decode(bytes);
  ASSERT_TRUE(restored) << restored.error().message;
  EXPECT_EQ(restored->Keys(), store.Keys());
  auto a = store.Get("rps{service=\"web\"}"), b = restored->Get("rps{service=\"web\"}");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->start_seconds, b->start_seconds);
  for (size_t i = 0; i < a->values.size(); ++i) {
    EXPECT_TRUE(a->values[i] == b->values[i] || (std::isnan(a->values[i]) && std::isnan(b->values[i]))) << i;
  }
  // A restored store goes on where it stopped.
  ASSERT_TRUE(restored->Add("cpu", 1700000180, 0.5));
  EXPECT_EQ(restored->Get("cpu")->values.back(), 0.5);

  auto truncated = HistoryStore::Decode(std::string_view(bytes).substr(0, bytes.size() - 5));
  ASSERT_FALSE(truncated);
  EXPECT_NE(truncated.error().message.find("checksum"), std::string::npos) << truncated.error().message;
  std::string flipped = bytes;
  flipped[40] ^= 1;
  EXPECT_FALSE(HistoryStore::Decode(flipped));
  auto other = HistoryStore::Decode("not a snapshot at all");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message, "history snapshot: not a topdog history snapshot");
}

TEST(HistoryStoreTest, DecodesASnapshotWrittenIndependently) {
  // Built with Python's struct module from the format description (tests/fuzz/seeds/PROVENANCE.md).
  std::ifstream in(std::string(TOPDOG_SOURCE_DIR) + "/tests/fuzz/seeds/history_snapshot/two_series.bin",
                   std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto store = HistoryStore::Decode(bytes);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(store->Keys(), (std::vector<std::string>{"a", "b{x=\"y\"}"}));
  auto a = store->Get("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->start_seconds, 97 * 60);  // steps 97..100, slots 97%4=1, 2, 3, 0
  ASSERT_EQ(a->values.size(), 4u);
  EXPECT_EQ(a->values[0], 2.0);
  EXPECT_TRUE(std::isnan(a->values[1]));
  EXPECT_EQ(a->values[2], 4.0);
  EXPECT_EQ(a->values[3], 1.0);
  EXPECT_EQ(store->Encode(), bytes);
}

}  // namespace
}  // namespace topdog::advisor
