// libFuzzer target: the access-log position file (exporter/io/log_follower.h). ParsePositions on arbitrary
// bytes either fails with kBadData and one printable line, or gives positions that FormatPositions writes back
// so that they parse to the same positions, Format(Parse(Format(p))) being Format(p). The input is also read
// as binary records making positions with any bytes in their paths and numbers of the full range: formatted
// and parsed back they give all but the empty paths and those holding a '\n' (left out by design).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "exporter/io/log_follower.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using topdog::exporter::FilePosition;
using topdog::exporter::FilePositions;
using topdog::exporter::FormatPositions;
using topdog::exporter::ParsePositions;
using topdog::fuzz::Check;

void CheckMessage(const std::string& message) {
  Check(!message.empty());
  for (char c : message) Check(c >= 0x20 && c < 0x7f);
}

bool Writable(const std::string& path) { return !path.empty() && path.find('\n') == std::string::npos; }

void CheckParse(std::string_view text) {
  auto positions = ParsePositions(text);
  if (!positions) {
    Check(positions.error().kind == topdog::ErrorKind::kBadData);
    CheckMessage(positions.error().message);
    return;
  }
  // Accepted: the header line (what an empty FilePositions formats to), then complete lines, one per path.
  const std::string header = FormatPositions({});
  Check(text.substr(0, header.size()) == header);
  Check(text.back() == '\n');
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  Check(positions->size() <= lines - 1);
  for (const auto& [path, position] : *positions) Check(Writable(path));

  const std::string formatted = FormatPositions(*positions);
  auto again = ParsePositions(formatted);
  Check(again && *again == *positions);
  Check(FormatPositions(*again) == formatted);
}

// Records of <path length: 1 byte> <device> <inode> <offset: 8 bytes each, host order> <path>; an incomplete
// last record is dropped.
FilePositions PositionsFromRecords(std::string_view bytes) {
  constexpr size_t kNumbersBytes = 3 * sizeof(uint64_t);
  FilePositions positions;
  while (!bytes.empty()) {
    const size_t path_bytes = static_cast<uint8_t>(bytes[0]);
    if (bytes.size() < 1 + kNumbersBytes + path_bytes) break;
    FilePosition position;
    std::memcpy(&position.device, bytes.data() + 1, sizeof(uint64_t));
    std::memcpy(&position.inode, bytes.data() + 1 + sizeof(uint64_t), sizeof(uint64_t));
    std::memcpy(&position.offset, bytes.data() + 1 + 2 * sizeof(uint64_t), sizeof(uint64_t));
    positions[std::string(bytes.substr(1 + kNumbersBytes, path_bytes))] = position;
    bytes.remove_prefix(1 + kNumbersBytes + path_bytes);
  }
  return positions;
}

void CheckFormat(const FilePositions& positions) {
  FilePositions writable;
  for (const auto& [path, position] : positions) {
    if (Writable(path)) writable[path] = position;
  }
  const std::string formatted = FormatPositions(positions);
  Check(formatted == FormatPositions(writable));
  auto parsed = ParsePositions(formatted);
  Check(parsed && *parsed == writable);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = topdog::fuzz::AsText(data, size);
  CheckParse(input);
  CheckFormat(PositionsFromRecords(input));
  return 0;
}
