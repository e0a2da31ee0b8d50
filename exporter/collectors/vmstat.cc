// The vmstat collector (node_exporter collector/vmstat_linux.go): node_vmstat_<field> (untyped) for the
// /proc/vmstat fields matching --collector.vmstat.fields. Caches the regex verdict per field between
// scrapes; not thread-safe (CollectorSet calls Collect from one thread at a time).
#include "exporter/parse/vmstat.h"

#include <regex>
#include <string>
#include <vector>

#include "common/exposition/family_writer.h"
#include "exporter/collectors/collectors.h"
#include "exporter/collectors/device_filter.h"
#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

class VmstatCollector final : public Collector {
 public:
  VmstatCollector(const CollectorDeps& deps, std::regex fields)
      : reader_(deps.reader), path_(deps.options.paths.Proc("vmstat")), fields_(std::move(fields)) {}

  std::string_view Name() const override { return "vmstat"; }

  Result<std::vector<MetricFamily>> Collect() override {
    auto text = reader_.ReadInto(path_, buffer_);
    if (!text) return tl::unexpected(text.error());
    auto fields = ParseVmstat(*text);
    if (!fields) return tl::unexpected(fields.error().WithContext(path_));

    FamilyWriter out = NewWriter();
    if (verdicts_.size() > fields->size()) verdicts_.resize(fields->size());
    for (size_t i = 0; i < fields->size(); ++i) {
      const VmstatField& field = (*fields)[i];
      const Verdict& verdict = VerdictFor(i, field.name);
      if (!verdict.matches) continue;
      out.Single(verdict.metric_name, verdict.help, prometheus::MetricType::Untyped, field.value);
    }
    return std::move(out).Finish();
  }

 private:
  struct Verdict {
    std::string name;
    bool matches;
    std::string metric_name, help;  // when it matches
  };

  // The set and order of /proc/vmstat fields is fixed for a kernel, so the regex (std::regex is slow: a
  // few microseconds per search over ~190 fields) runs only for a field not seen at this position before.
  const Verdict& VerdictFor(size_t position, std::string_view name) {
    if (position < verdicts_.size() && verdicts_[position].name == name) return verdicts_[position];
    Verdict verdict{std::string(name), std::regex_search(name.begin(), name.end(), fields_), "", ""};
    if (verdict.matches) {
      verdict.metric_name = "node_vmstat_" + verdict.name;
      verdict.help = "/proc/vmstat information field " + verdict.name + ".";
    }
    if (position >= verdicts_.size()) verdicts_.resize(position + 1);
    return verdicts_[position] = std::move(verdict);
  }


  const FileReader& reader_;
  const std::string path_;
  std::string buffer_;  // the file's text, its storage reused by every read
  const std::regex fields_;
  std::vector<Verdict> verdicts_;  // by line position
};

}  // namespace

Result<std::unique_ptr<Collector>> NewVmstatCollector(const CollectorDeps& deps) {
  // Go's MatchString is an unanchored search, like std::regex_search; the default pattern anchors itself.
  auto fields = CompileFlagRegex("--collector.vmstat.fields", deps.options.vmstat_fields);
  if (!fields) return tl::unexpected(fields.error());
  if (!*fields) fields = std::optional<std::regex>(std::regex(""));  // empty flag: every field matches
  return std::make_unique<VmstatCollector>(deps, std::move(**fields));
}

}  // namespace topdog::exporter
