#include "advisor/io/leader_elector.h"

namespace topdog::advisor {

LeaderElector::LeaderElector(KubeClient& client, std::string ns, std::string name, std::string identity,
                             double lease_duration_seconds, double renew_deadline_seconds)
    : client_(client),
      ns_(std::move(ns)),
      name_(std::move(name)),
      identity_(std::move(identity)),
      lease_duration_seconds_(lease_duration_seconds),
      renew_deadline_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(renew_deadline_seconds))) {}

bool LeaderElector::IsLeaderAt(std::chrono::steady_clock::time_point now_steady) const {
  return leader_.load() && now_steady.time_since_epoch().count() < leader_until_ticks_.load();
}

void LeaderElector::BecomeLeader(std::chrono::steady_clock::time_point renewed_at) {
  // The deadline counts from before the request was sent: the renewal may have been stored any time after that.
  leader_until_ticks_.store((renewed_at + renew_deadline_).time_since_epoch().count());
  leader_.store(true);
}

void LeaderElector::ExpireIfPastDeadline(std::chrono::steady_clock::time_point now_steady) {
  if (now_steady.time_since_epoch().count() >= leader_until_ticks_.load()) BecomeFollower();
}

bool LeaderElector::Tick(double now_wall_seconds, std::chrono::steady_clock::time_point now_steady) {
  last_error_.reset();
  auto lease = client_.GetLease(ns_, name_);
  if (!lease) {
    last_error_ = lease.error();
    ExpireIfPastDeadline(now_steady);
    return IsLeader();
  }
  // Expiry is measured from when this replica first saw the record as it is now, on its own clock.
  if (*lease && (!have_observation_ || **lease != observed_)) {
    observed_ = **lease;
    observed_since_ = now_steady;
    have_observation_ = true;
  }
  const double unchanged_seconds =
      *lease ? std::chrono::duration<double>(now_steady - observed_since_).count() : 0.0;
  const LeaseDecision decision =
      DecideLease(*lease, unchanged_seconds, identity_, now_wall_seconds, lease_duration_seconds_);
  if (decision.action == LeaseAction::kFollow) {
    BecomeFollower();
    return false;
  }
  Result<LeaseRecord> written = decision.action == LeaseAction::kCreate
                                    ? client_.CreateLease(ns_, name_, decision.record)
                                    : client_.UpdateLease(ns_, name_, decision.record);
  if (written) {
    observed_ = *written;
    observed_since_ = now_steady;
    have_observation_ = true;
    BecomeLeader(now_steady);
    return true;
  }
  last_error_ = written.error().WithContext(std::string("lease ") + std::string(LeaseActionName(decision.action)));
  if (written.error().kind == ErrorKind::kConflict) {
    // Another replica wrote between our read and our write: it leads (or will); re-read next Tick.
    BecomeFollower();
    return false;
  }
  ExpireIfPastDeadline(now_steady);
  return IsLeader();
}

Result<void> LeaderElector::Release(double now_wall_seconds) {
  if (!IsLeader()) return {};
  BecomeFollower();
  LeaseRecord released = observed_;  // our last write: its resourceVersion makes the release conditional
  released.holder.clear();
  released.lease_duration_seconds = 1;
  released.acquire_time_seconds = now_wall_seconds;
  released.renew_time_seconds = now_wall_seconds;
  auto written = client_.UpdateLease(ns_, name_, released);
  if (!written) return tl::unexpected(written.error().WithContext("lease release"));
  observed_ = *written;
  return {};
}

}  // namespace topdog::advisor
