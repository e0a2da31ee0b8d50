// DoClient: the DigitalOcean Kubernetes (DOKS) node-pool API as the advisor uses it: read a pool, then set its
// autoscaling bounds by GET -> modify -> PUT, keeping the current count and honouring the API's rate limits.
// Thread-safe (the rate-limit bookkeeping is shared by all calls and guarded by a mutex).
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "advisor/io/http_client.h"
#include "common/result.h"

namespace topdog::advisor {

// A node pool as GET returns it (`{"node_pool":{...}}`; its `nodes` array is ignored). tags/labels/taints are
// kept as the compact JSON the API sent, so that a PUT echoes them unchanged (PUT replaces them: leaving one out
// would clear it); "" when the key was absent, and then the PUT leaves it out too.
struct NodePool {
  std::string id;
  std::string name;
  int count = 0;
  bool auto_scale = false;
  int min_nodes = 0;  // 0 when absent (a pool without autoscaling)
  int max_nodes = 0;
  std::string tags_json;    // e.g. ["k8s:worker","web"]
  std::string labels_json;  // e.g. {"tier":"web"}
  std::string taints_json;  // e.g. [{"key":"dedicated","value":"web","effect":"NoSchedule"}]
};

// What the last answers said about the token's budget (for metrics and logs).
struct DoRateLimitState {
  std::optional<long long> limit;          // RateLimit-Limit of the last answer that had it
  std::optional<long long> remaining;      // RateLimit-Remaining, likewise
  double reset_epoch_seconds = 0;          // RateLimit-Reset: when the budget refills
  double blocked_until_epoch_seconds = 0;  // after a 429: no request before this
};

class DoClient {
 public:
  // `token`: the API token's file, re-read when it changes (SecretFile). `api_base`: scheme://host[:port]
  // without a trailing path. `now_seconds`: the wall clock in epoch seconds (RateLimit-Reset is an epoch time);
  // tests inject one. The HttpClient and SecretFile must outlive the DoClient.
  DoClient(HttpClient& http, SecretFile& token, std::string api_base = "https://api.digitalocean.com",
           std::function<double()> now_seconds = nullptr);

  // GET /v2/kubernetes/clusters/{cluster_id}/node_pools/{pool_id}.
  Result<NodePool> GetNodePool(const std::string& cluster_id, const std::string& pool_id);

  // PUT the same path (pool id from `current`, which should come from GetNodePool just before) with
  // auto_scale=true, the new bounds, `current.count` clamped into [min_nodes, max_nodes] (another count would
  // race the cluster autoscaler), and current's name, tags, labels and taints echoed. Returns the pool as the
  // API answered (200 or 202). Checked locally first, without sending: 0 <= min_nodes <= max_nodes, max_nodes
  // >= 1, current has an id and a name (kRejected).
  Result<NodePool> SetBounds(const std::string& cluster_id, const NodePool& current, int min_nodes, int max_nodes);

  // Errors of both calls, the request not retried here (the reconciler tries again next cycle):
  //   kRateLimited  refused without sending while the budget is exhausted (RateLimit-Remaining 0 before
  //                 RateLimit-Reset) or after a 429 until its Retry-After (or RateLimit-Reset; 60 s when neither);
  //                 a 429 itself. The message says until when.
  //   kRejected     401/403 (bad or under-scoped token), 422 (validation) and other 4xx, with the API's
  //                 "id: message"; the token is never in a message.
  //   kNotFound     404.   kConflict 409.   kUnavailable 5xx, or the connection failed.
  //   kDeadlineExceeded  the HttpClient's timeout.   kBadData an answer that is not a node pool.
  //   The token file's errors (SecretFile::Read), with its path.

  DoRateLimitState RateLimit() const;

 private:
  Result<NodePool> Exchange(const std::string& method, const std::string& path, std::string body);
  // Refuses (kRateLimited) while the budget is known to be exhausted.
  std::optional<Error> CheckBudget(double now_seconds) const;
  void RememberBudget(const HttpResponse& response, double now_seconds);

  HttpClient& http_;
  SecretFile& token_;
  std::string api_base_;
  std::function<double()> now_seconds_;

  mutable std::mutex mutex_;
  DoRateLimitState budget_;  // guarded by mutex_
};

// Parses the body of GET/PUT .../node_pools/{id} (`{"node_pool":{...}}`). kBadData when it is not one.
Result<NodePool> ParseNodePoolAnswer(std::string_view body);

}  // namespace topdog::advisor
