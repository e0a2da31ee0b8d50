// Parses Go/Prometheus-style durations ("500ms", "5s", "1m30s", "2h") for command-line flags. Pure.
#pragma once

#include <chrono>
#include <string_view>

#include "common/result.h"

namespace topdog {

Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace topdog
