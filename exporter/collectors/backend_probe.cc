// The backend_probe collector: an HTTP GET of each --collector.backend.probe-url, reported as the blackbox
// exporter's http prober does (probe_success, probe_duration_seconds, probe_http_status_code, same HELP texts),
// with a `target` label (and `node`) since one scrape carries every probe. A failed probe is a measurement, not
// a collector failure: probe_success 0, node_scrape_collector_success stays 1, and one log line when a
// target starts failing (or fails differently) and one when it recovers. Probes run one after the other, so a
// scrape waits at most (number of targets) x --collector.backend.probe-timeout. Not called concurrently.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "common/logging.h"
#include "exporter/collectors/gateway.h"

namespace topdog::exporter {
namespace {

class BackendProbeCollector final : public Collector {
 public:
  BackendProbeCollector(std::vector<std::string> urls, std::string node, std::shared_ptr<HttpGetter> getter,
                        SteadyNow now)
      : urls_(std::move(urls)),
        node_(std::move(node)),
        getter_(std::move(getter)),
        now_(std::move(now)),
        last_error_(urls_.size()) {}

  std::string_view Name() const override { return "backend_probe"; }
  bool MayBlock() override { return true; }  // network peers

  Result<std::vector<MetricFamily>> Collect() override {
    FamilyWriter out = NewWriter();
    size_t success = out.Gauge("probe_success", "Displays whether or not the probe was a success");
    size_t duration = out.Gauge("probe_duration_seconds", "Returns how long the probe took to complete in seconds");
    size_t status = out.Gauge("probe_http_status_code", "Response HTTP status code");
    for (size_t i = 0; i < urls_.size(); ++i) {
      const std::string& url = urls_[i];
      auto start = now_();
      auto response = getter_->Get(url);
      double seconds = std::chrono::duration<double>(now_() - start).count();
      bool ok = response && response->status >= 200 && response->status < 300;  // the blackbox default
      std::string error;
      if (!response) {
        error = response.error().message;
      } else if (!ok) {
        error = StatusError(url, *response).message;
      }
      LogChange(i, error);
      FamilyWriter::Label labels[] = {{"target", url}, {"node", node_}};
      std::span<const FamilyWriter::Label> label_span(labels, node_.empty() ? 1 : 2);
      out.Sample(success, ok ? 1 : 0, label_span);
      out.Sample(duration, seconds, label_span);
      out.Sample(status, response ? response->status : 0, label_span);
    }
    return std::move(out).Finish();
  }

 private:
  // One line when a target starts failing or fails differently, one when it recovers: not one per scrape.
  void LogChange(size_t target, const std::string& error) {
    std::string& last = last_error_[target];
    if (error == last) return;
    if (error.empty()) {
      spdlog::info("probe recovered collector=backend_probe target={}", LogQuote(urls_[target]));
    } else {
      spdlog::warn("probe failed collector=backend_probe target={} err={}", LogQuote(urls_[target]), LogQuote(error));
    }
    last = error;
  }

  const std::vector<std::string> urls_;
  const std::string node_;
  std::shared_ptr<HttpGetter> getter_;
  SteadyNow now_;
  std::vector<std::string> last_error_;  // per target; "" = the last probe succeeded
};

}  // namespace

Result<std::unique_ptr<Collector>> NewBackendProbeCollectorWith(const GatewayOptions& options,
                                                                std::shared_ptr<HttpGetter> getter, SteadyNow now) {
  if (options.backend_probe_urls.empty()) {
    return MakeError(ErrorKind::kBadData, "--collector.backend.probe-url: at least one URL is needed");
  }
  std::vector<std::string> urls;
  for (const auto& url : options.backend_probe_urls) {
    if (auto parsed = ParseHttpUrl(url); !parsed) {
      return tl::unexpected(parsed.error().WithContext("--collector.backend.probe-url"));
    }
    if (std::find(urls.begin(), urls.end(), url) == urls.end()) urls.push_back(url);
  }
  return std::make_unique<BackendProbeCollector>(std::move(urls), options.node_name, std::move(getter), std::move(now));
}

Result<std::unique_ptr<Collector>> NewBackendProbeCollector(const CollectorDeps& deps) {
  const GatewayOptions& options = deps.options.gateway;
  auto getter =
      NewPeerGetter("--collector.backend", options.backend_peer, options.backend_probe_timeout, kProbeMaxBytes);
  if (!getter) return tl::unexpected(getter.error());
  return NewBackendProbeCollectorWith(options, std::move(*getter), [] { return std::chrono::steady_clock::now(); });
}

}  // namespace topdog::exporter
