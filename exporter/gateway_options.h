// Options of the HTTP-based gateway and backend collectors (nginx, envoy, backend_probe, backend_metrics), set
// by their flags (exporter/gateway_flags.h). A plain value type; read-only once the collectors are built.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace topdog::exporter {

// TLS and credentials for one kind of peer (see HttpGetterOptions).
struct HttpPeerOptions {
  std::string ca_file;
  bool insecure_skip_verify = false;
  std::string bearer_token_file;
  std::string basic_auth_username;
  std::string basic_auth_password_file;
};

struct GatewayOptions {
  // The Kubernetes node this exporter runs on (--collector.gateway.node-name, default $NODE_NAME from the
  // downward API): the `node` label of access-log request, probe and pass-through samples; empty = no such label.
  std::string node_name;

  // nginx: the stub_status page, as nginx-prometheus-exporter's -nginx.scrape-uri and -nginx.timeout.
  std::string nginx_scrape_uri = "http://127.0.0.1:8080/stub_status";
  std::chrono::milliseconds nginx_timeout{5000};
  HttpPeerOptions nginx_peer;

  // envoy: the admin endpoint; "/stats/prometheus?usedonly" is appended unless the URI has a path.
  std::string envoy_admin_uri = "http://127.0.0.1:9901";
  std::chrono::milliseconds envoy_timeout{5000};
  // Clusters kept: exact names (a value may hold several, comma-separated) or a regex matched against the
  // whole name; both empty = every cluster.
  std::vector<std::string> envoy_clusters;
  std::string envoy_clusters_regex;
  HttpPeerOptions envoy_peer;

  // backend_probe: GET each URL, blackbox-exporter style.
  std::vector<std::string> backend_probe_urls;
  std::chrono::milliseconds backend_probe_timeout{5000};
  // backend_metrics: pass each URL's text-format page through with a `target` label.
  std::vector<std::string> backend_metrics_urls;
  std::chrono::milliseconds backend_metrics_timeout{5000};
  size_t backend_metrics_sample_limit = 10000;
  HttpPeerOptions backend_peer;  // for both backend collectors
};

}  // namespace topdog::exporter
