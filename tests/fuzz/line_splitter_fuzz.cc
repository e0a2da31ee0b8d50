// libFuzzer target: LineSplitter (exporter/io/log_follower.h), the log follower's cut of a byte stream into
// lines. Input: bytes 0-1 set max_line_bytes (1..300), byte 2 the number k (0..15) of feed lengths in the next
// k bytes; the rest is the stream. The stream is fed whole in one Feed, and again in pieces of those lengths,
// cycled (a length 0 is an empty Feed; byte by byte when k is 0 or all lengths are 0). Both must hand out the
// lines of a split at '\n' done here (a line longer than max_line_bytes as TooLong with its first
// kTooLongHeadBytes), in one Feed as views of the input; after every Feed the lines and their '\n' plus
// pending_bytes() are the bytes fed. Finish hands out the pending rest as one last line and leaves nothing.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/io/log_follower.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using topdog::exporter::LineHandler;
using topdog::exporter::LineSplitter;
using topdog::fuzz::Check;

struct Event {
  bool too_long = false;
  std::string head;    // the line, or the head of a too-long one
  uint64_t bytes = 0;  // the line's length without '\n'
  bool operator==(const Event&) const = default;
};

Event ExpectedEvent(std::string_view line, size_t max_line_bytes) {
  if (line.size() <= max_line_bytes) return Event{false, std::string(line), line.size()};
  return Event{true, std::string(line.substr(0, LineSplitter::kTooLongHeadBytes)), line.size()};
}

class Recorder : public LineHandler {
 public:
  explicit Recorder(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  void Line(std::string_view line) override {
    Check(line.find('\n') == std::string_view::npos);
    Check(line.size() <= max_line_bytes_);
    if (views_into) Check(topdog::fuzz::PointsInto(line, *views_into));
    Record(Event{false, std::string(line), line.size()});
  }
  void TooLong(std::string_view head, uint64_t bytes) override {
    Check(head.find('\n') == std::string_view::npos);
    Check(head.size() <= LineSplitter::kTooLongHeadBytes);
    Check(bytes > max_line_bytes_);
    if (views_into) Check(topdog::fuzz::PointsInto(head, *views_into));
    Record(Event{true, std::string(head), bytes});
  }
  void Reset() override { Check(false); }  // LogFollower's call on truncation, never the splitter's

  // Set while the whole stream is fed in one Feed: every line must then be a view of it.
  std::optional<std::string_view> views_into;
  std::vector<Event> events;
  uint64_t line_bytes_with_newlines = 0;  // of the events so far, each as if ended by '\n'

 private:
  void Record(Event event) {
    line_bytes_with_newlines += event.bytes + 1;
    events.push_back(std::move(event));
  }

  size_t max_line_bytes_;
};

// Finish hands out the pending rest (if any) as one last line and leaves the splitter empty.
void FinishAndCheck(LineSplitter& splitter, Recorder& recorder, std::string_view rest, size_t max_line_bytes) {
  const size_t before = recorder.events.size();
  splitter.Finish(recorder);
  if (rest.empty()) {
    Check(recorder.events.size() == before);
  } else {
    Check(recorder.events.size() == before + 1 && recorder.events.back() == ExpectedEvent(rest, max_line_bytes));
  }
  Check(splitter.pending_bytes() == 0);
  splitter.Finish(recorder);
  Check(recorder.events.size() == before + (rest.empty() ? 0 : 1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const size_t max_line_bytes = 1 + (data[0] | data[1] << 8) % 300;
  const size_t length_count = data[2] % 16;
  if (size < 3 + length_count) return 0;
  std::vector<size_t> lengths(data + 3, data + 3 + length_count);
  if (std::all_of(lengths.begin(), lengths.end(), [](size_t length) { return length == 0; })) lengths = {1};
  const std::string_view stream = topdog::fuzz::AsText(data + 3 + length_count, size - 3 - length_count);

  std::vector<Event> expected;
  size_t line_start = 0;
  for (size_t newline = stream.find('\n'); newline != std::string_view::npos; newline = stream.find('\n', line_start)) {
    expected.push_back(ExpectedEvent(stream.substr(line_start, newline - line_start), max_line_bytes));
    line_start = newline + 1;
  }
  const std::string_view rest = stream.substr(line_start);

  LineSplitter whole(max_line_bytes);
  Recorder whole_lines(max_line_bytes);
  whole_lines.views_into = stream;
  whole.Feed(stream, whole_lines);
  whole_lines.views_into.reset();
  Check(whole_lines.events == expected);
  Check(whole.pending_bytes() == rest.size());
  Check(whole_lines.line_bytes_with_newlines + whole.pending_bytes() == stream.size());

  LineSplitter pieces(max_line_bytes);
  Recorder piece_lines(max_line_bytes);
  size_t fed = 0;
  for (size_t i = 0; fed < stream.size(); ++i) {
    const size_t length = std::min(lengths[i % lengths.size()], stream.size() - fed);
    // An allocation of its own per piece, so that ASan reports a read past its end.
    std::unique_ptr<char[]> piece(new char[length]);
    std::memcpy(piece.get(), stream.data() + fed, length);
    pieces.Feed(std::string_view(piece.get(), length), piece_lines);
    fed += length;
    Check(piece_lines.line_bytes_with_newlines + pieces.pending_bytes() == fed);
  }
  Check(piece_lines.events == whole_lines.events);
  Check(pieces.pending_bytes() == whole.pending_bytes());

  FinishAndCheck(whole, whole_lines, rest, max_line_bytes);
  FinishAndCheck(pieces, piece_lines, rest, max_line_bytes);
  return 0;
}
