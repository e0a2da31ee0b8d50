#include "exporter/exporter_app.h"

#include <gtest/gtest.h>

#include "tests/fakes/fake_system.h"
#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using namespace std::chrono_literals;
using Clock = CollectorSet::Clock;

TEST(ExporterAppDeadlineTest, UsesTheScrapersTimeoutMinusTheOffset) {
  Clock::time_point t0{};
  EXPECT_EQ(ExporterApp::Deadline(t0, "10", 10s, 500ms), t0 + 9500ms);
  EXPECT_EQ(ExporterApp::Deadline(t0, "2.5", 10s, 500ms), t0 + 2000ms);
}

TEST(ExporterAppDeadlineTest, FallsBackToTheDefaultOnAbsentOrGarbageHeaders) {
  Clock::time_point t0{};
  for (const char* header : {"", "abc", "-3", "0", "nan", "1e9"}) {
    EXPECT_EQ(ExporterApp::Deadline(t0, header, 10s, 500ms), t0 + 9500ms) << header;
  }
}

TEST(ExporterAppDeadlineTest, KeepsAtLeastOneHundredMilliseconds) {
  Clock::time_point t0{};
  EXPECT_EQ(ExporterApp::Deadline(t0, "0.2", 10s, 500ms), t0 + 100ms);
}

class ExporterAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reader_ = testing::LoadFixtureTree("host-6.18");
    ExporterConfig config;
    config.enabled_collectors = {"loadavg", "filefd"};
    auto app = ExporterApp::Create(config, reader_, system_);
    ASSERT_TRUE(app.has_value()) << app.error().message;
    app_ = std::move(*app);
  }

  http::Response Get(const std::string& query, std::map<std::string, std::string> headers = {}) {
    http::Request request;
    request.method = "GET";
    request.path = "/metrics";
    request.query = query;
    request.headers = std::move(headers);
    return app_->HandleMetrics(request);
  }

  InMemoryFileReader reader_;
  testing::FakeSystem system_;
  std::unique_ptr<ExporterApp> app_;
};

TEST_F(ExporterAppTest, ServesEnabledCollectorsWithBuildInfo) {
  auto response = Get("");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/plain; version=0.0.4; charset=utf-8");
  // host-6.18/proc/loadavg starts with "0.05 ".
  EXPECT_NE(response.body.find("\nnode_load1 0.05\n"), std::string::npos) << response.body;
  EXPECT_NE(response.body.find("node_filefd_allocated "), std::string::npos);
  EXPECT_NE(response.body.find("topdog_exporter_build_info{"), std::string::npos);
}

TEST_F(ExporterAppTest, FiltersLikeNodeExporter) {
  auto only = Get("collect[]=loadavg");
  EXPECT_EQ(only.status, 200);
  EXPECT_NE(only.body.find("node_load1 "), std::string::npos);
  EXPECT_EQ(only.body.find("node_filefd_allocated"), std::string::npos);
  auto without = Get("exclude[]=loadavg");
  EXPECT_EQ(without.body.find("node_load1 "), std::string::npos);
  EXPECT_NE(without.body.find("node_filefd_allocated "), std::string::npos);
  EXPECT_EQ(Get("collect[]=loadavg&exclude[]=filefd").status, 400);
  EXPECT_EQ(Get("collect[]=cpu").status, 400) << "cpu is not enabled here";
}

TEST_F(ExporterAppTest, NegotiatesOpenMetrics) {
  auto response = Get("", {{"accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"}});
  EXPECT_EQ(response.content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_EQ(response.body.substr(response.body.size() - 6), "# EOF\n");
}

TEST(ExporterAppCreateTest, RejectsUnknownCollectorAndBadFlags) {
  InMemoryFileReader reader;
  testing::FakeSystem system;
  ExporterConfig unknown;
  unknown.enabled_collectors = {"nosuch"};
  EXPECT_FALSE(ExporterApp::Create(unknown, reader, system).has_value());
  ExporterConfig bad_regex;
  bad_regex.enabled_collectors = {"vmstat"};
  bad_regex.options.vmstat_fields = "(";
  auto app = ExporterApp::Create(bad_regex, reader, system);
  ASSERT_FALSE(app.has_value());
  EXPECT_NE(app.error().message.find("--collector.vmstat.fields"), std::string::npos);
}

}  // namespace
}  // namespace topdog::exporter
