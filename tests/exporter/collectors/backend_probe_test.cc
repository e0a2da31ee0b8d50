// The backend_probe collector over FakeHttpGetter and a fake clock: blackbox-exporter families per target, a
// failed probe as probe_success 0 (not a collector failure), durations from the injected clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporter/collectors/gateway.h"
#include "tests/exporter/collectors/families_for_test.h"
#include "tests/fakes/fake_http_getter.h"

namespace topdog::exporter {
namespace {

using ::testing::ElementsAre;
using testing::FakeHttpGetter;
using testing::FamilyNames;
using testing::FindFamily;
using ::testing::HasSubstr;
using testing::SampleValue;

const std::string kUp = "http://10.0.0.5:8000/healthz";
const std::string kDown = "http://10.0.0.6:8000/healthz";
const std::string kSick = "https://backend.default.svc:8443/healthz";

struct Probe {
  std::shared_ptr<FakeHttpGetter> getter = std::make_shared<FakeHttpGetter>();
  std::chrono::steady_clock::time_point now{};
  std::unique_ptr<Collector> collector;

  explicit Probe(GatewayOptions options) {
    // Each GET takes 250 ms of fake time.
    getter->on_get = [this](const std::string&) { now += std::chrono::milliseconds(250); };
    auto made = NewBackendProbeCollectorWith(options, getter, [this] { return now; });
    EXPECT_TRUE(made) << made.error().message;
    collector = std::move(*made);
  }
};

GatewayOptions Options(std::vector<std::string> urls, std::string node = "pool-a-1") {
  GatewayOptions options;
  options.backend_probe_urls = std::move(urls);
  options.node_name = std::move(node);
  return options;
}

TEST(BackendProbeCollectorTest, ReportsEachTargetLikeTheBlackboxExporter) {
  Probe probe(Options({kUp, kDown, kSick}));
  probe.getter->Answer(kUp, 200, R"({"status":"ok"})", "application/json");
  probe.getter->Answer(kDown, MakeError(ErrorKind::kUnavailable, "GET " + kDown + ": connect: Connection refused"));
  probe.getter->Answer(kSick, 503, "<html><body>503 Service Unavailable</body></html>", "text/html");
  EXPECT_EQ(probe.collector->Name(), "backend_probe");
  EXPECT_TRUE(probe.collector->MayBlock());
  auto families = probe.collector->Collect();
  ASSERT_TRUE(families) << families.error().message;  // failed probes are measurements
  EXPECT_THAT(probe.getter->requests, ElementsAre(kUp, kDown, kSick));
  EXPECT_THAT(FamilyNames(*families), ElementsAre("probe_duration_seconds", "probe_http_status_code", "probe_success"));
  auto labels = [](const std::string& target) { return testing::LabelMap{{"target", target}, {"node", "pool-a-1"}}; };
  EXPECT_EQ(SampleValue(*families, "probe_success", labels(kUp)), 1);
  EXPECT_EQ(SampleValue(*families, "probe_http_status_code", labels(kUp)), 200);
  EXPECT_EQ(SampleValue(*families, "probe_duration_seconds", labels(kUp)), 0.25);
  EXPECT_EQ(SampleValue(*families, "probe_success", labels(kDown)), 0);
  EXPECT_EQ(SampleValue(*families, "probe_http_status_code", labels(kDown)), 0);
  EXPECT_EQ(SampleValue(*families, "probe_duration_seconds", labels(kDown)), 0.25);
  EXPECT_EQ(SampleValue(*families, "probe_success", labels(kSick)), 0);
  EXPECT_EQ(SampleValue(*families, "probe_http_status_code", labels(kSick)), 503);
  EXPECT_EQ(FindFamily(*families, "probe_success")->help, "Displays whether or not the probe was a success");
  EXPECT_EQ(FindFamily(*families, "probe_duration_seconds")->help,
            "Returns how long the probe took to complete in seconds");
  EXPECT_EQ(FindFamily(*families, "probe_http_status_code")->help, "Response HTTP status code");
  EXPECT_EQ(FindFamily(*families, "probe_success")->type, prometheus::MetricType::Gauge);
}

TEST(BackendProbeCollectorTest, OnlyTwoHundredsSucceedAndTheNodeLabelIsOptional) {
  const std::string k = "http://127.0.0.1:8000/healthz";
  Probe probe(Options({k, k}, ""));  // a duplicate URL is probed once
  for (int status : {200, 204, 299, 301, 404, 500}) probe.getter->Answer(k, status, "");
  for (int status : {200, 204, 299, 301, 404, 500}) {
    auto families = probe.collector->Collect();
    ASSERT_TRUE(families);
    EXPECT_EQ(SampleValue(*families, "probe_success", {{"target", k}}), status < 300 ? 1 : 0) << status;
    EXPECT_EQ(SampleValue(*families, "probe_http_status_code", {{"target", k}}), status);
    EXPECT_EQ(testing::SampleCount(*families, "probe_success"), 1u);
  }
}

TEST(BackendProbeCollectorTest, FlagsAreChecked) {
  auto none = NewBackendProbeCollectorWith(GatewayOptions{}, std::make_shared<FakeHttpGetter>(), {});
  ASSERT_FALSE(none);
  EXPECT_THAT(none.error().message, HasSubstr("--collector.backend.probe-url: at least one URL"));
  auto bad = NewBackendProbeCollectorWith(Options({"http://ok/", "tcp://10.0.0.5:8000"}),
                                          std::make_shared<FakeHttpGetter>(), {});
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("--collector.backend.probe-url: bad URL \"tcp://10.0.0.5:8000\""));
}

}  // namespace
}  // namespace topdog::exporter
