#include "exporter/collectors/statfs_pool.h"

#include <gtest/gtest.h>

#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "tests/fakes/fake_system.h"

namespace topdog::exporter {
namespace {

using testing::HangingSystem;

using namespace std::chrono_literals;


StatfsInfo Answer(uint64_t blocks) {
  StatfsInfo st;
  st.block_size = 4096;
  st.blocks = blocks;
  return st;
}

TEST(StatfsPoolTest, ReturnsOneResultPerRequestInOrder) {
  testing::FakeSystem system;
  system.statfs["/a"] = Answer(1);
  system.statfs["/b"] = Answer(2);
  StatfsPool pool(system, 2, 5s);
  auto results = pool.StatAll({{"/a", "/a"}, {"/missing", "/missing"}, {"/b", "/b"}});
  ASSERT_EQ(results.size(), 3u);
  ASSERT_TRUE(results[0]);
  EXPECT_EQ(results[0]->blocks, 1u);
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().kind, ErrorKind::kNotFound);
  ASSERT_TRUE(results[2]);
  EXPECT_EQ(results[2]->blocks, 2u);
  EXPECT_TRUE(pool.StatAll({}).empty());
}

TEST(StatfsPoolTest, HungCallTimesOutMarksStuckAndRecoversWhenItReturns) {
  HangingSystem system;
  system.statfs["/nfs"] = Answer(7);
  system.statfs["/ok"] = Answer(1);
  system.hung = {"/nfs"};
  StatfsPool pool(system, 2, 50ms);

  auto first = pool.StatAll({{"/nfs", "/nfs"}, {"/ok", "/ok"}});
  ASSERT_FALSE(first[0]);
  EXPECT_EQ(first[0].error().kind, ErrorKind::kDeadlineExceeded);
  EXPECT_TRUE(first[1]);
  EXPECT_TRUE(pool.IsStuck("/nfs"));

  // While stuck, the mount is answered at once without a new call.
  auto second = pool.StatAll({{"/nfs", "/nfs"}, {"/ok", "/ok"}});
  ASSERT_FALSE(second[0]);
  EXPECT_EQ(second[0].error().kind, ErrorKind::kDeadlineExceeded);
  EXPECT_TRUE(second[1]);
  EXPECT_EQ(system.Calls("/nfs"), 1);

  system.Release();
  ASSERT_TRUE(pool.WaitForBlockedCalls(StatfsPool::Clock::now() + 10s));
  EXPECT_FALSE(pool.IsStuck("/nfs"));
  auto third = pool.StatAll({{"/nfs", "/nfs"}});
  ASSERT_TRUE(third[0]);
  EXPECT_EQ(third[0]->blocks, 7u);
  EXPECT_EQ(system.Calls("/nfs"), 2);
}

TEST(StatfsPoolTest, WhenEveryWorkerIsBlockedTheRestFailWithoutNewThreads) {
  HangingSystem system;
  system.statfs["/ok"] = Answer(1);
  system.hung = {"/nfs1", "/nfs2"};
  StatfsPool pool(system, 1, 50ms);

  auto results = pool.StatAll({{"/nfs1", "/nfs1"}, {"/ok", "/ok"}});
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error().kind, ErrorKind::kDeadlineExceeded);
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().kind, ErrorKind::kDeadlineExceeded);
  EXPECT_NE(results[1].error().message.find("every statfs worker is blocked"), std::string::npos);
  EXPECT_EQ(system.Calls("/ok"), 0);
  EXPECT_FALSE(pool.IsStuck("/ok"));  // not stuck itself: tried again next time

  // Still blocked: the next scrape fails fast the same way, and nothing piles up in the queue.
  results = pool.StatAll({{"/nfs2", "/nfs2"}, {"/ok", "/ok"}});
  EXPECT_FALSE(results[0]);
  EXPECT_FALSE(results[1]);
  EXPECT_EQ(system.Calls("/nfs2"), 0);

  system.Release();
  ASSERT_TRUE(pool.WaitForBlockedCalls(StatfsPool::Clock::now() + 10s));
  results = pool.StatAll({{"/ok", "/ok"}});
  EXPECT_TRUE(results[0]);
}

TEST(StatfsPoolTest, NonPositiveWorkerCountStillGetsOneWorker) {
  testing::FakeSystem system;
  system.statfs["/"] = Answer(3);
  StatfsPool pool(system, 0, 5s);
  auto results = pool.StatAll({{"/", "/"}});
  ASSERT_TRUE(results[0]);
  EXPECT_EQ(results[0]->blocks, 3u);
}

}  // namespace
}  // namespace topdog::exporter
