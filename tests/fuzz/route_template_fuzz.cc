// libFuzzer target: RouteTemplater and TopRoutes. Input: byte 0 sets max_route_bytes (8 + byte), byte 1 the
// number of prefix rules (0..3) taken from the next lines ("<prefix> <route>"); every further line is a
// path. Routes must be bounded, valid UTF-8, deterministic, free of query and fragment unless a rule's
// route says otherwise, and (without rules) stable when templated again; TopRoutes stays within its bound
// and counts exactly the lookups it maps to "other".
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exporter/parse/route_template.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  using namespace topdog::exporter;
  if (size < 2) return 0;
  RouteTemplateOptions options;
  options.max_route_bytes = RouteTemplater::kMinRouteBytes + data[0];
  const size_t rule_count = data[1] % 4;
  std::string_view rest = topdog::fuzz::AsText(data + 2, size - 2);
  std::vector<std::string_view> paths;
  while (!rest.empty()) {
    size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (options.prefix_rules.size() < rule_count) {
      size_t space = line.find(' ');
      options.prefix_rules.push_back({std::string(line.substr(0, space)),
                                      space == std::string_view::npos ? "" : std::string(line.substr(space + 1))});
    } else {
      paths.push_back(line);
    }
  }
  auto templater = RouteTemplater::Create(options);
  if (!templater) {
    Check(!templater.error().message.empty());
    return 0;
  }
  TopRoutes top(4);
  uint64_t expected_overflow = 0;
  std::vector<std::string> admitted;
  std::string route;
  std::string sanitized;
  for (std::string_view path : paths) {
    templater->Template(path, route);
    Check(!route.empty() && route.size() <= options.max_route_bytes);
    sanitized.clear();
    AppendUtf8Sanitized(route, sanitized);
    Check(sanitized == route);
    bool from_rule = false;
    for (const RoutePrefixRule& rule : options.prefix_rules) from_rule |= route == rule.route;
    if (!from_rule) Check(route.find_first_of("?#") == std::string::npos);
    Check(templater->Template(path) == route);
    if (options.prefix_rules.empty()) Check(templater->Template(route) == route);

    const std::string_view label = top.Label(route);
    bool known = route == TopRoutes::kOther;
    for (const std::string& seen : admitted) known |= seen == route;
    if (!known && admitted.size() < 4) {
      admitted.push_back(route);
      known = true;
    } else if (!known) {
      ++expected_overflow;
    }
    Check(label == (known ? std::string_view(route) : TopRoutes::kOther));
    Check(top.size() == admitted.size() && top.overflow_total() == expected_overflow);
  }
  return 0;
}
