#include "exporter/parse/route_template.h"

#include <algorithm>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

bool IsHexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool IsAllDigits(std::string_view segment) {
  if (segment.empty()) return false;
  for (char c : segment) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsUuid(std::string_view segment) {
  if (segment.size() != 36) return false;
  for (size_t i = 0; i < segment.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? segment[i] != '-' : !IsHexDigit(segment[i])) return false;
  }
  return true;
}

bool IsHexHash(std::string_view segment) {
  constexpr size_t kMinHashDigits = 16;  // a 64-bit hex id; git's short hashes (7-12) stay, like "v1" and words
  if (segment.size() < kMinHashDigits) return false;
  return std::all_of(segment.begin(), segment.end(), IsHexDigit);
}

// Length of the valid UTF-8 sequence at the start of `text` (RFC 3629: no overlong forms, no surrogates,
// at most U+10FFFF), or 0 if it does not start with one.
size_t Utf8SequenceLength(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

void AppendPercentEncoded(unsigned char byte, std::string& out) {
  constexpr char kHex[] = "0123456789ABCDEF";
  out += '%';
  out += kHex[byte >> 4];
  out += kHex[byte & 0xF];
}

bool IsValidRoute(std::string_view route) {
  std::string sanitized;
  AppendUtf8Sanitized(route, sanitized);
  return sanitized == route;
}

}  // namespace

void AppendUtf8Sanitized(std::string_view text, std::string& out) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      // Copy the printable ASCII run at once (the common case: the whole path).
      size_t end = i + 1;
      while (end < text.size() && static_cast<unsigned char>(text[end]) >= 0x20 &&
             static_cast<unsigned char>(text[end]) < 0x7F) {
        ++end;
      }
      out.append(text.substr(i, end - i));
      i = end;
      continue;
    }
    if (c >= 0x80) {
      size_t length = Utf8SequenceLength(text.substr(i));
      if (length > 0) {
        out.append(text.substr(i, length));
        i += length;
        continue;
      }
    }
    AppendPercentEncoded(c, out);
    ++i;
  }
}

Result<RouteTemplater> RouteTemplater::Create(RouteTemplateOptions options) {
  if (options.max_route_bytes < kMinRouteBytes) {
    return MakeError(ErrorKind::kBadData, "max route length " + std::to_string(options.max_route_bytes) +
                                              " is below the minimum of " + std::to_string(kMinRouteBytes));
  }
  for (const RoutePrefixRule& rule : options.prefix_rules) {
    if (rule.prefix.empty()) return MakeError(ErrorKind::kBadData, "route rule with an empty prefix");
    if (rule.route.empty()) {
      return MakeError(ErrorKind::kBadData,
                       "route rule for prefix " + parse::QuoteEscaped(rule.prefix) + " has an empty route");
    }
    if (rule.route.size() > options.max_route_bytes || !IsValidRoute(rule.route)) {
      return MakeError(ErrorKind::kBadData, "route " + parse::QuoteEscaped(rule.route) + " for prefix " +
                                                parse::QuoteEscaped(rule.prefix) +
                                                " is longer than the maximum route length or not printable UTF-8");
    }
  }
  // Longest prefix first, ties by prefix text: the outcome must not depend on the configuration's order.
  std::sort(options.prefix_rules.begin(), options.prefix_rules.end(),
            [](const RoutePrefixRule& a, const RoutePrefixRule& b) {
              if (a.prefix.size() != b.prefix.size()) return a.prefix.size() > b.prefix.size();
              return a.prefix < b.prefix;
            });
  return RouteTemplater(std::move(options));
}

void RouteTemplater::Template(std::string_view path, std::string& out) const {
  out.clear();
  path = path.substr(0, path.find_first_of("?#"));
  if (path.empty()) {
    out = "/";
    return;
  }
  for (const RoutePrefixRule& rule : options_.prefix_rules) {
    if (path.starts_with(rule.prefix)) {
      out = rule.route;
      return;
    }
  }
  const size_t max_bytes = options_.max_route_bytes;
  size_t fits = 0;  // length of the longest whole-segment prefix that leaves room for "/*"
  size_t pos = 0;
  while (true) {
    const size_t slash = path.find('/', pos);
    const std::string_view segment =
        path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (pos > 0) out += '/';
    if (IsAllDigits(segment)) {
      out += ":id";
    } else if (IsUuid(segment)) {
      out += ":uuid";
    } else if (IsHexHash(segment)) {
      out += ":hash";
    } else {
      AppendUtf8Sanitized(segment.substr(0, max_bytes + 1), out);  // more would be cut anyway
    }
    if (out.size() > max_bytes) {
      out.resize(fits);
      out += "/*";
      return;
    }
    if (out.size() + 2 <= max_bytes) fits = out.size();
    if (slash == std::string_view::npos) return;
    pos = slash + 1;
  }
}

std::string RouteTemplater::Template(std::string_view path) const {
  std::string out;
  Template(path, out);
  return out;
}

std::string_view TopRoutes::Label(std::string_view route) {
  if (route == kOther) return kOther;
  auto it = routes_.find(route);
  if (it != routes_.end()) return *it;
  if (routes_.size() < max_routes_) return *routes_.emplace(route).first;
  ++overflow_total_;
  return kOther;
}

}  // namespace topdog::exporter
