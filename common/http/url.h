// URL helpers for the HTTP server: percent-decoding and query-string splitting as Go's net/url does
// them ('+' is a space in query components). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace topdog::http {

// Decodes "%XX" escapes, and '+' as a space when plus_as_space. A malformed escape ("%zz", a trailing
// "%4") is kept verbatim rather than rejecting the whole request: a scrape with an odd query value should
// still be answered, and the value simply matches nothing.
std::string PercentDecode(std::string_view text, bool plus_as_space);

// Splits "a=1&b=2&a=3" into decoded (name, value) pairs in order. Empty pieces ("a=1&&b") are skipped and a
// piece without '=' has an empty value. Like Go >= 1.17, ';' is not a separator.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query);

}  // namespace topdog::http
