// The flags of the HTTP-based collectors (nginx, envoy, backend_probe, backend_metrics; README "Gateway and
// backend collectors"), for main.cc. Durations are checked while parsing; URLs, regexes and credential files by
// the collectors' factories when enabled, so a bad value is a start-up error naming the flag.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "exporter/gateway_options.h"

namespace topdog::exporter {

void AddGatewayFlags(CLI::App& app, GatewayOptions& o);

}  // namespace topdog::exporter
