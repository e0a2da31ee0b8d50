// Parsing JSON answers of the APIs the advisor writes to (Kubernetes, DigitalOcean) without exceptions and with a
// bound on nesting: nlohmann's dump() and copies recurse once per level, so a deeply nested answer (a broken or
// hostile peer) is refused when parsed instead of overflowing the stack later. Pure; thread-safe.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace topdog::advisor {

// Kubernetes objects and node pools nest a few levels; 100 leaves room for any real answer.
inline constexpr int kMaxJsonDepth = 100;

// The parsed document, or a discarded value (is_discarded()) when `text` is not JSON or nests too deep.
inline nlohmann::json ParseBoundedJson(std::string_view text) {
  bool too_deep = false;
  nlohmann::json doc = nlohmann::json::parse(
      text,
      [&too_deep](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        too_deep = too_deep || depth > kMaxJsonDepth;
        return !too_deep;
      },
      /*allow_exceptions=*/false);
  return too_deep ? nlohmann::json(nlohmann::json::value_t::discarded) : doc;
}

}  // namespace topdog::advisor
