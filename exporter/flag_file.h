// --config.file: the exporter's flags from a YAML file, for what is awkward on a command line (several log
// files, route rules, peers' credentials files) and for a ConfigMap. Every flag can be set under its name
// without the leading dashes; nested mappings join their keys with '.', so these three are the same:
//   collector.accesslog.path: [/var/log/nginx/access.log]
//   collector.accesslog: {path: [/var/log/nginx/access.log]}      (then `collector.accesslog: true` cannot
//   collector: {accesslog.path: /var/log/nginx/access.log}         be in the same mapping: use the dotted key)
// A scalar is one value, a sequence of scalars several (repeatable flags), true/false a switch
// (`collector.cpu: false` turns the collector off). Precedence: command line, then the file, then environment
// variables, then defaults. Unknown names, a name given twice and anything else than scalars, sequences of
// scalars and mappings are errors naming the line.
#pragma once

#include <CLI/CLI.hpp>
#include <istream>
#include <vector>

namespace topdog::exporter {

class YamlFlagFile : public CLI::ConfigBase {
 public:
  // Names are checked against `app`'s options; `app` must outlive this.
  explicit YamlFlagFile(const CLI::App& app) : app_(app) {}

  // Throws CLI::ConfigError("line N: ...") on the first problem.
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

 private:
  const CLI::App& app_;
};

}  // namespace topdog::exporter
