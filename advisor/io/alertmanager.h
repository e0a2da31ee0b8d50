// Alert notifications to Alertmanager's v2 API as Prometheus 2.42's notifier sends them: POST /api/v2/alerts, a
// JSON array of {labels, annotations, startsAt, endsAt, generatorURL} (RFC 3339 with milliseconds), at most 64
// alerts per request, every batch to every configured Alertmanager. A bounded queue (the oldest alerts dropped
// and counted when full) and one sender thread keep a slow Alertmanager from delaying rule evaluation; a failed
// POST is not retried (the rule resends its firing alerts every resend_delay, and endsAt covers four of them).
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "advisor/core/alerting.h"
#include "advisor/io/http_client.h"

namespace topdog::advisor {

// The request body for `alerts` (pure). Label and annotation maps are written in name order.
std::string AlertsJson(std::span<const AlertNotification> alerts);
// "2026-11-27T17:08:05.123Z".
std::string Rfc3339Millis(double unix_seconds);

struct AlertmanagerOptions {
  std::vector<std::string> urls;  // base URLs, e.g. http://alertmanager:9093 (path prefix kept)
  std::string bearer_token_file, basic_user, basic_password_file;
  size_t queue_capacity = 10000;  // Prometheus's --alertmanager.notification-queue-capacity
  size_t max_batch = 64;
  std::string user_agent = "topdog-advisor";
};

class AlertmanagerNotifier {
 public:
  struct Stats {
    std::map<std::string, uint64_t> sent;    // alerts accepted, by Alertmanager URL
    std::map<std::string, uint64_t> errors;  // alerts in failed POSTs, by Alertmanager URL
    uint64_t dropped = 0;                    // queue overflow, or no Alertmanager took the batch
    size_t queue_length = 0;
  };

  AlertmanagerNotifier(HttpClient& client, AlertmanagerOptions options);
  ~AlertmanagerNotifier();  // stops the sender; alerts still queued are dropped
  AlertmanagerNotifier(const AlertmanagerNotifier&) = delete;
  AlertmanagerNotifier& operator=(const AlertmanagerNotifier&) = delete;

  void Enqueue(std::vector<AlertNotification> alerts);
  // Sends what is queued now, one batch after another, on the caller's thread (tests).
  void Flush();
  void Start();  // the sender thread
  void Stop();
  Stats stats() const;

 private:
  void Loop();
  void SendBatch(const std::vector<AlertNotification>& batch);
  std::vector<AlertNotification> TakeBatch();  // REQUIRES: mu_ held

  HttpClient& client_;
  const AlertmanagerOptions options_;
  AuthHeader auth_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<AlertNotification> queue_;
  Stats stats_;
  bool stopping_ = false;
  std::thread sender_;
  std::mutex send_mu_;  // one batch at a time (Flush and the thread)
};

}  // namespace topdog::advisor
