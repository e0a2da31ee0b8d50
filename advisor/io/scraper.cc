#include "advisor/io/scraper.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <utility>

namespace topdog::advisor {
namespace {

const std::string* FindLabel(const exposition::ParsedSample& sample, const std::string& name) {
  for (const auto& [label, value] : sample.labels) {
    if (label == name) return &value;
  }
  return nullptr;
}

bool Matches(const exposition::ParsedSample& sample, const EmbeddedSeries& series) {
  for (const auto& [name, wanted] : series.match) {
    const std::string* value = FindLabel(sample, name);
    if (wanted.empty()) {
      if (value != nullptr && !value->empty()) return false;
    } else if (value == nullptr || *value != wanted) {
      return false;
    }
  }
  return true;
}

// The identity of a series within one target: name and labels in name order (pages may order them
// differently from one scrape to the next). '\0' cannot occur in names; in values it is not worth escaping.
std::string SeriesId(const exposition::ParsedSample& sample) {
  std::vector<std::pair<std::string_view, std::string_view>> labels(sample.labels.begin(), sample.labels.end());
  std::sort(labels.begin(), labels.end());
  std::string id = sample.name;
  for (const auto& [name, value] : labels) {
    id += '\0';
    id += name;
    id += '\0';
    id += value;
  }
  return id;
}

std::string Readable(const exposition::ParsedSample& sample) {
  std::string text = sample.name + "{";
  for (size_t i = 0; i < sample.labels.size(); ++i) {
    if (i > 0) text += ",";
    text += sample.labels[i].first + "=\"" + sample.labels[i].second + "\"";
  }
  return text + "}";
}

}  // namespace

struct Scraper::Target {
  ScrapeTarget config;
  std::unique_ptr<AuthHeader> auth;
  struct Last {
    double value = 0;
    double time_seconds = 0;
  };
  std::unordered_map<std::string, Last> counters;  // by SeriesId: the previous sample of each counter series
};

// One target's answer in one round: the matched samples, extracted on the fetching thread.
struct Scraper::Page {
  bool up = false;
  std::string error;
  double duration_seconds = 0;
  size_t samples = 0;
  struct Entry {
    std::string id;
    double value = 0;
    bool counter = false;  // matched by at least one counter key: its rate is needed
  };
  std::vector<Entry> entries;
  std::vector<std::vector<size_t>> by_series;  // per key: indexes into entries
};

Result<void> ValidateScrapeConfig(const std::vector<ScrapeTarget>& targets, const std::vector<EmbeddedSeries>& series,
                                  const HistoryGeometry& geometry) {
  auto reject = [](const std::string& why) {
    return MakeError(ErrorKind::kRejected, "embedded scrape config: " + why);
  };
  if (targets.empty()) return reject("no targets");
  std::set<std::string> names, keys;
  for (const ScrapeTarget& target : targets) {
    if (target.name.empty()) return reject("a target has no name");
    if (!names.insert(target.name).second) return reject("target name " + target.name + " repeated");
    if (target.url.rfind("http://", 0) != 0 && target.url.rfind("https://", 0) != 0) {
      return reject("target " + target.name + ": URL must start with http:// or https://");
    }
    if (target.basic_user.empty() != target.basic_password_file.empty()) {
      return reject("target " + target.name + ": basic auth needs both a user and a password file");
    }
    if (!target.basic_user.empty() && !target.bearer_token_file.empty()) {
      return reject("target " + target.name + ": bearer token and basic auth are exclusive");
    }
  }
  for (const EmbeddedSeries& entry : series) {
    if (entry.key.empty()) return reject("a series has no key");
    if (entry.metric.empty()) return reject("series " + entry.key + " names no metric");
    if (!keys.insert(entry.key).second) return reject("series key " + entry.key + " repeated");
  }
  if (series.size() > geometry.max_series) {
    return reject(std::to_string(series.size()) + " series configured, the history holds at most " +
                  std::to_string(geometry.max_series));
  }
  return {};
}

Result<std::unique_ptr<Scraper>> Scraper::Create(HttpClient& client, std::vector<ScrapeTarget> targets,
                                                 std::vector<EmbeddedSeries> series, SharedHistory& history,
                                                 ScraperOptions options) {
  if (auto valid = ValidateScrapeConfig(targets, series, history.geometry()); !valid) {
    return tl::unexpected(valid.error());
  }
  return std::unique_ptr<Scraper>(
      new Scraper(client, std::move(targets), std::move(series), history, std::move(options)));
}

Scraper::Scraper(HttpClient& client, std::vector<ScrapeTarget> targets, std::vector<EmbeddedSeries> series,
                 SharedHistory& history, ScraperOptions options)
    : client_(client), series_(std::move(series)), history_(history), options_(std::move(options)) {
  for (ScrapeTarget& config : targets) {
    auto target = std::make_unique<Target>();
    target->auth =
        std::make_unique<AuthHeader>(config.bearer_token_file, config.basic_user, config.basic_password_file);
    target->config = std::move(config);
    targets_.push_back(std::move(target));
  }
  for (size_t i = 0; i < series_.size(); ++i) series_by_metric_.emplace(series_[i].metric, i);
  means_.resize(series_.size());
}

Scraper::~Scraper() = default;

std::vector<std::string> Scraper::Keys() const {
  std::vector<std::string> keys;
  for (const EmbeddedSeries& entry : series_) keys.push_back(entry.key);
  return keys;
}

void Scraper::Fetch(Target& target, Page& page) {
  const auto started = std::chrono::steady_clock::now();
  auto finish = [&](std::string error) {
    page.error = std::move(error);
    page.up = page.error.empty();
    page.duration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  HttpRequest request;
  request.url = target.config.url;
  // Only the classic text format: what ParseTextFormat reads (OpenMetrics would need its own parser).
  request.headers.emplace_back("Accept", "text/plain;version=0.0.4");
  auto authorization = target.auth->Value();
  if (!authorization) return finish(authorization.error().message);
  if (!authorization->empty()) request.headers.emplace_back("Authorization", std::move(*authorization));
  auto response = client_.Send(request);
  if (!response) {
    return finish(std::string(ErrorKindName(response.error().kind)) + ": " + response.error().message);
  }
  if (response->status != 200) return finish("HTTP status " + std::to_string(response->status));
  if (response->body.size() > options_.max_body_bytes) {
    return finish("page of " + std::to_string(response->body.size()) + " bytes is over the limit of " +
                  std::to_string(options_.max_body_bytes));
  }
  auto parsed = exposition::ParseTextFormat(response->body, options_.parse_limits);
  if (!parsed) return finish("bad page: " + parsed.error().message);
  page.samples = parsed->samples.size();
  page.by_series.assign(series_.size(), {});
  std::unordered_map<std::string, size_t> index;  // SeriesId -> entries
  for (const exposition::ParsedSample& sample : parsed->samples) {
    auto [begin, end] = series_by_metric_.equal_range(sample.name);
    std::optional<size_t> entry;
    for (auto it = begin; it != end; ++it) {
      const EmbeddedSeries& wanted = series_[it->second];
      if (!Matches(sample, wanted)) continue;
      if (!entry) {
        auto [slot, inserted] = index.emplace(SeriesId(sample), page.entries.size());
        // Two values for one series: which one to believe? Prometheus refuses such a page too.
        if (!inserted) return finish("bad page: duplicate series " + Readable(sample));
        entry = page.entries.size();
        page.entries.push_back({slot->first, sample.value, false});
      }
      page.entries[*entry].counter |= wanted.counter;
      page.by_series[it->second].push_back(*entry);
    }
  }
  finish("");
}

ScrapeReport Scraper::ScrapeOnce(double now_seconds) {
  ScrapeReport report;
  report.time_seconds = now_seconds;
  if (!std::isfinite(now_seconds)) {
    report.store_errors.push_back("round time is not finite: nothing scraped");
    return report;
  }
  std::vector<Page> pages(targets_.size());
  if (options_.parallel && targets_.size() > 1) {
    std::vector<std::thread> threads;
    threads.reserve(targets_.size());
    for (size_t i = 0; i < targets_.size(); ++i) {
      threads.emplace_back([this, i, &pages] { Fetch(*targets_[i], pages[i]); });
    }
    for (std::thread& thread : threads) thread.join();
  } else {
    for (size_t i = 0; i < targets_.size(); ++i) Fetch(*targets_[i], pages[i]);
  }

  // Rates per target and entry; the state of the targets that answered moves on, the others' is kept.
  std::vector<std::vector<std::optional<double>>> rates(targets_.size());
  report.complete = true;
  for (size_t t = 0; t < targets_.size(); ++t) {
    Page& page = pages[t];
    report.targets.push_back({targets_[t]->config.name, page.up, page.duration_seconds, page.samples, page.error});
    if (!page.up) {
      report.complete = false;
      continue;
    }
    auto& previous = targets_[t]->counters;
    std::unordered_map<std::string, Target::Last> next;
    rates[t].resize(page.entries.size());
    for (size_t e = 0; e < page.entries.size(); ++e) {
      const Page::Entry& entry = page.entries[e];
      // A non-finite counter value is no sample: the series restarts from its next finite one.
      if (!entry.counter || !std::isfinite(entry.value)) continue;
      auto last = previous.find(entry.id);
      if (last != previous.end() && now_seconds > last->second.time_seconds) {
        const double increase = entry.value >= last->second.value ? entry.value - last->second.value : entry.value;
        rates[t][e] = increase / (now_seconds - last->second.time_seconds);
      }
      next.emplace(entry.id, Target::Last{entry.value, now_seconds});
    }
    previous = std::move(next);  // series gone from the page are forgotten
  }
  if (!report.complete) return report;

  const auto step = static_cast<int64_t>(std::floor(now_seconds / history_.geometry().step_seconds));
  std::vector<std::pair<size_t, double>> values;  // (key index, value to write)
  for (size_t s = 0; s < series_.size(); ++s) {
    double sum = 0;
    size_t contributions = 0;
    bool whole = true;
    for (size_t t = 0; t < targets_.size() && whole; ++t) {
      for (size_t e : pages[t].by_series[s]) {
        if (series_[s].counter) {
          if (!rates[t][e]) {
            whole = false;  // a series without a rate yet: the sum would be an undercount
            break;
          }
          sum += *rates[t][e];
        } else {
          sum += pages[t].entries[e].value;
        }
        ++contributions;
      }
    }
    if (!whole || contributions == 0 || !std::isfinite(sum)) continue;
    StepMean& mean = means_[s];
    if (mean.step != step) mean = StepMean{step, 0, 0};
    mean.sum += sum;
    ++mean.count;
    values.emplace_back(s, mean.sum / static_cast<double>(mean.count));
  }
  history_.With([&](HistoryStore& store) {
    for (const auto& [s, value] : values) {
      if (auto added = store.Add(series_[s].key, now_seconds, value); !added) {
        report.store_errors.push_back(added.error().message);
      } else {
        ++report.keys_recorded;
      }
    }
  });
  return report;
}

}  // namespace topdog::advisor
