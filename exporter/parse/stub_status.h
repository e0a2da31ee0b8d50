// ParseStubStatus: the page of NGINX's ngx_http_stub_status_module -> its seven counters, as
// nginx-prometheus-exporter reads them (client/nginx.go). Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace topdog::exporter {

struct StubStatus {
  uint64_t active = 0;    // open client connections, including waiting ones (gauge)
  uint64_t accepted = 0;  // accepted client connections since start (counter)
  uint64_t handled = 0;   // handled connections; below `accepted` only when a resource limit was hit (counter)
  uint64_t requests = 0;  // client requests since start (counter)
  uint64_t reading = 0;   // connections reading a request header (gauge)
  uint64_t writing = 0;   // connections writing a response (gauge)
  uint64_t waiting = 0;   // idle keep-alive connections (gauge)
};

// Strict: accepts exactly the page ngx_http_stub_status_module writes (trailing spaces included; tested on
// pages of nginx 1.22.1):
//   "Active connections: N \nserver accepts handled requests\n A H R \nReading: r Writing: w Waiting: q \n"
// Nothing may follow the final newline. Anything else (an HTML error page, a proxy's answer, a truncated
// page, a number beyond uint64) is kBadData naming what was expected, where, and what was found.
Result<StubStatus> ParseStubStatus(std::string_view text);

}  // namespace topdog::exporter
