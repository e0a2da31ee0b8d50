// gzip content negotiation and compression for HTTP responses. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace topdog::http {

// Bodies below this size are sent uncompressed: the gzip framing and the CPU are not worth it.
inline constexpr size_t kMinGzipBytes = 1024;

// Whether an Accept-Encoding header value allows gzip, honouring q-values (RFC 9110 12.5.3):
// "gzip" or "x-gzip" with q > 0 says yes, "gzip;q=0" says no even when "*" is listed; otherwise "*" with
// q > 0 says yes. Names are case-insensitive; an unparsable q-value counts as q=0.
bool AcceptsGzip(std::string_view accept_encoding);

// gzip (RFC 1952) at level 1: a scrape's CPU matters more than the last few percent of bytes.
Result<std::string> GzipCompress(std::string_view data);

}  // namespace topdog::http
