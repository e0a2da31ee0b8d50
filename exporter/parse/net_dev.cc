#include "exporter/parse/net_dev.h"

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

constexpr std::string_view kFieldNames[kNetDevFieldCount] = {
    "receive bytes",  "receive packets",  "receive errs",       "receive drop",
    "receive fifo",   "receive frame",    "receive compressed", "receive multicast",
    "transmit bytes", "transmit packets", "transmit errs",      "transmit drop",
    "transmit fifo",  "transmit colls",   "transmit carrier",   "transmit compressed",
};

constexpr int kHeaderLines = 2;

tl::unexpected<Error> LineError(int line_number, std::string message) {
  return MakeError(ErrorKind::kBadData, parse::LineContext(line_number) + ": " + message);
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && parse::IsFieldSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && parse::IsFieldSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::vector<NetDevLine>> ParseNetDev(std::string_view text) {
  std::vector<NetDevLine> lines;
  lines.reserve(16);
  parse::LineScanner scanner(text);
  std::string_view line;
  while (scanner.Next(line)) {
    const int line_number = scanner.line_number();
    if (line_number <= kHeaderLines) continue;
    if (TrimSpaces(line).empty()) continue;
    size_t colon = line.rfind(':');
    if (colon == std::string_view::npos) {
      return LineError(line_number, "missing ':' after the interface name in " + parse::QuoteField(line));
    }
    NetDevLine out;
    std::string_view name = TrimSpaces(line.substr(0, colon));
    if (name.empty()) return LineError(line_number, "empty interface name");
    std::string_view rest = line.substr(colon + 1);
    for (size_t i = 0; i < kNetDevFieldCount; ++i) {
      std::string_view field = parse::NextField(rest);
      auto value = parse::ParseUint64(field);
      if (!value) {
        std::string what = "interface " + parse::QuoteField(name) + ": field " + std::to_string(i + 1) + " (" +
                           std::string(kFieldNames[i]) + "): ";
        what += field.empty() ? "missing (expected 16 counters)" : "invalid number " + parse::QuoteField(field);
        return LineError(line_number, std::move(what));
      }
      out.values[i] = *value;
    }
    out.name.assign(name);
    lines.push_back(std::move(out));
  }
  return lines;
}

}  // namespace topdog::exporter
