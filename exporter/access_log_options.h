// Options of the accesslog collector (exporter/collectors/access_log.cc), set by its flags
// (exporter/access_log_flags.h) and checked by the collector's factory. A plain value type; read-only once
// the collectors are built.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace topdog::exporter {

struct AccessLogOptions {
  // Files, or glob(7) patterns such as /var/log/containers/ingress-nginx-*.log.
  std::vector<std::string> paths;
  // combined-times | ingress | json | a literal nginx log_format string (anything with a '$').
  std::string format = "combined-times";
  // For json: "field=key,..." overriding AccessLogFieldMap's keys (fields: remote_addr host request method
  // path status bytes request_time upstream_response_time user_agent; an empty key unmaps the field).
  std::string json_fields;
  // auto: each line that looks like a CRI record ("<RFC 3339 time> stdout|stderr P|F ...") is one; true:
  // every line must be; false: none is.
  std::string cri = "auto";
  // Upper bounds of the latency histograms, seconds: fine around a 100-500 ms SLO.
  std::vector<double> buckets = {.005, .01, .025, .05, .1, .15, .2, .25, .3, .4, .5, .75, 1, 2.5, 5, 10};
  // "prefix=route": paths starting with prefix get that route label (the longest prefix wins).
  std::vector<std::string> route_rules;
  size_t max_routes = 100;  // distinct route labels; later ones are counted as route="other"
  size_t max_hosts = 20;    // distinct host labels; later ones are counted as host="other"
  // Where to keep the read positions across restarts; "" = none (files start at their end after a restart).
  std::string position_file;
  // Read files found at the first start from their beginning rather than their end.
  bool from_beginning = false;
  // How often the reader thread looks for new lines, rotations and new files ("0s": no thread, only scrapes
  // read; for tests).
  std::string poll_interval = "1s";
};

}  // namespace topdog::exporter
