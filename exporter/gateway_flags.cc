#include "exporter/gateway_flags.h"

#include <chrono>
#include <string>

#include "common/duration.h"

namespace topdog::exporter {

namespace gateway_flags_detail {

void AddDuration(CLI::App& app, const std::string& name, std::chrono::milliseconds& target,
                        const std::string& help, const std::string& default_text) {
  app.add_option_function<std::string>(
         name,
         [&target, name](const std::string& value) {
           auto duration = ParseDuration(value);
           if (!duration || duration->count() <= 0) {
             throw CLI::ValidationError(name, "not a positive duration: " + value);
           }
           target = *duration;
         },
         help)
      ->default_str(default_text);
}

// TLS and credentials of one kind of peer: <prefix>.tls.ca-file, .tls.insecure-skip-verify, .bearer-token-file,
// .basic-auth.username, .basic-auth.password-file.
void AddPeerFlags(CLI::App& app, const std::string& prefix, HttpPeerOptions& peer) {
  app.add_option(prefix + ".tls.ca-file", peer.ca_file, "CA certificates (PEM) for https URLs; default: the system's");
  app.add_flag(prefix + ".tls.insecure-skip-verify", peer.insecure_skip_verify,
               "Accept any certificate and host name on https URLs");
  app.add_option(prefix + ".bearer-token-file", peer.bearer_token_file,
                 "Send Authorization: Bearer <the file's content> (re-read on every request)");
  app.add_option(prefix + ".basic-auth.username", peer.basic_auth_username, "Basic auth user name");
  app.add_option(prefix + ".basic-auth.password-file", peer.basic_auth_password_file,
                 "Basic auth password file (re-read on every request)");
}

}  // namespace gateway_flags_detail

void AddGatewayFlags(CLI::App& app, GatewayOptions& o) {
  using gateway_flags_detail::AddDuration;
  using gateway_flags_detail::AddPeerFlags;
  app.add_option("--collector.gateway.node-name", o.node_name,
                 "Kubernetes node name: the node label of access-log, probe and pass-through samples (downward API)")
      ->envname("NODE_NAME");

  app.add_option("--collector.nginx.scrape-uri", o.nginx_scrape_uri, "A URI of the NGINX stub_status page")
      ->capture_default_str();
  AddDuration(app, "--collector.nginx.timeout", o.nginx_timeout, "A timeout for scraping the stub_status page", "5s");
  AddPeerFlags(app, "--collector.nginx", o.nginx_peer);

  app.add_option("--collector.envoy.admin-uri", o.envoy_admin_uri,
                 "Envoy admin address; /stats/prometheus?usedonly is appended unless the URI has a path")
      ->capture_default_str();
  AddDuration(app, "--collector.envoy.timeout", o.envoy_timeout, "A timeout for reading Envoy's stats", "5s");
  app.add_option("--collector.envoy.clusters", o.envoy_clusters,
                 "Clusters to export, exact names (repeatable, or comma-separated); default: all");
  app.add_option("--collector.envoy.clusters-regex", o.envoy_clusters_regex,
                 "Clusters to export: a regex matching the whole cluster name (added to --collector.envoy.clusters)");
  AddPeerFlags(app, "--collector.envoy", o.envoy_peer);

  app.add_option("--collector.backend.probe-url", o.backend_probe_urls,
                 "URL the backend_probe collector GETs, e.g. a health endpoint (repeatable)");
  AddDuration(app, "--collector.backend.probe-timeout", o.backend_probe_timeout, "A timeout for each probe", "5s");
  app.add_option("--collector.backend.metrics-url", o.backend_metrics_urls,
                 "A backend's /metrics URL to pass through with a target label (repeatable)");
  AddDuration(app, "--collector.backend.metrics-timeout", o.backend_metrics_timeout,
              "A timeout for fetching each backend's metrics", "5s");
  app.add_option("--collector.backend.metrics-sample-limit", o.backend_metrics_sample_limit,
                 "Refuse a backend page with more samples than this")
      ->capture_default_str();
  AddPeerFlags(app, "--collector.backend", o.backend_peer);
}

}  // namespace topdog::exporter
