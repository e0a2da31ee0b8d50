// LeaderElector: leader election among the advisor's replicas over a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection, driven step by step: the caller calls Tick every retry period (e.g. 2 s) with the current times,
// so that tests pass times instead of sleeping. Tick and Release run on one thread; IsLeader/IsLeaderAt may be
// called from any thread (atomics), so a reconcile cycle can check before every write.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "advisor/core/lease.h"
#include "advisor/io/kube_client.h"
#include "common/result.h"

namespace topdog::advisor {

class LeaderElector {
 public:
  // The Lease `ns`/`name` is shared by all replicas; `identity` must be unique per replica (the pod name).
  // `lease_duration_seconds`: how long others wait, after the holder's last renewal they saw, before taking over.
  // `renew_deadline_seconds`: how long the leader keeps acting after its last successful renewal; shorter than
  // the lease duration, so that it has stopped before anyone else can take over. REQUIRES: 0 <
  // renew_deadline_seconds < lease_duration_seconds (checked by the caller's flag parsing); the KubeClient's HTTP
  // timeout below renew_deadline_seconds. The KubeClient must outlive the elector.
  LeaderElector(KubeClient& client, std::string ns, std::string name, std::string identity,
                double lease_duration_seconds = 15, double renew_deadline_seconds = 10);

  // One election step: GET the Lease, decide (DecideLease), then create, take over or renew it. Returns whether
  // this replica leads afterwards. A 409 on create or update means another replica wrote first: follower. Any
  // other failure keeps an existing leadership only until renew_deadline after the last successful renewal.
  // `now_wall_seconds` (epoch) goes into the Lease's times; `now_steady` measures expiry and deadlines.
  bool Tick(double now_wall_seconds, std::chrono::steady_clock::time_point now_steady);

  // Whether the last Tick left this replica the leader.
  bool IsLeader() const { return leader_.load(); }
  // IsLeader() and `now_steady` still within renew_deadline of the last successful renewal: what to check before
  // each write, since a Tick stuck in a slow request cannot clear the flag in time.
  bool IsLeaderAt(std::chrono::steady_clock::time_point now_steady) const;

  // Gives the Lease up on shutdown (holder "", duration 1 s), so that another replica takes over at its next Tick
  // instead of after a lease duration. Stops leading first. A no-op when not the leader.
  Result<void> Release(double now_wall_seconds);

  const std::string& identity() const { return identity_; }
  // The error of the last failed Tick step (for a log line and a metric); nullopt after a clean Tick. Tick's
  // thread only.
  const std::optional<Error>& last_error() const { return last_error_; }
  // The holder the last Tick saw or wrote ("" when released or unknown). Tick's thread only.
  const std::string& observed_holder() const { return observed_.holder; }

 private:
  void BecomeLeader(std::chrono::steady_clock::time_point renewed_at);
  void BecomeFollower() { leader_.store(false); }
  void ExpireIfPastDeadline(std::chrono::steady_clock::time_point now_steady);

  KubeClient& client_;
  const std::string ns_, name_, identity_;
  const double lease_duration_seconds_;
  const std::chrono::steady_clock::duration renew_deadline_;

  std::atomic<bool> leader_{false};
  std::atomic<std::chrono::steady_clock::rep> leader_until_ticks_{0};  // steady time, leader_ valid before it

  // Tick's thread only.
  bool have_observation_ = false;
  LeaseRecord observed_;  // the record last read or written
  std::chrono::steady_clock::time_point observed_since_;  // when observed_ was first seen as it is
  std::optional<Error> last_error_;
};

}  // namespace topdog::advisor
