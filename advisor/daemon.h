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
  bool check_config = false;  // --check-config: CheckDaemonConfig instead of running
};

int RunDaemon(const DaemonFlags& flags);

// `run --check-config` (README): what RunDaemon checks before it serves (log flags, the config file, the rule
// files, TLS and kubeconfig files, the DigitalOcean token, --web.config.file), without contacting Prometheus,
// Kubernetes or DigitalOcean, without leader election and without listening. Files a start reads that are absent
// on this machine (Secrets, service-account credentials: mounted at run time) are listed on stdout, not errors;
// present ones are checked as a start checks them. Prints "config OK: ..." and returns 0, or logs the error a
// start would log and returns 1. Adds exporter-toolkit's start-up check that basic_auth_users are bcrypt hashes.
int CheckDaemonConfig(const DaemonFlags& flags);

}  // namespace topdog::advisor
