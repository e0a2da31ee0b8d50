// Factories of the HTTP-based collectors (all disabled by default): nginx (stub_status, nginx-prometheus-exporter's
// families), envoy (the admin endpoint's upstream cluster families, Envoy's names), backend_probe (blackbox-style
// HTTP probes) and backend_metrics (a backend's own /metrics passed through with a target label). Each checks its
// flags (URLs, regexes, credential files) and fails on bad ones: a start-up error.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "common/result.h"
#include "exporter/collector.h"
#include "exporter/collectors/registry.h"
#include "exporter/gateway_options.h"
#include "exporter/io/http_getter.h"

namespace topdog::exporter {

Result<std::unique_ptr<Collector>> NewNginxCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewEnvoyCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewBackendProbeCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewBackendMetricsCollector(const CollectorDeps& deps);

// The same over a given getter (tests pass a FakeHttpGetter; the factories above a BeastHttpGetter).
Result<std::unique_ptr<Collector>> NewNginxCollectorWith(const GatewayOptions& options,
                                                         std::shared_ptr<HttpGetter> getter);
Result<std::unique_ptr<Collector>> NewEnvoyCollectorWith(const GatewayOptions& options,
                                                         std::shared_ptr<HttpGetter> getter);
// `now` times each probe (probe_duration_seconds); tests pass a fake clock.
using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;
Result<std::unique_ptr<Collector>> NewBackendProbeCollectorWith(const GatewayOptions& options,
                                                                std::shared_ptr<HttpGetter> getter, SteadyNow now);
Result<std::unique_ptr<Collector>> NewBackendMetricsCollectorWith(const GatewayOptions& options,
                                                                  std::shared_ptr<HttpGetter> getter);

// Body limits of the collectors' GETs.
inline constexpr size_t kStubStatusMaxBytes = 64 * 1024;
inline constexpr size_t kEnvoyStatsMaxBytes = 64 << 20;
inline constexpr size_t kProbeMaxBytes = 1 << 20;
inline constexpr size_t kBackendMetricsMaxBytes = 16 << 20;

// A BeastHttpGetter for one kind of peer. `flag_prefix` (e.g. "--collector.nginx") names the flags in errors.
Result<std::shared_ptr<HttpGetter>> NewPeerGetter(std::string_view flag_prefix, const HttpPeerOptions& peer,
                                                  std::chrono::milliseconds timeout, size_t max_body_bytes,
                                                  std::string accept = "");

// The error for an answer whose status is not `expected` (200 unless given): kUnavailable for 5xx and other
// unexpected statuses, kRejected for 4xx, quoting the start of the body (an HTML error page, a proxy's answer).
Error StatusError(const std::string& url, const HttpGetResponse& response);

}  // namespace topdog::exporter
