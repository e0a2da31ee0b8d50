// libFuzzer target: ParseQuery (Prometheus's instant `query` answers, as the advisor reads them) on arbitrary
// bytes. Errors carry the "query answer: " prefix; what parses has no two elements with the same labels.
#include <cstddef>
#include <cstdint>
#include <set>

#include "advisor/io/prometheus_api.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto answer = topdog::advisor::ParseQuery(topdog::fuzz::AsText(data, size));
  if (!answer) {
    topdog::fuzz::Check(answer.error().message.rfind("query answer: ", 0) == 0);
    return 0;
  }
  std::set<std::map<std::string, std::string>> labels;
  for (const auto& [sample_labels, sample] : answer->samples) {
    topdog::fuzz::Check(labels.insert(sample_labels).second);
  }
  return 0;
}
