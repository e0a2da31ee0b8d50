// libFuzzer target: AlertTemplate::Parse (alert label and annotation templates) on arbitrary bytes, then Expand
// of what parses with fixed data (a label "raw" holds invalid UTF-8 and a rune of Unicode 14, for the regular
// expressions). Errors name a column; an expansion is bounded, and the same twice (it depends on nothing but the
// template and the data); plain text expands to itself.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "advisor/core/alert_template.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  using namespace topdog::advisor;
  auto parsed = AlertTemplate::Parse(topdog::fuzz::AsText(data, size));
  if (!parsed) {
    Check(parsed.error().kind == topdog::ErrorKind::kBadData);
    Check(parsed.error().message.rfind("column ", 0) == 0);
    return 0;
  }
  static const std::map<std::string, std::string> kLabels = {
      {"instance", "host-1.example.com:9100"}, {"job", "api"},           {"path", "/a b/c"},
      {"raw", "x\xFFy\xC3 \xE0\xA1\xB0"},      {"severity", "critical"}, {"unicode", "h\xC3\xA9llo w\xC3\xB6rld"}};
  static const std::map<std::string, std::string> kExternalLabels = {{"region", "eu-west"}};
  const AlertTemplateData input{&kLabels, &kExternalLabels, "http://prom.example.com:9090/sub", 1234.5};
  auto first = parsed->Expand(input);
  auto second = parsed->Expand(input);
  Check(first.has_value() == second.has_value());
  if (first) {
    Check(*first == *second);
    Check(first->size() <= kAlertTemplateMaxOutputBytes);
    if (!parsed->has_actions()) Check(*first == parsed->text());
  } else {
    Check(first.error().message == second.error().message);
    Check(first.error().message.rfind("column ", 0) == 0);
    const std::string text = parsed->PrometheusErrorText("Rule", first.error());
    Check(text.rfind("<error expanding template: ", 0) == 0 && text.back() == '>');
  }
  return 0;
}
