// FakeHttpGetter: an in-memory HttpGetter for the HTTP-based collectors' unit tests. Answers are scripted per
// URL in order (the last one repeats); every GET is recorded; `on_get` runs before each answer (tests advance
// a fake clock there). Not thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "exporter/io/http_getter.h"

namespace topdog::exporter::testing {

class FakeHttpGetter : public HttpGetter {
 public:
  void Answer(const std::string& url, Result<HttpGetResponse> answer) { answers_[url].push_back(std::move(answer)); }
  void Answer(const std::string& url, int status, std::string body, std::string content_type = "text/plain") {
    Answer(url, HttpGetResponse{status, std::move(content_type), std::move(body)});
  }

  Result<HttpGetResponse> Get(const std::string& url) override {
    requests.push_back(url);
    if (on_get) on_get(url);
    auto it = answers_.find(url);
    if (it == answers_.end() || it->second.empty()) {
      return MakeError(ErrorKind::kUnavailable, "GET " + url + ": connect: Connection refused (no fake answer)");
    }
    Result<HttpGetResponse> answer = it->second.front();
    if (it->second.size() > 1) it->second.pop_front();
    return answer;
  }

  std::vector<std::string> requests;
  std::function<void(const std::string&)> on_get;

 private:
  std::map<std::string, std::deque<Result<HttpGetResponse>>> answers_;
};

}  // namespace topdog::exporter::testing
