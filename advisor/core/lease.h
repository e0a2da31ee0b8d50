// Leader election over a coordination.k8s.io/v1 Lease, the pure part: what a candidate does given the Lease it
// just read (client-go's leaderelection.tryAcquireOrRenew as a function of values), and the Kubernetes MicroTime
// text format. No I/O, no clock: times are arguments. Thread-safe (free functions over values).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace topdog::advisor {

// A Lease's spec as the election uses it, plus the resourceVersion an update must carry.
struct LeaseRecord {
  std::string holder;                  // spec.holderIdentity; "" when released
  double lease_duration_seconds = 0;   // spec.leaseDurationSeconds (an integer in the API)
  double acquire_time_seconds = 0;     // spec.acquireTime, epoch seconds
  double renew_time_seconds = 0;       // spec.renewTime, epoch seconds
  int transitions = 0;                 // spec.leaseTransitions
  std::string resource_version;        // metadata.resourceVersion ("" for a record not stored yet)

  bool operator==(const LeaseRecord&) const = default;
};

enum class LeaseAction {
  kCreate,    // no Lease yet: create it with me as the holder
  kFollow,    // someone else holds an unexpired Lease: do nothing, not the leader
  kTakeOver,  // the Lease expired or was released: update it to me (acquireTime now, transitions + 1)
  kRenew,     // I hold it: update renewTime
};

std::string_view LeaseActionName(LeaseAction action);

struct LeaseDecision {
  LeaseAction action = LeaseAction::kFollow;
  // The record to write for kCreate/kTakeOver/kRenew (carrying the observed resourceVersion, so that a
  // concurrent writer makes the update fail with 409); the observed record for kFollow.
  LeaseRecord record;
};

// Decides one election step, as client-go does. `observed`: the Lease just read (nullopt: absent).
// `observed_unchanged_seconds`: how long this candidate has seen that exact record unchanged, measured on its
// own monotonic clock. Expiry is judged by that, not by the record's renewTime, so that clock skew between
// replicas cannot make two leaders (the price: a fresh candidate waits one lease duration even for a long-dead
// holder). The holder's lease duration is the record's own (ours when the record has none).
// `now_wall_seconds` only goes into the written times. REQUIRES: lease_duration_seconds > 0.
LeaseDecision DecideLease(const std::optional<LeaseRecord>& observed, double observed_unchanged_seconds,
                          std::string_view identity, double now_wall_seconds, double lease_duration_seconds);

// Kubernetes MicroTime: RFC 3339 in UTC with exactly six fractional digits, "2026-11-27T13:40:39.123456Z"
// (rounded to the microsecond).
std::string FormatMicroTime(double epoch_seconds);

// Parses RFC 3339 as the API server accepts it: "YYYY-MM-DDTHH:MM:SS", optional fraction (any number of
// digits), then "Z" or "+HH:MM"/"-HH:MM". Error kBadData otherwise (also for out-of-range fields).
Result<double> ParseMicroTime(std::string_view text);

}  // namespace topdog::advisor
