#include "advisor/io/alertmanager.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/logging.h"

namespace topdog::advisor {

std::string Rfc3339Millis(double unix_seconds) {
  const auto millis = static_cast<int64_t>(std::llround(unix_seconds * 1000));
  const std::time_t seconds = static_cast<std::time_t>(millis >= 0 ? millis / 1000 : (millis - 999) / 1000);
  const int64_t fraction = millis - static_cast<int64_t>(seconds) * 1000;
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[96];  // room for any int the compiler cannot rule out
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(fraction));
  return text;
}

std::string AlertsJson(std::span<const AlertNotification> alerts) {
  nlohmann::ordered_json body = nlohmann::ordered_json::array();
  for (const AlertNotification& alert : alerts) {
    nlohmann::ordered_json item;
    item["labels"] = nlohmann::ordered_json::object();
    for (const auto& [name, value] : alert.labels) item["labels"][name] = value;
    item["annotations"] = nlohmann::ordered_json::object();
    for (const auto& [name, value] : alert.annotations) item["annotations"][name] = value;
    item["startsAt"] = Rfc3339Millis(alert.starts_at);
    item["endsAt"] = Rfc3339Millis(alert.ends_at);
    item["generatorURL"] = alert.generator_url;
    body.push_back(std::move(item));
  }
  // Invalid UTF-8 in a label value (Alertmanager refuses it anyway) is replaced rather than thrown.
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

AlertmanagerNotifier::AlertmanagerNotifier(HttpClient& client, AlertmanagerOptions options)
    : client_(client),
      options_(std::move(options)),
      auth_(options_.bearer_token_file, options_.basic_user, options_.basic_password_file) {}

AlertmanagerNotifier::~AlertmanagerNotifier() { Stop(); }

void AlertmanagerNotifier::Enqueue(std::vector<AlertNotification> alerts) {
  if (alerts.empty()) return;
  {
    std::lock_guard lock(mu_);
    for (AlertNotification& alert : alerts) queue_.push_back(std::move(alert));
    if (queue_.size() > options_.queue_capacity) {
      const size_t drop = queue_.size() - options_.queue_capacity;
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(drop));
      stats_.dropped += drop;
      spdlog::warn("alert notification queue full, oldest alerts dropped dropped={} capacity={}", drop,
                   options_.queue_capacity);
    }
  }
  wake_.notify_one();
}

std::vector<AlertNotification> AlertmanagerNotifier::TakeBatch() {
  const size_t n = std::min(queue_.size(), std::max<size_t>(options_.max_batch, 1));
  std::vector<AlertNotification> batch(std::make_move_iterator(queue_.begin()),
                                       std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  return batch;
}

void AlertmanagerNotifier::Flush() {
  std::lock_guard send_lock(send_mu_);
  while (true) {
    std::vector<AlertNotification> batch;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) return;
      batch = TakeBatch();
    }
    SendBatch(batch);
  }
}

void AlertmanagerNotifier::SendBatch(const std::vector<AlertNotification>& batch) {
  if (options_.urls.empty()) {
    std::lock_guard lock(mu_);
    stats_.dropped += batch.size();
    return;
  }
  const std::string body = AlertsJson(batch);
  auto authorization = auth_.Value();
  bool any_ok = false;
  for (const std::string& url : options_.urls) {
    Result<HttpResponse> response = tl::unexpected(Error{ErrorKind::kRejected, ""});
    if (authorization) {
      HttpRequest request;
      request.method = "POST";
      request.url = url + "/api/v2/alerts";
      request.headers = {{"Content-Type", "application/json"}, {"User-Agent", options_.user_agent}};
      if (!authorization->empty()) request.headers.emplace_back("Authorization", *authorization);
      request.body = body;
      response = client_.Send(request);
    } else {
      response = tl::unexpected(authorization.error());
    }
    const bool ok = response && response->status / 100 == 2;
    {
      std::lock_guard lock(mu_);
      (ok ? stats_.sent : stats_.errors)[url] += batch.size();
    }
    if (ok) {
      any_ok = true;
      continue;
    }
    std::string why = response ? "HTTP " + std::to_string(response->status) + ": " + response->body.substr(0, 200)
                               : response.error().message;
    spdlog::warn("sending alerts to Alertmanager failed alertmanager={} alerts={} err={}", LogQuote(url), batch.size(),
                 LogQuote(why));
  }
  if (!any_ok) {
    std::lock_guard lock(mu_);
    stats_.dropped += batch.size();
  }
}

void AlertmanagerNotifier::Start() {
  std::lock_guard lock(mu_);
  if (sender_.joinable()) return;
  stopping_ = false;
  sender_ = std::thread([this] { Loop(); });
}

void AlertmanagerNotifier::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (sender_.joinable()) sender_.join();
}

void AlertmanagerNotifier::Loop() {
  while (true) {
    std::vector<AlertNotification> batch;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      batch = TakeBatch();
    }
    std::lock_guard send_lock(send_mu_);
    SendBatch(batch);
  }
}

AlertmanagerNotifier::Stats AlertmanagerNotifier::stats() const {
  std::lock_guard lock(mu_);
  Stats out = stats_;
  out.queue_length = queue_.size();
  return out;
}

}  // namespace topdog::advisor
