// The accesslog collector's flags (README "Access-log collector"), for main.cc. Values are checked by the
// collector's factory when it is enabled, so a bad one is a start-up error naming the flag.
#pragma once

#include <CLI/CLI.hpp>

#include "exporter/access_log_options.h"

namespace topdog::exporter {

void AddAccessLogFlags(CLI::App& app, AccessLogOptions& o);

}  // namespace topdog::exporter
