// libFuzzer target: ParseTextFormat (the Prometheus text format the advisor's embedded mode scrapes) on
// arbitrary bytes. Every error names its line; what parses has valid metric and label names, at most the
// limits' samples and labels, and a TYPE from the five known ones.
#include <cstddef>
#include <cstdint>

#include "common/exposition/text_parser.h"
#include "common/exposition/text_writer.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace topdog::exposition;
  ParseLimits limits;
  limits.max_line_bytes = 4096;
  limits.max_samples = 1000;
  limits.max_labels = 16;
  auto page = ParseTextFormat(topdog::fuzz::AsText(data, size), limits);
  if (!page) {
    topdog::fuzz::Check(page.error().message.rfind("line ", 0) == 0);
    return 0;
  }
  topdog::fuzz::Check(page->samples.size() <= limits.max_samples);
  for (const auto& sample : page->samples) {
    topdog::fuzz::Check(IsValidMetricName(sample.name));
    topdog::fuzz::Check(sample.labels.size() <= limits.max_labels);
    for (const auto& [name, value] : sample.labels) topdog::fuzz::Check(IsValidLabelName(name));
  }
  for (const auto& family : page->families) {
    topdog::fuzz::Check(IsValidMetricName(family.name));
    const std::string& t = family.type;
    topdog::fuzz::Check(t == "counter" || t == "gauge" || t == "summary" || t == "histogram" || t == "untyped");
  }
  return 0;
}
