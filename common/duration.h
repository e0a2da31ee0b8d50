// Parses Go/Prometheus-style durations ("500ms", "5s", "1m30s", "2h", "14d", "1w") for flags and config files. Pure.
#pragma once

#include <chrono>
#include <string_view>

#include "common/result.h"

namespace topdog {

Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace topdog
