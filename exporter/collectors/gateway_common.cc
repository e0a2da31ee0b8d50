// Helpers shared by the HTTP-based collectors (exporter/collectors/gateway.h).
#include <string>

#include "exporter/collectors/gateway.h"

namespace topdog::exporter {

Result<std::shared_ptr<HttpGetter>> NewPeerGetter(std::string_view flag_prefix, const HttpPeerOptions& peer,
                                                  std::chrono::milliseconds timeout, size_t max_body_bytes,
                                                  std::string accept) {
  HttpGetterOptions options;
  options.timeout = timeout;
  options.max_body_bytes = max_body_bytes;
  options.accept = std::move(accept);
  options.ca_file = peer.ca_file;
  options.insecure_skip_verify = peer.insecure_skip_verify;
  options.bearer_token_file = peer.bearer_token_file;
  options.basic_auth_username = peer.basic_auth_username;
  options.basic_auth_password_file = peer.basic_auth_password_file;
  options.user_agent = std::string("topdog-exporter/") + TOPDOG_VERSION;
  auto getter = BeastHttpGetter::Create(std::move(options));
  if (!getter) return tl::unexpected(getter.error().WithContext(std::string(flag_prefix) + ".*"));
  return std::shared_ptr<HttpGetter>(std::move(*getter));
}

Error StatusError(const std::string& url, const HttpGetResponse& response) {
  std::string message = "GET " + url + ": HTTP " + std::to_string(response.status);
  if (!response.content_type.empty()) message += " (" + response.content_type + ")";
  message += response.body.empty() ? ", empty body" : ": " + Snippet(response.body);
  ErrorKind kind = response.status >= 400 && response.status < 500 ? ErrorKind::kRejected : ErrorKind::kUnavailable;
  return Error{kind, std::move(message)};
}

}  // namespace topdog::exporter
