#include "common/http/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "tests/fakes/gunzip.h"

namespace topdog::http {
namespace {

using topdog::testing::Gunzip;

TEST(AcceptsGzipTest, HonoursQValues) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, GZIP;q=0.5"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_TRUE(AcceptsGzip("gzip ; q=1.0 , identity"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("identity"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0.000"));
  EXPECT_FALSE(AcceptsGzip("*, gzip;q=0"));  // an explicit refusal beats the wildcard
  EXPECT_FALSE(AcceptsGzip("*;q=0"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=bogus"));
  EXPECT_FALSE(AcceptsGzip("gzipx, br"));
}

TEST(GzipCompressTest, ProducesGzipThatInflatesToTheInput) {
  std::string input;
  for (int i = 0; i < 2000; ++i) input += "node_cpu_seconds_total{cpu=\"" + std::to_string(i % 8) + "\"} 1\n";
  auto compressed = GzipCompress(input);
  ASSERT_TRUE(compressed.has_value());
  ASSERT_GE(compressed->size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>((*compressed)[0]), 0x1f);  // gzip magic, RFC 1952
  EXPECT_EQ(static_cast<unsigned char>((*compressed)[1]), 0x8b);
  EXPECT_LT(compressed->size(), input.size() / 4);
  EXPECT_EQ(Gunzip(*compressed), input);
}

TEST(GzipCompressTest, CompressesEmptyInput) {
  auto compressed = GzipCompress("");
  ASSERT_TRUE(compressed.has_value());
  EXPECT_EQ(Gunzip(*compressed), "");
}

}  // namespace
}  // namespace topdog::http
