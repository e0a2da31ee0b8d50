// The real libcurl client as the integration tests build it: a short connect timeout, the given total timeout;
// a failure to build it fails the test. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "advisor/io/http_client.h"

namespace topdog::advisor {

inline std::unique_ptr<CurlHttpClient> MakeTestHttpClient(
    std::chrono::milliseconds timeout, std::chrono::milliseconds connect_timeout = std::chrono::milliseconds(2000)) {
  HttpClientOptions options;
  options.timeout = timeout;
  options.connect_timeout = connect_timeout;
  auto http = CurlHttpClient::Create(options);
  if (!http) ADD_FAILURE() << http.error().message;
  return http ? std::move(*http) : nullptr;
}

}  // namespace topdog::advisor
