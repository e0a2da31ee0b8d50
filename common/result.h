// Result<T>: a value or an Error{kind, message}. Errors are values, never exceptions across modules.
// Thread-safe as any value type. The alias lets C++23 std::expected replace tl::expected later.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace topdog {

enum class ErrorKind {
  kUnavailable,  // the source is down, slow or unreachable; retrying may help
  kBadData,      // the source answered with something we cannot parse
  kNotFound,     // the thing does not exist (absent file, absent subsystem)
  kRejected,     // the peer refused (permission denied, 4xx): retrying the same request will not help
  kDeadlineExceeded,
  kConflict,     // optimistic concurrency lost (HTTP 409): re-read, decide again
  kRateLimited,  // the peer asks us to slow down (HTTP 429 or an exhausted rate-limit budget)
};

std::string_view ErrorKindName(ErrorKind kind);

struct Error {
  ErrorKind kind;
  std::string message;

  // Returns a copy whose message is "<context>: <message>".
  Error WithContext(std::string_view context) const {
    return Error{kind, std::string(context) + ": " + message};
  }
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> MakeError(ErrorKind kind, std::string message) {
  return tl::unexpected<Error>(Error{kind, std::move(message)});
}

}  // namespace topdog
