// FakeHttpClient: an in-memory HttpClient for unit tests of the advisor's API clients. Answers are scripted per
// "METHOD url-prefix" in order (the last one repeats); every request is recorded. Not thread-safe.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "advisor/io/http_client.h"

namespace topdog::advisor {

class FakeHttpClient : public HttpClient {
 public:
  // Queues an answer for requests whose "METHOD url" starts with `method_and_url_prefix`.
  void Answer(const std::string& method_and_url_prefix, Result<HttpResponse> answer) {
    routes_[method_and_url_prefix].push_back(std::move(answer));
  }
  void Answer(const std::string& method_and_url_prefix, int status, std::string body,
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    Answer(method_and_url_prefix, HttpResponse{status, std::move(headers), std::move(body)});
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    requests.push_back(request);
    const std::string key = request.method + " " + request.url;
    // The longest matching prefix wins.
    std::deque<Result<HttpResponse>>* best = nullptr;
    size_t best_length = 0;
    for (auto& [prefix, answers] : routes_) {
      if (key.rfind(prefix, 0) == 0 && prefix.size() >= best_length && !answers.empty()) {
        best = &answers;
        best_length = prefix.size();
      }
    }
    if (best == nullptr) return HttpResponse{404, {}, "no fake route for " + key};
    Result<HttpResponse> answer = best->front();
    if (best->size() > 1) best->pop_front();
    return answer;
  }

  std::vector<HttpRequest> requests;

 private:
  std::map<std::string, std::deque<Result<HttpResponse>>> routes_;
};

}  // namespace topdog::advisor
