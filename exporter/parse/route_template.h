// Route labels from request paths with bounded cardinality: RouteTemplater collapses ids, UUIDs and hashes
// ("/api/users/12345" -> "/api/users/:id") and applies configured prefix rules; TopRoutes admits at most N
// distinct routes and maps the rest to "other". Pure and deterministic (no clock, no randomness).
// RouteTemplater is immutable after Create() and thread-safe; TopRoutes is not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/result.h"

namespace topdog::exporter {

// A path that starts with `prefix` gets the fixed `route` (e.g. "/static/" -> "/static/*").
struct RoutePrefixRule {
  std::string prefix;
  std::string route;
};

struct RouteTemplateOptions {
  std::vector<RoutePrefixRule> prefix_rules;  // the longest matching prefix wins
  size_t max_route_bytes = 128;               // longer routes keep their leading segments and end in "/*"
};

class RouteTemplater {
 public:
  static constexpr size_t kMinRouteBytes = 8;

  // kBadData for an empty prefix or route, a route longer than max_route_bytes or not valid UTF-8, or
  // max_route_bytes below kMinRouteBytes.
  static Result<RouteTemplater> Create(RouteTemplateOptions options);

  // Writes the route of `path` (a request target as AccessLogRecord::path gives it) to `out`, replacing its
  // contents but reusing its capacity (no allocation once warm). Rules, in order:
  //  - the query ('?...') and fragment ('#...') are dropped; an empty path is "/";
  //  - the longest configured prefix that the path starts with gives its fixed route;
  //  - each '/'-separated segment that is all digits becomes ":id", a UUID (8-4-4-4-12 hex digits, any case)
  //    ":uuid", and 16 or more hex digits ":hash"; other segments stay as they are, percent-encoding
  //    included ("%C3%A9" is not decoded);
  //  - bytes that are not valid UTF-8 or are control characters are percent-encoded ("%FF"), so the route is
  //    always a valid label value;
  //  - a route over max_route_bytes keeps its leading whole segments and ends in "/*".
  void Template(std::string_view path, std::string& out) const;
  std::string Template(std::string_view path) const;

 private:
  explicit RouteTemplater(RouteTemplateOptions options) : options_(std::move(options)) {}
  RouteTemplateOptions options_;  // prefix_rules sorted by descending prefix length
};

// Appends `text` to `out` with bytes that are not valid UTF-8, and control characters (< 0x20, 0x7f),
// percent-encoded as "%XX": for label values taken from logs (host, path), which must be valid UTF-8.
void AppendUtf8Sanitized(std::string_view text, std::string& out);

// Keeps the label set of a route-labelled metric bounded: the first `max_routes` distinct routes seen are
// admitted and keep their label for the life of the process (a series must not flip between its route and
// "other", or its counters would reset); every later one maps to "other" and is counted. First-come rather
// than most-frequent: ranking would need memory per unseen route and would make labels unstable.
class TopRoutes {
 public:
  static constexpr std::string_view kOther = "other";

  explicit TopRoutes(size_t max_routes) : max_routes_(max_routes) {}

  // The label for `route`: the route itself if admitted (now or earlier), else kOther. The view is valid as
  // long as this TopRoutes. Does not allocate for a route already admitted or for an overflow.
  std::string_view Label(std::string_view route);

  size_t size() const { return routes_.size(); }
  size_t max_routes() const { return max_routes_; }
  // Lookups mapped to "other" because the set was full (the dropped label sets of issue 6).
  uint64_t overflow_total() const { return overflow_total_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  size_t max_routes_;
  std::unordered_set<std::string, Hash, std::equal_to<>> routes_;
  uint64_t overflow_total_ = 0;
};

}  // namespace topdog::exporter
