// The backend_metrics collector: each --collector.backend.metrics-url's text-format page (a FastAPI app's
// prometheus_client or instrumentator /metrics) passed through with its own family names, types and HELP, each
// sample labelled with target="<url>" and node="<node name>" (a label of the same name on the page becomes
// exported_target / exported_node, as Prometheus does). A page over the sample limit or unparsable is refused
// whole (the target's samples are left out, the collector's success is 0 and the error names the target);
// the other targets are still served. Families named like this exporter's own (node_, topdog_, nginx_,
// envoy_, probe_) are dropped and counted, so that a backend can never clash with them; families with the
// same name on several targets are merged, and a family whose type differs from the first target's is
// dropped and counted. Not called concurrently.
#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/exposition/text_parser.h"
#include "exporter/collectors/gateway.h"
#include "exporter/collectors/parsed_families.h"

namespace topdog::exporter {
namespace {

constexpr std::string_view kReservedPrefixes[] = {"node_", "topdog_", "nginx_", "envoy_", "probe_"};

bool Reserved(std::string_view name) {
  for (std::string_view prefix : kReservedPrefixes) {
    if (name.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

// Sample lines of a text-format page (not blank, not comments): what Prometheus's sample_limit counts.
size_t CountSampleLines(std::string_view text) {
  size_t count = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    size_t first = pos;
    while (first < end && (text[first] == ' ' || text[first] == '\t')) ++first;
    if (first < end && text[first] != '#' && text[first] != '\r') ++count;
    pos = end + 1;
  }
  return count;
}

size_t SampleCount(const prometheus::MetricFamily& family) {
  size_t count = 0;
  for (const auto& metric : family.metric) {
    switch (family.type) {
      case prometheus::MetricType::Histogram: {
        const auto& buckets = metric.histogram.bucket;
        bool has_inf = !buckets.empty() && std::isinf(buckets.back().upper_bound);
        count += buckets.size() + (has_inf ? 2 : 3);  // (+Inf,) _sum, _count
        break;
      }
      case prometheus::MetricType::Summary:
        count += metric.summary.quantile.size() + 2;
        break;
      default:
        ++count;
    }
  }
  return count;
}

class BackendMetricsCollector final : public Collector {
 public:
  BackendMetricsCollector(std::vector<std::string> urls, std::string node, size_t sample_limit,
                          std::shared_ptr<HttpGetter> getter)
      : urls_(std::move(urls)), node_(std::move(node)), sample_limit_(sample_limit), getter_(std::move(getter)) {}

  std::string_view Name() const override { return "backend_metrics"; }
  bool MayBlock() override { return true; }  // network peers

  Result<std::vector<MetricFamily>> Collect() override {
    std::vector<MetricFamily> out;
    std::unordered_map<std::string, size_t> index;  // family name -> position in out
    std::vector<double> up(urls_.size()), passed(urls_.size()), dropped(urls_.size());
    std::string errors;
    size_t failed = 0;
    for (size_t i = 0; i < urls_.size(); ++i) {
      auto families = Fetch(urls_[i]);
      if (!families) {
        ++failed;
        errors += (errors.empty() ? "" : "; ") + families.error().message;
        continue;
      }
      up[i] = 1;
      for (auto& family : *families) {
        size_t samples = SampleCount(family);
        if (Reserved(family.name)) {
          dropped[i] += static_cast<double>(samples);
          continue;
        }
        auto [it, added] = index.try_emplace(family.name, out.size());
        if (added) {
          out.emplace_back();
          out.back().name = family.name;
          out.back().help = family.help;
          out.back().type = family.type;
        } else if (out[it->second].type != family.type) {
          dropped[i] += static_cast<double>(samples);
          continue;
        }
        for (auto& metric : family.metric) {
          AddTargetLabels(metric, urls_[i]);
          out[it->second].metric.push_back(std::move(metric));
        }
        passed[i] += static_cast<double>(samples);
      }
    }
    Own(out, up, passed, dropped);
    if (failed == 0) return out;
    kept_on_error_ = std::move(out);
    return MakeError(ErrorKind::kUnavailable,
                     std::to_string(failed) + " of " + std::to_string(urls_.size()) + " targets failed: " + errors);
  }

  std::vector<MetricFamily> TakeFamiliesOnError() override { return std::move(kept_on_error_); }

 private:
  Result<std::vector<MetricFamily>> Fetch(const std::string& url) {
    auto response = getter_->Get(url);
    if (!response) return tl::unexpected(response.error());
    if (response->status != 200) return tl::unexpected(StatusError(url, *response));
    size_t samples = CountSampleLines(response->body);
    if (samples > sample_limit_) {
      return MakeError(ErrorKind::kRejected, "GET " + url + ": refused: " + std::to_string(samples) +
                                                 " samples, over the sample limit of " + std::to_string(sample_limit_) +
                                                 " (--collector.backend.metrics-sample-limit)");
    }
    exposition::ParseLimits limits;
    limits.max_samples = sample_limit_ + 1;
    auto page = exposition::ParseTextFormat(response->body, limits);
    if (!page) return tl::unexpected(page.error().WithContext("GET " + url + ": refused: not a text-format page"));
    auto families = GroupFamilies(*page);
    if (!families) return tl::unexpected(families.error().WithContext("GET " + url + ": refused"));
    return families;
  }

  void AddTargetLabels(prometheus::ClientMetric& metric, const std::string& url) const {
    // As Prometheus does with honor_labels off: a label already there becomes exported_<name> (or
    // exported_exported_<name>, ...): a duplicate label name would make Prometheus reject the whole page.
    auto has = [&](std::string_view name) {
      return std::any_of(metric.label.begin(), metric.label.end(), [&](const auto& l) { return l.name == name; });
    };
    auto make_room = [&](const std::string& name) {
      for (auto& label : metric.label) {
        if (label.name != name) continue;
        std::string renamed = "exported_" + name;
        while (has(renamed)) renamed = "exported_" + renamed;
        label.name = std::move(renamed);
        return;
      }
    };
    make_room("target");
    metric.label.push_back({"target", url});
    if (!node_.empty()) {
      make_room("node");
      metric.label.push_back({"node", node_});
    }
  }

  void Own(std::vector<MetricFamily>& out, const std::vector<double>& up, const std::vector<double>& passed,
           const std::vector<double>& dropped) const {
    auto add = [&](std::string name, std::string help, const std::vector<double>& values) {
      MetricFamily family;
      family.name = std::move(name);
      family.help = std::move(help);
      family.type = prometheus::MetricType::Gauge;
      for (size_t i = 0; i < urls_.size(); ++i) {
        prometheus::ClientMetric metric;
        metric.label.push_back({"target", urls_[i]});
        metric.gauge.value = values[i];
        family.metric.push_back(std::move(metric));
      }
      out.push_back(std::move(family));
    };
    add("topdog_exporter_backend_metrics_up",
        "Whether the target's page was fetched, parsed and within the sample limit (1) or refused (0).", up);
    add("topdog_exporter_backend_metrics_samples", "Samples passed through from the target in the last scrape.",
        passed);
    add("topdog_exporter_backend_metrics_samples_dropped",
        "Samples of the target dropped in the last scrape: their family is named like the exporter's own "
        "(node_, topdog_, nginx_, envoy_, probe_) or has another type on an earlier target.",
        dropped);
  }

  const std::vector<std::string> urls_;
  const std::string node_;
  const size_t sample_limit_;
  std::shared_ptr<HttpGetter> getter_;
  std::vector<MetricFamily> kept_on_error_;
};

}  // namespace

Result<std::unique_ptr<Collector>> NewBackendMetricsCollectorWith(const GatewayOptions& options,
                                                                  std::shared_ptr<HttpGetter> getter) {
  if (options.backend_metrics_urls.empty()) {
    return MakeError(ErrorKind::kBadData, "--collector.backend.metrics-url: at least one URL is needed");
  }
  if (options.backend_metrics_sample_limit == 0) {
    return MakeError(ErrorKind::kBadData, "--collector.backend.metrics-sample-limit must be positive");
  }
  std::vector<std::string> urls;
  for (const auto& url : options.backend_metrics_urls) {
    if (auto parsed = ParseHttpUrl(url); !parsed) {
      return tl::unexpected(parsed.error().WithContext("--collector.backend.metrics-url"));
    }
    if (std::find(urls.begin(), urls.end(), url) == urls.end()) urls.push_back(url);
  }
  return std::make_unique<BackendMetricsCollector>(std::move(urls), options.node_name,
                                                   options.backend_metrics_sample_limit, std::move(getter));
}

Result<std::unique_ptr<Collector>> NewBackendMetricsCollector(const CollectorDeps& deps) {
  const GatewayOptions& options = deps.options.gateway;
  auto getter = NewPeerGetter("--collector.backend", options.backend_peer, options.backend_metrics_timeout,
                              kBackendMetricsMaxBytes, "text/plain;version=0.0.4;q=1,*/*;q=0.1");
  if (!getter) return tl::unexpected(getter.error());
  return NewBackendMetricsCollectorWith(options, std::move(*getter));
}

}  // namespace topdog::exporter
