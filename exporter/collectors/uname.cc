// The uname collector (node_exporter collector/uname.go): node_uname_info with the uname(2) fields as
// labels. Stateless; not called concurrently.
#include <string>
#include <vector>

#include "common/exposition/family_writer.h"
#include "exporter/collectors/collectors.h"

namespace topdog::exporter {
namespace {

class UnameCollector final : public Collector {
 public:
  explicit UnameCollector(const CollectorDeps& deps) : system_(deps.system) {}

  std::string_view Name() const override { return "uname"; }

  Result<std::vector<MetricFamily>> Collect() override {
    auto uname = system_.Uname();
    if (!uname) return tl::unexpected(uname.error());
    FamilyWriter out = NewWriter();
    const size_t info =
        out.Gauge("node_uname_info", "Labeled system information as provided by the uname system call.");
    out.Sample(info, 1.0,
               {{"domainname", uname->domainname},
                {"machine", uname->machine},
                {"nodename", uname->nodename},
                {"release", uname->release},
                {"sysname", uname->sysname},
                {"version", uname->version}});
    return std::move(out).Finish();
  }

 private:
  const System& system_;
};

}  // namespace

Result<std::unique_ptr<Collector>> NewUnameCollector(const CollectorDeps& deps) {
  return std::make_unique<UnameCollector>(deps);
}

}  // namespace topdog::exporter
