#include "exporter/exporter_app.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/exposition/text_writer.h"
#include "exporter/collectors/registry.h"
#include "exporter/self_metrics.h"

namespace topdog::exporter {

Result<std::unique_ptr<ExporterApp>> ExporterApp::Create(ExporterConfig config, const FileReader& reader,
                                                         const System& system) {
  std::vector<std::unique_ptr<Collector>> collectors;
  for (const auto& name : config.enabled_collectors) {
    const auto& known = KnownCollectors();
    auto it = std::find_if(known.begin(), known.end(), [&](const CollectorInfo& c) { return c.name == name; });
    if (it == known.end()) return MakeError(ErrorKind::kBadData, "unknown collector " + name);
  }
  // config_ must live at a stable address before collectors keep references to its options, so the app is
  // allocated first and the collectors are built from its copy.
  auto app = std::unique_ptr<ExporterApp>(new ExporterApp(std::move(config), nullptr));
  CollectorDeps deps{reader, system, app->config_.options};
  for (const auto& info : KnownCollectors()) {
    if (app->config_.enabled_collectors.count(info.name) == 0) continue;
    auto collector = info.factory(deps);
    if (!collector) return tl::unexpected(collector.error().WithContext("collector " + info.name));
    collectors.push_back(std::move(*collector));
  }
  app->collectors_ = std::make_unique<CollectorSet>(std::move(collectors));
  return app;
}

CollectorSet::Clock::time_point ExporterApp::Deadline(CollectorSet::Clock::time_point now,
                                                      std::string_view timeout_header,
                                                      std::chrono::milliseconds default_timeout,
                                                      std::chrono::milliseconds offset) {
  double seconds = 0;
  auto [ptr, ec] = std::from_chars(timeout_header.data(), timeout_header.data() + timeout_header.size(), seconds);
  auto timeout = default_timeout;
  if (!timeout_header.empty() && ec == std::errc() && std::isfinite(seconds) && seconds > 0 && seconds < 86400) {
    timeout = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  }
  // Keep at least 100 ms for the collectors even when the scraper's timeout is tiny.
  auto budget = std::max(timeout - offset, std::chrono::milliseconds(100));
  return now + budget;
}

http::Response ExporterApp::HandleMetrics(const http::Request& request) const {
  auto start = request.received;  // the scraper's clock started when it sent the request, not when we got to it
  http::Response response;
  // Filtering as node_exporter: ?collect[]=cpu&collect[]=meminfo or ?exclude[]=... (not both).
  std::vector<std::string> collect = request.QueryValues("collect[]");
  std::vector<std::string> exclude = request.QueryValues("exclude[]");
  std::set<std::string> only;
  const std::set<std::string>* filter = nullptr;
  if (!collect.empty() || !exclude.empty()) {
    if (!collect.empty() && !exclude.empty()) {
      response.status = 400;
      response.body = "Couldn't create filtered metrics handler: collect[] and exclude[] are mutually exclusive\n";
      return response;
    }
    for (const auto& name : collect.empty() ? exclude : collect) {
      if (config_.enabled_collectors.count(name) == 0) {
        response.status = 400;
        response.body = "Couldn't create filtered metrics handler: unknown or disabled collector: " + name + "\n";
        return response;
      }
    }
    if (!collect.empty()) {
      only.insert(collect.begin(), collect.end());
    } else {
      only = config_.enabled_collectors;
      for (const auto& name : exclude) only.erase(name);
    }
    filter = &only;
  }

  auto deadline = Deadline(start, request.Header("x-prometheus-scrape-timeout-seconds"),
                           config_.default_scrape_timeout, config_.scrape_timeout_offset);
  CollectorSet::Scrape scrape = collectors_->Collect(deadline, filter);

  std::vector<prometheus::MetricFamily> own;
  own.push_back(BuildInfo());
  if (!config_.disable_exporter_metrics) {
    for (auto& family : ProcessMetrics()) own.push_back(std::move(family));
    for (auto& family : collectors_->SelfMetrics()) own.push_back(std::move(family));
    if (server_metrics_) {
      for (auto& family : server_metrics_()) own.push_back(std::move(family));
    }
  }
  scrape.parts.push_back(std::make_shared<const std::vector<prometheus::MetricFamily>>(std::move(own)));

  auto format = exposition::NegotiateFormat(request.Header("accept"));
  response.content_type = std::string(exposition::ContentType(format));
  response.body.reserve(64 * 1024);
  for (const prometheus::MetricFamily* family : scrape.Ordered()) {
    exposition::AppendFamily(response.body, *family, format);
  }
  if (format == exposition::Format::kOpenMetrics100) exposition::FinishOpenMetrics(response.body);
  return response;
}

}  // namespace topdog::exporter
