// libFuzzer target: ParseNodePoolAnswer (DigitalOcean's GET/PUT node pool answers) on arbitrary bytes. What parses
// has an id, counts in [0, INT_MAX], and tags/labels/taints as JSON that SetBounds can echo unchanged in its PUT.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "advisor/io/do_client.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using nlohmann::json;
using topdog::fuzz::Check;

// "" (absent, left out of the PUT) or compact JSON of the API's type or null, which parses and prints back the same.
void CheckEchoable(const std::string& text, json::value_t want) {
  if (text.empty()) return;
  const json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  Check(!value.is_discarded());
  Check(value.is_null() || value.type() == want);
  Check(value.dump() == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto pool = topdog::advisor::ParseNodePoolAnswer(topdog::fuzz::AsText(data, size));
  if (!pool) {
    Check(pool.error().kind == topdog::ErrorKind::kBadData && !pool.error().message.empty());
    return 0;
  }
  Check(!pool->id.empty());
  Check(pool->count >= 0 && pool->min_nodes >= 0 && pool->max_nodes >= 0);
  CheckEchoable(pool->tags_json, json::value_t::array);
  CheckEchoable(pool->labels_json, json::value_t::object);
  CheckEchoable(pool->taints_json, json::value_t::array);
  return 0;
}
