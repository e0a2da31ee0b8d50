// libFuzzer target: AcceptsGzip (the Accept-Encoding header) on arbitrary bytes, and GzipCompress of the
// same bytes, checked by inflating the result with zlib (the round trip must be the identity).
#include <zlib.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/http/gzip.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

std::string Gunzip(const std::string& compressed, size_t expected_size) {
  z_stream stream{};
  topdog::fuzz::Check(inflateInit2(&stream, 16 + MAX_WBITS) == Z_OK);  // 16: gzip framing
  std::string out(expected_size + 1, '\0');  // one spare byte: output past the original is an error
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int status = inflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  topdog::fuzz::Check(status == Z_STREAM_END && stream.avail_in == 0);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  const std::string_view text = topdog::fuzz::AsText(data, size);
  const bool accepts = topdog::http::AcceptsGzip(text);
  // Without a "gzip" or "*" token the answer can only be no (compared case-insensitively by the parser,
  // so look for the letters in any case).
  if (accepts) {
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    Check(lower.find("gzip") != std::string::npos || lower.find('*') != std::string::npos);
  }
  auto compressed = topdog::http::GzipCompress(text);
  Check(compressed.has_value());
  Check(Gunzip(*compressed, size) == text);
  return 0;
}
