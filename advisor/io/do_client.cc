#include "advisor/io/do_client.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>
#include <utility>

#include "advisor/io/bounded_json.h"

namespace topdog::advisor {
namespace {

using nlohmann::json;

// Waiting longer than this after a 429 would stall the reconciler on a bad header; the hourly budget refills
// within an hour anyway.
constexpr std::chrono::milliseconds kMaxRetryAfter = std::chrono::hours(1);
constexpr double kDefaultRetryAfterSeconds = 60;

double SystemNowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "2024-05-01T12:00:00Z (in 42 s)": when the client may send again, readable in a log line.
std::string Until(double epoch_seconds, double now_seconds) {
  const std::time_t whole = static_cast<std::time_t>(std::ceil(epoch_seconds));
  std::tm utc{};
  char text[32] = "?";
  if (gmtime_r(&whole, &utc) != nullptr) std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  const long long wait_seconds = static_cast<long long>(std::ceil(std::max(0.0, epoch_seconds - now_seconds)));
  return std::string(text) + " (in " + std::to_string(wait_seconds) + " s)";
}

std::optional<double> HeaderNumber(const HttpResponse& response, std::string_view lower_name) {
  std::string_view text = response.Header(lower_name);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0) {
    return std::nullopt;
  }
  return value;
}

// The API's error body `{"id":"unauthorized","message":"Unable to authenticate you"}` as "unauthorized: Unable
// to authenticate you"; anything else (a proxy's HTML page) cut short and made printable.
std::string ApiErrorText(const std::string& body) {
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_object()) {
    auto message = parsed.find("message");
    if (message != parsed.end() && message->is_string()) {
      auto id = parsed.find("id");
      const std::string prefix = (id != parsed.end() && id->is_string()) ? id->get<std::string>() + ": " : "";
      return prefix + message->get<std::string>();
    }
  }
  std::string text = body.substr(0, 200);
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = ' ';
  }
  return text.empty() ? "(empty body)" : text;
}

Result<int> CountField(const json& pool, const char* key, bool required) {
  auto it = pool.find(key);
  if (it == pool.end() || it->is_null()) {
    if (required) return MakeError(ErrorKind::kBadData, std::string("node_pool has no ") + key);
    return 0;
  }
  if (!it->is_number_integer())
    return MakeError(ErrorKind::kBadData, std::string("node_pool ") + key + " is not an integer");
  const long long value = it->get<long long>();
  if (value < 0 || value > INT_MAX)
    return MakeError(ErrorKind::kBadData, std::string("node_pool ") + key + " out of range");
  return static_cast<int>(value);
}

// The JSON text of tags/labels/taints, "" when absent; `want` is the type the API uses (null also accepted).
Result<std::string> EchoField(const json& pool, const char* key, json::value_t want) {
  auto it = pool.find(key);
  if (it == pool.end()) return std::string();
  if (!it->is_null() && it->type() != want) {
    return MakeError(ErrorKind::kBadData, std::string("node_pool ") + key + " has the wrong type");
  }
  return it->dump();
}

}  // namespace

Result<NodePool> ParseNodePoolAnswer(std::string_view body) {
  json root = ParseBoundedJson(body);
  if (!root.is_object()) return MakeError(ErrorKind::kBadData, "node pool answer is not a JSON object");
  auto found = root.find("node_pool");
  if (found == root.end() || !found->is_object()) {
    return MakeError(ErrorKind::kBadData, "node pool answer has no node_pool object");
  }
  const json& pool = *found;
  NodePool out;
  auto id = pool.find("id");
  auto name = pool.find("name");
  if (id == pool.end() || !id->is_string() || id->get<std::string>().empty()) {
    return MakeError(ErrorKind::kBadData, "node_pool has no id");
  }
  if (name == pool.end() || !name->is_string()) return MakeError(ErrorKind::kBadData, "node_pool has no name");
  out.id = id->get<std::string>();
  out.name = name->get<std::string>();
  auto auto_scale = pool.find("auto_scale");
  if (auto_scale != pool.end() && !auto_scale->is_null()) {
    if (!auto_scale->is_boolean()) return MakeError(ErrorKind::kBadData, "node_pool auto_scale is not a boolean");
    out.auto_scale = auto_scale->get<bool>();
  }
  auto count = CountField(pool, "count", /*required=*/true);
  if (!count) return tl::unexpected(count.error());
  auto min_nodes = CountField(pool, "min_nodes", false);
  if (!min_nodes) return tl::unexpected(min_nodes.error());
  auto max_nodes = CountField(pool, "max_nodes", false);
  if (!max_nodes) return tl::unexpected(max_nodes.error());
  out.count = *count;
  out.min_nodes = *min_nodes;
  out.max_nodes = *max_nodes;
  auto tags = EchoField(pool, "tags", json::value_t::array);
  if (!tags) return tl::unexpected(tags.error());
  auto labels = EchoField(pool, "labels", json::value_t::object);
  if (!labels) return tl::unexpected(labels.error());
  auto taints = EchoField(pool, "taints", json::value_t::array);
  if (!taints) return tl::unexpected(taints.error());
  out.tags_json = std::move(*tags);
  out.labels_json = std::move(*labels);
  out.taints_json = std::move(*taints);
  return out;
}

DoClient::DoClient(HttpClient& http, SecretFile& token, std::string api_base, std::function<double()> now_seconds)
    : http_(http), token_(token), api_base_(std::move(api_base)), now_seconds_(std::move(now_seconds)) {
  while (!api_base_.empty() && api_base_.back() == '/') api_base_.pop_back();
  if (!now_seconds_) now_seconds_ = SystemNowSeconds;
}

DoRateLimitState DoClient::RateLimit() const {
  std::lock_guard lock(mutex_);
  return budget_;
}

Result<NodePool> DoClient::GetNodePool(const std::string& cluster_id, const std::string& pool_id) {
  if (cluster_id.empty() || pool_id.empty()) {
    return MakeError(ErrorKind::kRejected, "DigitalOcean node pool: empty cluster or pool id");
  }
  return Exchange("GET", "/v2/kubernetes/clusters/" + UrlEncode(cluster_id) + "/node_pools/" + UrlEncode(pool_id), "");
}

Result<NodePool> DoClient::SetBounds(const std::string& cluster_id, const NodePool& current, int min_nodes,
                                     int max_nodes) {
  const std::string what = "DigitalOcean node pool " + current.id + " bounds [" + std::to_string(min_nodes) + ", " +
                           std::to_string(max_nodes) + "]";
  if (min_nodes < 0 || min_nodes > max_nodes || max_nodes < 1) {
    return MakeError(ErrorKind::kRejected, what + ": need 0 <= min_nodes <= max_nodes and max_nodes >= 1");
  }
  if (cluster_id.empty() || current.id.empty() || current.name.empty()) {
    return MakeError(ErrorKind::kRejected, what + ": empty cluster id, pool id or pool name");
  }
  json body = {{"name", current.name},
               {"count", std::clamp(current.count, min_nodes, max_nodes)},
               {"auto_scale", true},
               {"min_nodes", min_nodes},
               {"max_nodes", max_nodes}};
  const std::pair<const char*, const std::string*> echoed[] = {
      {"tags", &current.tags_json}, {"labels", &current.labels_json}, {"taints", &current.taints_json}};
  for (const auto& [key, text] : echoed) {
    if (text->empty()) continue;
    json value = json::parse(*text, nullptr, false);
    if (value.is_discarded()) return MakeError(ErrorKind::kRejected, what + ": " + key + " is not JSON");
    body[key] = std::move(value);
  }
  return Exchange("PUT", "/v2/kubernetes/clusters/" + UrlEncode(cluster_id) + "/node_pools/" + UrlEncode(current.id),
                  body.dump());
}

std::optional<Error> DoClient::CheckBudget(double now_seconds) const {
  std::lock_guard lock(mutex_);
  if (now_seconds < budget_.blocked_until_epoch_seconds) {
    return Error{ErrorKind::kRateLimited, "DigitalOcean answered 429: no request before " +
                                              Until(budget_.blocked_until_epoch_seconds, now_seconds)};
  }
  if (budget_.remaining == 0 && now_seconds < budget_.reset_epoch_seconds) {
    return Error{ErrorKind::kRateLimited,
                 "DigitalOcean rate limit exhausted (RateLimit-Remaining 0): no request before " +
                     Until(budget_.reset_epoch_seconds, now_seconds)};
  }
  return std::nullopt;
}

void DoClient::RememberBudget(const HttpResponse& response, double now_seconds) {
  std::lock_guard lock(mutex_);
  if (auto limit = HeaderNumber(response, "ratelimit-limit")) budget_.limit = static_cast<long long>(*limit);
  if (auto remaining = HeaderNumber(response, "ratelimit-remaining")) {
    budget_.remaining = static_cast<long long>(*remaining);
  }
  if (auto reset = HeaderNumber(response, "ratelimit-reset")) budget_.reset_epoch_seconds = *reset;
  if (response.status != 429) return;
  if (auto wait = RetryAfter(response, kMaxRetryAfter)) {
    budget_.blocked_until_epoch_seconds = now_seconds + std::chrono::duration<double>(*wait).count();
  } else if (HeaderNumber(response, "ratelimit-reset") && budget_.reset_epoch_seconds > now_seconds) {
    budget_.blocked_until_epoch_seconds = budget_.reset_epoch_seconds;
  } else {
    budget_.blocked_until_epoch_seconds = now_seconds + kDefaultRetryAfterSeconds;
  }
}

Result<NodePool> DoClient::Exchange(const std::string& method, const std::string& path, std::string body) {
  const std::string what = "DigitalOcean " + method + " " + path;
  if (auto refused = CheckBudget(now_seconds_())) return tl::unexpected(refused->WithContext(what));
  auto token = token_.Read();
  if (!token) return tl::unexpected(token.error().WithContext(what + ": API token"));

  HttpRequest request;
  request.method = method;
  request.url = api_base_ + path;
  request.headers.emplace_back("Authorization", "Bearer " + *token);
  if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  request.body = std::move(body);
  auto response = http_.Send(request);
  if (!response)
    return tl::unexpected(Error{response.error().kind, RedactSecret(response.error().message, *token)}.WithContext(what));

  const double now_seconds = now_seconds_();
  RememberBudget(*response, now_seconds);
  const int status = response->status;
  const bool accepted = status == 200 || (method == "PUT" && status == 202);
  if (accepted) {
    auto pool = ParseNodePoolAnswer(response->body);
    if (!pool) return tl::unexpected(pool.error().WithContext(what));
    return pool;
  }
  std::string message = what + ": " + std::to_string(status) + " " + RedactSecret(ApiErrorText(response->body), *token);
  ErrorKind kind = ErrorKind::kRejected;  // 401, 403, 422 and the other 4xx: the same request fails again
  if (status == 404) {
    kind = ErrorKind::kNotFound;
  } else if (status == 409) {
    kind = ErrorKind::kConflict;
  } else if (status == 429) {
    kind = ErrorKind::kRateLimited;
    message += "; no request before " + Until(RateLimit().blocked_until_epoch_seconds, now_seconds);
  } else if (status >= 500) {
    kind = ErrorKind::kUnavailable;
  } else if (status < 400) {
    kind = ErrorKind::kBadData;  // a redirect or another 2xx: not what this API answers
  }
  return MakeError(kind, std::move(message));
}

}  // namespace topdog::advisor
