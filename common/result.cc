#include "common/result.h"

namespace topdog {

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kUnavailable: return "unavailable";
    case ErrorKind::kBadData: return "bad_data";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kRejected: return "rejected";
    case ErrorKind::kDeadlineExceeded: return "deadline_exceeded";
    case ErrorKind::kConflict: return "conflict";
    case ErrorKind::kRateLimited: return "rate_limited";
  }
  return "unknown";
}

}  // namespace topdog
