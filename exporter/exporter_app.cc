#include "exporter/exporter_app.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "common/exposition/text_writer.h"
#include "common/logging.h"
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
  app->collectors_->RunInline(app->config_.inline_collectors);
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

tl::expected<ExporterApp::Plan, http::Response> ExporterApp::PlanScrape(const http::Request& request) const {
  auto bad = [](std::string body) {
    http::Response response;
    response.status = 400;
    response.body = std::move(body);
    return tl::unexpected(std::move(response));
  };
  Plan plan;
  // Filtering as node_exporter: ?collect[]=cpu&collect[]=meminfo or ?exclude[]=... (not both).
  std::vector<std::string> collect = request.QueryValues("collect[]");
  std::vector<std::string> exclude = request.QueryValues("exclude[]");
  if (!collect.empty() || !exclude.empty()) {
    if (!collect.empty() && !exclude.empty()) {
      return bad("Couldn't create filtered metrics handler: collect[] and exclude[] are mutually exclusive\n");
    }
    for (const auto& name : collect.empty() ? exclude : collect) {
      if (config_.enabled_collectors.count(name) == 0) {
        return bad("Couldn't create filtered metrics handler: unknown or disabled collector: " + name + "\n");
      }
    }
    if (!collect.empty()) {
      plan.only.insert(collect.begin(), collect.end());
    } else {
      plan.only = config_.enabled_collectors;
      for (const auto& name : exclude) plan.only.erase(name);
    }
    plan.filtered = true;
  }
  // The scraper's clock started when it sent the request, not when we got to it.
  plan.deadline = Deadline(request.received, request.Header("x-prometheus-scrape-timeout-seconds"),
                           config_.default_scrape_timeout, config_.scrape_timeout_offset);
  return plan;
}

http::Response ExporterApp::Render(CollectorSet::Scrape scrape, const http::Request& request) const {
  std::vector<prometheus::MetricFamily> spare;
  {
    std::lock_guard lock(own_mu_);
    if (exposition::SoleOwner(own_last_)) spare = std::move(*own_last_);
  }
  FamilyWriter own(std::move(spare));
  BuildInfo(own);
  if (!config_.disable_exporter_metrics) {
    ProcessMetrics(own);
    collectors_->SelfMetrics(own);
    if (server_metrics_) server_metrics_(own);
  }
  auto own_families = std::make_shared<std::vector<prometheus::MetricFamily>>(std::move(own).Finish());
  {
    std::lock_guard lock(own_mu_);
    own_last_ = own_families;
  }
  scrape.parts.push_back(std::move(own_families));

  http::Response response;
  auto format = exposition::NegotiateFormat(request.Header("accept"));
  response.content_type = std::string(exposition::ContentType(format));
  // Sized from the previous page: a 64 KiB or larger block would, once freed, make glibc consolidate its
  // free lists on every scrape.
  size_t expected = last_page_bytes_.load(std::memory_order_relaxed);
  response.body.reserve(std::min<size_t>(expected + expected / 8 + 1024, 60 * 1024));
  for (const prometheus::MetricFamily* family : scrape.Ordered()) {
    exposition::AppendFamily(response.body, *family, format);
  }
  if (format == exposition::Format::kOpenMetrics100) exposition::FinishOpenMetrics(response.body);
  last_page_bytes_.store(response.body.size(), std::memory_order_relaxed);
  return response;
}

http::Response ExporterApp::HandleMetrics(const http::Request& request) const {
  auto plan = PlanScrape(request);
  if (!plan) return std::move(plan.error());
  return Render(collectors_->Collect(plan->deadline, plan->filtered ? &plan->only : nullptr), request);
}

void ExporterApp::HandleMetricsAsync(const http::Request& request, http::Responder responder) const {
  auto plan = PlanScrape(request);
  if (!plan) return responder.Respond(std::move(plan.error()));
  // Render needs the request's Accept header after this call returns: keep what it reads.
  http::Request kept;
  kept.headers["accept"] = request.Header("accept");
  collectors_->CollectAsync(
      plan->deadline, plan->filtered ? &plan->only : nullptr,
      [responder](CollectorSet::Clock::time_point when, std::function<void()> fn) {
        responder.At(when, std::move(fn));
      },
      [this, responder, kept = std::move(kept)](CollectorSet::Scrape scrape) {
        // Runs on a collector thread or an I/O thread, where an exception would end the process.
        try {
          responder.Respond(Render(std::move(scrape), kept));
        } catch (const std::exception& e) {
          spdlog::error("rendering a scrape failed err={}", LogQuote(e.what()));
          http::Response response;
          response.status = 500;
          response.body = "Internal Server Error\n";
          responder.Respond(std::move(response));
        }
      });
}

}  // namespace topdog::exporter
