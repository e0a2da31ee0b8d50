// The nginx collector: NGINX's stub_status page over HTTP, exposed with nginx-prometheus-exporter's families,
// names and HELP texts (collector/nginx.go of 0.11.0, Debian's prometheus-nginx-exporter), including
// nginx_up 0 when the page cannot be read. Not called concurrently.
#include <string>
#include <vector>

#include "exporter/collectors/gateway.h"
#include "exporter/parse/stub_status.h"

namespace topdog::exporter {
namespace {

class NginxCollector final : public Collector {
 public:
  NginxCollector(std::string uri, std::shared_ptr<HttpGetter> getter)
      : uri_(std::move(uri)), getter_(std::move(getter)) {}

  std::string_view Name() const override { return "nginx"; }
  bool MayBlock() override { return true; }  // a network peer

  Result<std::vector<MetricFamily>> Collect() override {
    auto status = Fetch();
    if (!status) return tl::unexpected(status.error());
    FamilyWriter out = NewWriter();
    using prometheus::MetricType;
    out.Single("nginx_connections_accepted", "Accepted client connections", MetricType::Counter,
               static_cast<double>(status->accepted));
    out.Single("nginx_connections_active", "Active client connections", MetricType::Gauge,
               static_cast<double>(status->active));
    out.Single("nginx_connections_handled", "Handled client connections", MetricType::Counter,
               static_cast<double>(status->handled));
    out.Single("nginx_connections_reading", "Connections where NGINX is reading the request header", MetricType::Gauge,
               static_cast<double>(status->reading));
    out.Single("nginx_connections_waiting", "Idle client connections", MetricType::Gauge,
               static_cast<double>(status->waiting));
    out.Single("nginx_connections_writing", "Connections where NGINX is writing the response back to the client",
               MetricType::Gauge, static_cast<double>(status->writing));
    out.Single("nginx_http_requests_total", "Total http requests", MetricType::Counter,
               static_cast<double>(status->requests));
    Up(out, 1);
    return std::move(out).Finish();
  }

  // nginx-prometheus-exporter sends nginx_up 0 alone when stub_status fails.
  std::vector<MetricFamily> TakeFamiliesOnError() override {
    FamilyWriter out;
    Up(out, 0);
    return std::move(out).Finish();
  }

 private:
  Result<StubStatus> Fetch() {
    auto response = getter_->Get(uri_);
    if (!response) return tl::unexpected(response.error());
    if (response->status != 200) return tl::unexpected(StatusError(uri_, *response));
    auto status = ParseStubStatus(response->body);
    if (!status) return tl::unexpected(status.error().WithContext("GET " + uri_));
    return status;
  }

  static void Up(FamilyWriter& out, double value) {
    out.Single("nginx_up", "Status of the last metric scrape", prometheus::MetricType::Gauge, value);
  }

  const std::string uri_;
  std::shared_ptr<HttpGetter> getter_;
};

}  // namespace

Result<std::unique_ptr<Collector>> NewNginxCollectorWith(const GatewayOptions& options,
                                                         std::shared_ptr<HttpGetter> getter) {
  if (auto url = ParseHttpUrl(options.nginx_scrape_uri); !url) {
    return tl::unexpected(url.error().WithContext("--collector.nginx.scrape-uri"));
  }
  return std::make_unique<NginxCollector>(options.nginx_scrape_uri, std::move(getter));
}

Result<std::unique_ptr<Collector>> NewNginxCollector(const CollectorDeps& deps) {
  const GatewayOptions& options = deps.options.gateway;
  auto getter = NewPeerGetter("--collector.nginx", options.nginx_peer, options.nginx_timeout, kStubStatusMaxBytes);
  if (!getter) return tl::unexpected(getter.error());
  return NewNginxCollectorWith(options, std::move(*getter));
}

}  // namespace topdog::exporter
