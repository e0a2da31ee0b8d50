#include "exporter/access_log_flags.h"

namespace topdog::exporter {

void AddAccessLogFlags(CLI::App& app, AccessLogOptions& o) {
  app.add_option("--collector.accesslog.path", o.paths,
                 "Access-log file or glob to follow, e.g. /var/log/containers/ingress-nginx-*.log (repeatable)");
  app.add_option("--collector.accesslog.format", o.format,
                 "combined-times, ingress, json, or an nginx log_format string")
      ->capture_default_str();
  app.add_option("--collector.accesslog.json-fields", o.json_fields,
                 "For json: field=key pairs overriding the default keys, e.g. status=code,path=uri");
  app.add_option("--collector.accesslog.cri", o.cri,
                 "Lines are CRI container-log records: auto (per line), true or false")
      ->capture_default_str();
  app.add_option("--collector.accesslog.buckets", o.buckets, "Latency histogram upper bounds in seconds")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--collector.accesslog.route-rule", o.route_rules,
                 "prefix=route: paths starting with prefix get that route label (repeatable)");
  app.add_option("--collector.accesslog.max-routes", o.max_routes,
                 "Distinct route labels; later routes are counted as route=\"other\"")
      ->capture_default_str();
  app.add_option("--collector.accesslog.max-hosts", o.max_hosts,
                 "Distinct host labels; later hosts are counted as host=\"other\"")
      ->capture_default_str();
  app.add_option("--collector.accesslog.position-file", o.position_file,
                 "File keeping the read positions across restarts (no double counting)");
  app.add_flag("--collector.accesslog.from-beginning", o.from_beginning,
               "On the first start, read existing files from their beginning instead of their end");
  app.add_option("--collector.accesslog.poll-interval", o.poll_interval,
                 "How often new lines, rotations and new files are looked for")
      ->capture_default_str();
}

}  // namespace topdog::exporter
