// topdog-exporter: flags -> wiring -> the common HTTP server. No logic here.
#include <malloc.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "common/duration.h"
#include "common/http/server.h"
#include "common/logging.h"
#include "exporter/access_log_flags.h"
#include "common/http/web_config.h"
#include "exporter/check_config.h"
#include "exporter/collectors/registry.h"
#include "exporter/exporter_app.h"
#include "exporter/flag_file.h"
#include "exporter/gateway_flags.h"

namespace {

using topdog::exporter::CollectorOptions;

int Fail(const std::string& message) {
  spdlog::error("start-up failed err={}", topdog::LogQuote(message));
  return 1;
}

// --check-config: what a start checks, then the verdict on stdout and exit (README "Flags").
int CheckConfig(const topdog::exporter::ExporterConfig& config, const std::string& config_file,
                const std::string& web_config_file, std::vector<topdog::exporter::UncheckedFile> unchecked) {
  static const topdog::exporter::NothingFileReader nothing;
  static const topdog::exporter::RealSystem system;
  auto exporter = topdog::exporter::ExporterApp::Create(config, nothing, system);
  if (!exporter) return Fail(exporter.error().message);
  std::string summary = "flags";
  if (!config_file.empty()) summary += ", --config.file " + config_file;
  summary += ", collectors ";
  std::string separator;
  for (const auto& name : config.enabled_collectors) summary += std::exchange(separator, ",") + name;
  if (!web_config_file.empty()) {
    std::vector<std::string> absent;
    auto web = topdog::http::CheckWebConfigFile(web_config_file, absent);
    if (!web) return Fail(web.error().message);
    for (auto& file : absent) unchecked.push_back({std::move(file), "--web.config.file tls_server_config"});
    summary += ", --web.config.file " + web_config_file + " (" + *web + ")";
  }
  std::printf("config OK: %s\n", summary.c_str());
  for (const auto& file : unchecked) {
    std::printf("not checked (absent on this machine): %s (%s)\n", file.path.c_str(), file.what.c_str());
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Few arenas: glibc's default of 8 per core makes RSS grow with every worker thread.
  ::mallopt(M_ARENA_MAX, 2);
  // Block the termination signals before any thread starts, so every thread inherits the mask and only the
  // main thread's sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CLI::App app{"topdog-exporter: node_exporter-compatible node metrics for Prometheus"};
  app.set_version_flag("--version", std::string("topdog-exporter ") + TOPDOG_VERSION);
  app.get_formatter()->column_width(50);

  topdog::exporter::ExporterConfig config;
  CollectorOptions& o = config.options;
  std::vector<std::string> listen_addresses{":9100"};
  std::string web_config_file, telemetry_path = "/metrics", log_level = "info", log_format = "logfmt";
  std::string compat = "1.12";
  std::string mount_timeout = "5s", default_timeout = "10s", timeout_offset = "500ms";
  int max_requests = 40;
  bool disable_defaults = false, netdev_netlink = true, check_config = false;

  app.add_flag("--check-config", check_config,
               "Check the flags, --config.file, the collectors' settings and --web.config.file as a start does, "
               "without reading --path.* or listening; print \"config OK\" and exit 0, or the error and exit 1")
      ->configurable(false);
  app.add_option("--web.listen-address", listen_addresses, "Addresses on which to expose metrics (repeatable)")
      ->capture_default_str();
  app.add_option("--web.config.file", web_config_file, "Path to a web config file (TLS, basic auth; exporter-toolkit format)");
  app.add_option("--web.telemetry-path", telemetry_path, "Path under which to expose metrics")->capture_default_str();
  app.add_flag("--web.disable-exporter-metrics", config.disable_exporter_metrics,
               "Exclude the exporter's own metrics (topdog_exporter_*, except build info)");
  app.add_option("--web.max-requests", max_requests, "Maximum concurrent scrape requests; 0 disables the limit")
      ->capture_default_str();
  app.add_option("--path.procfs", o.paths.procfs, "procfs mountpoint")->capture_default_str();
  app.add_option("--path.sysfs", o.paths.sysfs, "sysfs mountpoint")->capture_default_str();
  app.add_option("--path.rootfs", o.paths.rootfs, "rootfs mountpoint")->capture_default_str();
  app.add_option("--path.udev.data", o.paths.udev_data, "udev data path")->capture_default_str();
  app.add_option("--log.level", log_level, "Only log messages with the given severity or above: debug, info, warn, error")
      ->capture_default_str();
  app.add_option("--log.format", log_format, "Output format of log messages: logfmt or json")->capture_default_str();
  app.add_option("--compat.node-exporter", compat,
                 "Emit the label sets of this node_exporter release: 1.12 (upstream current) or 1.5 (Debian 12)")
      ->capture_default_str();
  app.add_option("--scrape.default-timeout", default_timeout,
                 "Collector deadline when the scraper sends no X-Prometheus-Scrape-Timeout-Seconds header")
      ->capture_default_str();
  app.add_option("--scrape.timeout-offset", timeout_offset,
                 "Collectors must finish this long before the scraper's timeout")
      ->capture_default_str();

  app.add_flag("--collector.disable-defaults", disable_defaults, "Set all collectors to disabled by default");
  // --collector.X / --no-collector.X (the last one given wins, as with node_exporter's kingpin flags), and
  // `collector.X: true|false` in the --config.file.
  std::map<std::string, bool> collector_flag;
  std::map<std::string, CLI::Option*> collector_option;
  for (const auto& info : topdog::exporter::KnownCollectors()) {
    collector_option[info.name] =
        app.add_flag("--collector." + info.name + ",!--no-collector." + info.name, collector_flag[info.name],
                     "Enable the " + info.name + " collector (default: " +
                         (info.enabled_by_default ? "enabled" : "disabled") + "); --no-collector." + info.name +
                         " disables it");
  }
  app.add_flag("--collector.cpu.guest,!--no-collector.cpu.guest", o.cpu_guest,
               "Enables metric node_cpu_guest_seconds_total (default: enabled)");
  app.add_flag("--collector.cpu.info,!--no-collector.cpu.info", o.cpu_info, "Enables metric cpu_info");
  app.add_option("--collector.cpu.info.flags-include", o.cpu_info_flags_include,
                 "Filter the `flags` field in cpuInfo with a value that must be a regular expression");
  app.add_option("--collector.cpu.info.bugs-include", o.cpu_info_bugs_include,
                 "Filter the `bugs` field in cpuInfo with a value that must be a regular expression");
  CLI::Option* diskstats_exclude = app.add_option("--collector.diskstats.device-exclude", o.diskstats_device_exclude,
                 "Regexp of diskstats devices to exclude (mutually exclusive to device-include)")
      ->capture_default_str();
  app.add_option("--collector.diskstats.device-include", o.diskstats_device_include,
                 "Regexp of diskstats devices to include (mutually exclusive to device-exclude)");
  CLI::Option* mount_points_exclude = app.add_option("--collector.filesystem.mount-points-exclude",
                                                     o.filesystem_mount_points_exclude,
                 "Regexp of mount points to exclude for filesystem collector")
      ->capture_default_str();
  app.add_option("--collector.filesystem.mount-points-include", o.filesystem_mount_points_include,
                 "Regexp of mount points to include for filesystem collector");
  CLI::Option* fs_types_exclude = app.add_option("--collector.filesystem.fs-types-exclude",
                                                 o.filesystem_fs_types_exclude,
                 "Regexp of filesystem types to exclude for filesystem collector")
      ->capture_default_str();
  app.add_option("--collector.filesystem.fs-types-include", o.filesystem_fs_types_include,
                 "Regexp of filesystem types to include for filesystem collector");
  app.add_option("--collector.filesystem.mount-timeout", mount_timeout,
                 "How long to wait for a mount to respond before marking it as stale")
      ->capture_default_str();
  app.add_option("--collector.filesystem.stat-workers", o.filesystem_stat_workers,
                 "How many stat calls to process simultaneously")
      ->capture_default_str();
  app.add_option("--collector.netdev.device-include", o.netdev_device_include,
                 "Regexp of net devices to include (mutually exclusive to device-exclude)");
  CLI::Option* netdev_exclude = app.add_option("--collector.netdev.device-exclude", o.netdev_device_exclude,
                 "Regexp of net devices to exclude (mutually exclusive to device-include)");
  app.add_flag("--collector.netdev.netlink,!--no-collector.netdev.netlink", netdev_netlink,
               "Accepted for node_exporter compatibility; statistics are always read from /proc/net/dev");
  app.add_flag("--collector.stat.softirq,!--no-collector.stat.softirq", o.stat_softirq,
               "Export softirq calculation metrics");
  app.add_option("--collector.vmstat.fields", o.vmstat_fields, "Regexp of fields to return for vmstat collector")
      ->capture_default_str();
  topdog::exporter::AddAccessLogFlags(app, o.accesslog);
  topdog::exporter::AddGatewayFlags(app, o.gateway);

  CLI::Option* config_file = app.set_config("--config.file", "",
                                            "YAML file of flag values, by flag name without the dashes (README "
                                            "\"Configuration file\"); the command line wins");
  app.config_formatter(std::make_shared<topdog::exporter::YamlFlagFile>(app));
  app.allow_config_extras(CLI::config_extras_mode::error);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ConfigError& e) {
    std::fprintf(stderr, "topdog-exporter: --config.file %s: %s\n", config_file->as<std::string>().c_str(), e.what());
    return 1;
  } catch (const CLI::ParseError& e) {
    const int status = app.exit(e);
    // --check-config's contract is 0 or 1 (CLI11's usage errors have codes of their own); the flag may not be
    // parsed yet when the error comes, so it is looked for in argv.
    const bool checking =
        std::any_of(argv + 1, argv + argc, [](const char* arg) { return std::strcmp(arg, "--check-config") == 0; });
    return checking && status != 0 ? 1 : status;
  }

  if (auto logging = topdog::SetUpLogging(log_level, log_format); !logging) {
    std::fprintf(stderr, "topdog-exporter: %s\n", logging.error().message.c_str());
    return 1;
  }
  if (compat == "1.5") {
    o.compat = topdog::exporter::NodeExporterCompat::kV1_5;
    // Debian 12's node_exporter 1.5.0 defaults, where they differ from 1.12.1's.
    if (diskstats_exclude->count() == 0) {
      o.diskstats_device_exclude = R"(^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$)";
    }
    if (mount_points_exclude->count() == 0) {
      o.filesystem_mount_points_exclude = "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)";
    }
    if (fs_types_exclude->count() == 0) {
      o.filesystem_fs_types_exclude =
          "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|"
          "overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$";
    }
    if (netdev_exclude->count() == 0) o.netdev_device_exclude = "^lo$";
  } else if (compat != "1.12") {
    return Fail("--compat.node-exporter must be 1.12 or 1.5");
  }
  // As node_exporter 1.12.1: an include flag given alone replaces the default exclude ("assuming include is
  // desired"); both given explicitly is an error the collector reports.
  auto include_wins = [](const std::string& include, CLI::Option* exclude_flag, std::string& exclude) {
    if (!include.empty() && exclude_flag->count() == 0) exclude.clear();
  };
  include_wins(o.diskstats_device_include, diskstats_exclude, o.diskstats_device_exclude);
  include_wins(o.filesystem_mount_points_include, mount_points_exclude, o.filesystem_mount_points_exclude);
  include_wins(o.filesystem_fs_types_include, fs_types_exclude, o.filesystem_fs_types_exclude);
  include_wins(o.netdev_device_include, netdev_exclude, o.netdev_device_exclude);
  auto parse_duration = [](const std::string& flag, const std::string& value) {
    auto d = topdog::ParseDuration(value);
    if (!d) spdlog::error("start-up failed err={}", topdog::LogQuote(flag + ": " + d.error().message));
    return d;
  };
  auto mount = parse_duration("--collector.filesystem.mount-timeout", mount_timeout);
  auto deftimeout = parse_duration("--scrape.default-timeout", default_timeout);
  auto offset = parse_duration("--scrape.timeout-offset", timeout_offset);
  if (!mount || !deftimeout || !offset) return 1;
  o.filesystem_mount_timeout = *mount;
  config.default_scrape_timeout = *deftimeout;
  config.scrape_timeout_offset = *offset;
  config.inline_collectors = true;  // see README "How a scrape runs"

  for (const auto& info : topdog::exporter::KnownCollectors()) {
    bool enabled = disable_defaults ? false : info.enabled_by_default;
    if (collector_option[info.name]->count() > 0) enabled = collector_flag[info.name];
    if (enabled) config.enabled_collectors.insert(info.name);
  }

  if (check_config) {
    std::vector<topdog::exporter::UncheckedFile> unchecked;
    topdog::exporter::SkipAbsentPeerFiles(o.gateway, unchecked);
    const int status = CheckConfig(config, config_file->as<std::string>(), web_config_file, std::move(unchecked));
    // As at shutdown: no static destructors (the access-log collector's follower thread may be running).
    spdlog::default_logger()->flush();
    std::_Exit(status);
  }

  static topdog::exporter::DiskFileReader reader(16 << 20, /*keep_open_roots=*/{o.paths.procfs, o.paths.sysfs});
  static topdog::exporter::RealSystem system;
  auto exporter = topdog::exporter::ExporterApp::Create(config, reader, system);
  if (!exporter) return Fail(exporter.error().message);

  std::string enabled_list;
  for (const auto& name : config.enabled_collectors) enabled_list += (enabled_list.empty() ? "" : ",") + name;
  spdlog::info("starting topdog-exporter version={} collectors={}", TOPDOG_VERSION, enabled_list);

  topdog::http::ServerOptions server_options;
  server_options.listen_addresses = listen_addresses;
  server_options.web_config_file = web_config_file;
  server_options.max_requests_in_flight = max_requests;
  server_options.metrics_prefix = "topdog_exporter";
  server_options.handler_threads = 2;  // only basic auth checks run there: scrapes answer from the collector thread
  const topdog::exporter::ExporterApp* handler = exporter->get();
  std::map<std::string, topdog::http::AsyncHandler> routes{
      {telemetry_path, [handler](const topdog::http::Request& r, topdog::http::Responder responder) {
         handler->HandleMetricsAsync(r, std::move(responder));
       }}};

  // Scrapes may start before Start() returns, so the server is published through an atomic.
  static std::atomic<topdog::http::Server*> server_ptr{nullptr};
  (*exporter)->SetServerMetrics([](topdog::exposition::FamilyWriter& out) {
    if (topdog::http::Server* s = server_ptr.load(); s != nullptr) s->AppendMetrics(out);
  });
  auto server = topdog::http::Server::Start(server_options, {}, std::move(routes));
  if (!server) return Fail(server.error().message);
  server_ptr.store(server->get());
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("shutting down signal={}", signal_number);
  (*server)->Stop();
  // Exit without running static destructors: a collector stuck in a hung syscall may still hold references
  // to the file reader and system adapters.
  spdlog::default_logger()->flush();
  std::_Exit(0);
}
