// The `topdog-advisor run` daemon: wires the config to its adapters (Prometheus or the embedded scraper with
// its snapshot, Kubernetes, DigitalOcean, the Lease), runs the scrape, leader-election and reconcile loops on
// their own threads, and serves /metrics, /healthz and /readyz through the common HTTP server (TLS and basic
// auth from the web-config file). Returns the process exit status.
#pragma once

#include <string>
#include <vector>

namespace topdog::advisor {

struct DaemonFlags {
  std::string config_file;
  std::vector<std::string> listen_addresses{":9101"};
  std::string web_config_file;
  std::string log_level = "info", log_format = "logfmt";
  std::string identity;  // leader-election identity; default $POD_NAME, else the host name
  bool once = false;     // one reconcile pass (after restoring history), print its summary as JSON, exit
};

int RunDaemon(const DaemonFlags& flags);

}  // namespace topdog::advisor
