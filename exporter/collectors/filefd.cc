// The filefd collector (node_exporter collector/filefd_linux.go): node_filefd_allocated and
// node_filefd_maximum from /proc/sys/fs/file-nr. Stateless; not called concurrently.
#include <string>
#include <vector>

#include "common/exposition/family_writer.h"
#include "exporter/collectors/collectors.h"
#include "exporter/parse/file_nr.h"

namespace topdog::exporter {
namespace {

class FilefdCollector final : public Collector {
 public:
  explicit FilefdCollector(const CollectorDeps& deps)
      : reader_(deps.reader), path_(deps.options.paths.Proc("sys/fs/file-nr")) {}

  std::string_view Name() const override { return "filefd"; }

  Result<std::vector<MetricFamily>> Collect() override {
    auto text = reader_.ReadInto(path_, buffer_);
    if (!text) return tl::unexpected(text.error());
    auto file_nr = ParseFileNr(*text);
    if (!file_nr) return tl::unexpected(file_nr.error().WithContext(path_));
    FamilyWriter out = NewWriter();
    out.Single("node_filefd_allocated", "File descriptor statistics: allocated.", prometheus::MetricType::Gauge,
               file_nr->allocated);
    out.Single("node_filefd_maximum", "File descriptor statistics: maximum.", prometheus::MetricType::Gauge,
               file_nr->maximum);
    return std::move(out).Finish();
  }

 private:
  const FileReader& reader_;
  const std::string path_;
  std::string buffer_;  // the file's text, its storage reused by every read
};

}  // namespace

Result<std::unique_ptr<Collector>> NewFilefdCollector(const CollectorDeps& deps) {
  return std::make_unique<FilefdCollector>(deps);
}

}  // namespace topdog::exporter
