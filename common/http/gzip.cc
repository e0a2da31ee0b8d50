#include "common/http/gzip.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include <zlib.h>

namespace topdog::http {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// q-value of one Accept-Encoding element's parameters ("q=0.5"); 1 when absent, 0 when malformed.
double QValue(std::string_view params) {
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view param = Trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    size_t eq = param.find('=');
    if (eq == std::string_view::npos || !EqualsIgnoreCase(Trim(param.substr(0, eq)), "q")) continue;
    std::string_view value = Trim(param.substr(eq + 1));
    double q = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), q);
    if (ec != std::errc() || ptr != value.data() + value.size() || !(q >= 0) || q > 1) return 0;
    return q;
  }
  return 1;
}

}  // namespace

bool AcceptsGzip(std::string_view accept_encoding) {
  std::optional<double> gzip_q;
  std::optional<double> star_q;
  while (!accept_encoding.empty()) {
    size_t comma = accept_encoding.find(',');
    std::string_view element = accept_encoding.substr(0, comma);
    accept_encoding = comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    size_t semi = element.find(';');
    std::string_view coding = Trim(element.substr(0, semi));
    double q = semi == std::string_view::npos ? 1.0 : QValue(element.substr(semi + 1));
    if (EqualsIgnoreCase(coding, "gzip") || EqualsIgnoreCase(coding, "x-gzip")) {
      gzip_q = std::max(gzip_q.value_or(0.0), q);
    } else if (coding == "*") {
      star_q = std::max(star_q.value_or(0.0), q);
    }
  }
  if (gzip_q) return *gzip_q > 0;
  return star_q.value_or(0.0) > 0;
}

Result<std::string> GzipCompress(std::string_view data) {
  // One-shot deflate takes the size as uInt; responses are far smaller than this.
  if (data.size() > (1u << 30)) {
    return MakeError(ErrorKind::kBadData, "gzip: body of " + std::to_string(data.size()) + " bytes is too large");
  }
  z_stream stream{};
  // windowBits 15 + 16 selects the gzip wrapper instead of zlib's; memLevel 8 is zlib's default.
  if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return MakeError(ErrorKind::kUnavailable, "gzip: deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&stream, static_cast<uLong>(data.size())));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  // deflateBound guarantees that one Z_FINISH call completes.
  int rc = deflate(&stream, Z_FINISH);
  size_t written = stream.total_out;
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) {
    return MakeError(ErrorKind::kUnavailable, "gzip: deflate failed with code " + std::to_string(rc));
  }
  out.resize(written);
  return out;
}

}  // namespace topdog::http
