#include "exporter/parse/stub_status.h"

#include <string>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

// Walks the page left to right; each step either consumes what nginx writes there or explains the mismatch.
class StubStatusScanner {
 public:
  explicit StubStatusScanner(std::string_view text) : text_(text) {}

  bool Literal(std::string_view expected) {
    if (text_.substr(pos_, expected.size()) == expected) {
      pos_ += expected.size();
      return true;
    }
    // Point at the first differing byte, not at the start of the literal.
    size_t same = 0;
    while (pos_ + same < text_.size() && same < expected.size() && text_[pos_ + same] == expected[same]) ++same;
    pos_ += same;
    return Fail(parse::QuoteEscaped(expected.substr(same)));
  }

  bool Number(uint64_t& out, std::string_view name) {
    size_t end = pos_;
    while (end < text_.size() && text_[end] >= '0' && text_[end] <= '9') ++end;
    auto value = parse::ParseUint64(text_.substr(pos_, end - pos_));
    if (!value) return Fail("the " + std::string(name) + " count (an unsigned integer)");
    out = *value;
    pos_ = end;
    return true;
  }

  bool End() {
    if (pos_ == text_.size()) return true;
    return Fail("the end of the page");
  }

  Error error() const { return error_; }

 private:
  bool Fail(std::string expected) {
    // Line and column of pos_, 1-based, for a message an operator can match against the page.
    int line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < pos_; ++i) {
      if (text_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    std::string_view rest = text_.substr(pos_);
    std::string found = rest.empty() ? "the end of the page" : parse::QuoteEscaped(rest.substr(0, rest.find('\n')));
    std::string message = "not an nginx stub_status page: expected " + expected + " at line " + std::to_string(line) +
                          ", column " + std::to_string(pos_ - line_start + 1) + ", found " + found;
    if (StartsLikeHtml()) message += " (the page is HTML, e.g. an error page: is the URL a stub_status location?)";
    error_ = Error{ErrorKind::kBadData, std::move(message)};
    return false;
  }

  bool StartsLikeHtml() const {
    size_t i = 0;
    while (i < text_.size() && (parse::IsFieldSpace(text_[i]) || text_[i] == '\n')) ++i;
    return i < text_.size() && text_[i] == '<';
  }

  std::string_view text_;
  size_t pos_ = 0;
  Error error_{ErrorKind::kBadData, ""};
};

}  // namespace

Result<StubStatus> ParseStubStatus(std::string_view text) {
  // The format string of ngx_http_stub_status_handler (src/http/modules/ngx_http_stub_status_module.c).
  StubStatus status;
  StubStatusScanner scan(text);
  bool ok = scan.Literal("Active connections: ") && scan.Number(status.active, "active") &&  //
            scan.Literal(" \nserver accepts handled requests\n ") && scan.Number(status.accepted, "accepted") &&
            scan.Literal(" ") && scan.Number(status.handled, "handled") && scan.Literal(" ") &&
            scan.Number(status.requests, "requests") && scan.Literal(" \nReading: ") &&
            scan.Number(status.reading, "reading") && scan.Literal(" Writing: ") &&
            scan.Number(status.writing, "writing") && scan.Literal(" Waiting: ") &&
            scan.Number(status.waiting, "waiting") && scan.Literal(" \n") && scan.End();
  if (!ok) return tl::unexpected(scan.error());
  return status;
}

}  // namespace topdog::exporter
