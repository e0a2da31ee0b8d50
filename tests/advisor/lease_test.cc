// The pure lease decision and MicroTime format (advisor/core/lease.h), and LeaderElector over an in-memory Lease
// store that behaves as the API server does for one Lease (404, 201, 409 AlreadyExists, 409 on a stale
// resourceVersion).
#include "advisor/core/lease.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "advisor/io/kube_client.h"
#include "advisor/io/leader_elector.h"

namespace topdog::advisor {
namespace {

using nlohmann::json;
using std::chrono::seconds;

// ---------------------------------------------------------------------------------------------------------
// DecideLease

struct DecideCase {
  std::string name;
  std::optional<LeaseRecord> observed;
  double unchanged_seconds;
  LeaseAction action;
  LeaseRecord written;  // expected record (for kFollow: the observed one)
};

TEST(DecideLeaseTest, Table) {
  constexpr double kNow = 1795786839;
  const LeaseRecord other{"b", 15, 1000, 1500, 2, "40"};
  const LeaseRecord mine{"a", 15, 1000, 1500, 2, "41"};
  const LeaseRecord released{"", 1, 1000, 1500, 2, "42"};
  const LeaseRecord no_duration{"b", 0, 1000, 1500, 2, "43"};
  const std::vector<DecideCase> cases = {
      {"absent: create with transitions 0", std::nullopt, 0, LeaseAction::kCreate, {"a", 10, kNow, kNow, 0, ""}},
      {"other holder, just seen: follow", other, 0, LeaseAction::kFollow, other},
      {"other holder, unchanged for less than its duration: follow", other, 14.9, LeaseAction::kFollow, other},
      {"other holder, unchanged for its duration: take over", other, 15, LeaseAction::kTakeOver,
       {"a", 10, kNow, kNow, 3, "40"}},
      {"my own lease: renew, keep acquire time and transitions", mine, 0, LeaseAction::kRenew,
       {"a", 10, 1000, kNow, 2, "41"}},
      {"my own lease even when unchanged for long: renew", mine, 999, LeaseAction::kRenew,
       {"a", 10, 1000, kNow, 2, "41"}},
      {"released (no holder): take over at once", released, 0, LeaseAction::kTakeOver,
       {"a", 10, kNow, kNow, 3, "42"}},
      {"no duration in the record: ours (10 s) applies", no_duration, 9.9, LeaseAction::kFollow, no_duration},
      {"no duration in the record: expired after ours", no_duration, 10, LeaseAction::kTakeOver,
       {"a", 10, kNow, kNow, 3, "43"}},
  };
  for (const DecideCase& c : cases) {
    LeaseDecision decision = DecideLease(c.observed, c.unchanged_seconds, "a", kNow, 10);
    EXPECT_EQ(decision.action, c.action) << c.name << ": got " << LeaseActionName(decision.action);
    EXPECT_EQ(decision.record, c.written) << c.name;
  }
}

TEST(DecideLeaseTest, ExpiryIgnoresTheRecordsOwnTimesSoSkewedClocksCannotMakeTwoLeaders) {
  // The holder's renewTime is an hour "old" by our clock (its clock is behind), but we saw it change just now.
  const LeaseRecord skewed{"b", 15, 0, 1795786839 - 3600, 0, "9"};
  EXPECT_EQ(DecideLease(skewed, 1, "a", 1795786839, 15).action, LeaseAction::kFollow);
}

// ---------------------------------------------------------------------------------------------------------
// MicroTime

TEST(MicroTimeTest, FormatsUtcWithSixFractionDigits) {
  EXPECT_EQ(FormatMicroTime(1795786839.123456), "2026-11-27T13:40:39.123456Z");
  EXPECT_EQ(FormatMicroTime(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatMicroTime(951782400), "2000-02-29T00:00:00.000000Z");  // leap day
  EXPECT_EQ(FormatMicroTime(1795786839.9999996), "2026-11-27T13:40:40.000000Z");  // rounds into the next second
  EXPECT_EQ(FormatMicroTime(-0.5), "1969-12-31T23:59:59.500000Z");
}

TEST(MicroTimeTest, ParsesRfc3339AndRoundTrips) {
  EXPECT_DOUBLE_EQ(*ParseMicroTime("2026-11-27T13:40:39.123456Z"), 1795786839.123456);
  EXPECT_DOUBLE_EQ(*ParseMicroTime("2026-11-27T13:40:39Z"), 1795786839);
  EXPECT_DOUBLE_EQ(*ParseMicroTime("2026-11-27T14:40:39.5+01:00"), 1795786839.5);
  EXPECT_DOUBLE_EQ(*ParseMicroTime("2026-11-27T12:10:39-01:30"), 1795786839);
  EXPECT_DOUBLE_EQ(*ParseMicroTime("2026-11-27T13:40:39.123456789Z"), 1795786839.123457);  // to the microsecond
  for (double t : {0.0, 1795786839.123456, 1795786839.000001, 4102444799.999999}) {
    EXPECT_EQ(FormatMicroTime(*ParseMicroTime(FormatMicroTime(t))), FormatMicroTime(t));
  }
}

TEST(MicroTimeTest, RejectsMalformedTimes) {
  for (const char* text : {"", "2026-11-27", "2026-11-27 13:40:39Z", "2026-11-27T13:40:39", "2026-13-01T00:00:00Z",
                           "2026-02-30T00:00:00Z", "2026-11-27T24:00:00Z", "2026-11-27T13:40:39.Z",
                           "2026-11-27T13:40:39+0100", "2026-11-27T13:40:39Zjunk", "26-11-27T13:40:39Z"}) {
    auto parsed = ParseMicroTime(text);
    EXPECT_FALSE(parsed) << text;
    if (!parsed) {
      EXPECT_EQ(parsed.error().kind, ErrorKind::kBadData);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// LeaderElector

// One Lease, stored as the API server would (resourceVersion bumped by each write, 409 on a stale one or on
// creating an existing Lease). `down` makes every request fail as a refused connection.
class InMemoryLeaseServer : public HttpClient {
 public:
  Result<HttpResponse> Send(const HttpRequest& request) override {
    ++requests;
    if (down) return MakeError(ErrorKind::kUnavailable, "connection refused");
    const std::string path = request.url.substr(0, request.url.find('?'));
    const bool named = path.ends_with("/leases/election");
    if (request.method == "GET" && named) {
      if (!lease) return Answer(404, Status(404, "NotFound"));
      return Answer(200, *lease);
    }
    json body = json::parse(request.body);
    if (request.method == "POST" && path.ends_with("/leases")) {
      if (lease) return Answer(409, Status(409, "AlreadyExists"));
      return Store(std::move(body), 201);
    }
    if (request.method == "PUT" && named) {
      if (!lease) return Answer(404, Status(404, "NotFound"));
      if (body["metadata"].value("resourceVersion", "") != (*lease)["metadata"]["resourceVersion"]) {
        return Answer(409, Status(409, "Conflict"));
      }
      return Store(std::move(body), 200);
    }
    return Answer(405, Status(405, "MethodNotAllowed"));
  }

  std::string Holder() const { return lease ? (*lease)["spec"].value("holderIdentity", "") : "<none>"; }
  int Transitions() const { return lease ? (*lease)["spec"].value("leaseTransitions", 0) : -1; }

  std::optional<json> lease;
  int revision = 10;
  int requests = 0;
  bool down = false;

 private:
  static json Status(int code, const std::string& reason) {
    return {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"}, {"reason", reason}, {"code", code},
            {"message", reason}};
  }
  static Result<HttpResponse> Answer(int status, const json& body) { return HttpResponse{status, {}, body.dump()}; }
  Result<HttpResponse> Store(json body, int status) {
    body["metadata"]["resourceVersion"] = std::to_string(++revision);
    lease = body;
    return Answer(status, body);
  }
};

class LeaderElectorTest : public ::testing::Test {
 protected:
  static constexpr double kWall0 = 1795786839;
  // Each replica has its own steady clock with its own origin: expiry is never compared across replicas.
  std::chrono::steady_clock::time_point SteadyA(double s) {
    return std::chrono::steady_clock::time_point{} + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                         std::chrono::duration<double>(1000 + s));
  }
  std::chrono::steady_clock::time_point SteadyB(double s) {
    return std::chrono::steady_clock::time_point{} + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                         std::chrono::duration<double>(77777 + s));
  }
  bool TickA(double s) { return a.Tick(kWall0 + s, SteadyA(s)); }
  bool TickB(double s) { return b.Tick(kWall0 + s, SteadyB(s)); }

  InMemoryLeaseServer server;
  KubeClient client{server, KubeAccess{"https://k8s.test", {}, "", "token"}};
  LeaderElector a{client, "topdog", "election", "advisor-a", /*lease_duration_seconds=*/15,
                  /*renew_deadline_seconds=*/10};
  LeaderElector b{client, "topdog", "election", "advisor-b", 15, 10};
};

TEST_F(LeaderElectorTest, FirstCandidateCreatesTheLeaseAndTheOtherFollows) {
  EXPECT_TRUE(TickA(0));
  EXPECT_EQ(server.Holder(), "advisor-a");
  EXPECT_EQ(server.Transitions(), 0);
  EXPECT_EQ((*server.lease)["spec"]["renewTime"], "2026-11-27T13:40:39.000000Z");
  EXPECT_FALSE(TickB(0.5));
  EXPECT_TRUE(a.IsLeader());
  EXPECT_FALSE(b.IsLeader());
  EXPECT_EQ(b.observed_holder(), "advisor-a");
}

TEST_F(LeaderElectorTest, NeverTwoLeadersWhileTheLeaderRenews) {
  for (int second = 0; second <= 120; second += 2) {
    TickA(second);
    TickB(second + 1);
    EXPECT_FALSE(a.IsLeader() && b.IsLeader()) << "at " << second;
    EXPECT_TRUE(a.IsLeader()) << "at " << second;
  }
  EXPECT_EQ(server.Transitions(), 0);
}

TEST_F(LeaderElectorTest, FollowerTakesOverOnlyAfterTheLeaseExpires) {
  ASSERT_TRUE(TickA(0));
  ASSERT_FALSE(TickB(1));  // b first sees the record at 1 s on its clock
  // a stops ticking (hung or killed). b waits a whole lease duration from when it saw the record.
  for (double s = 2; s < 16; s += 2) {
    EXPECT_FALSE(TickB(s)) << "at " << s;
    if (s >= 10) {
      EXPECT_FALSE(a.IsLeaderAt(SteadyA(s))) << "a acts past its renew deadline at " << s;
    }
  }
  EXPECT_TRUE(TickB(16));
  EXPECT_EQ(server.Holder(), "advisor-b");
  EXPECT_EQ(server.Transitions(), 1);
  EXPECT_EQ((*server.lease)["spec"]["acquireTime"], "2026-11-27T13:40:55.000000Z");
  // a comes back: it sees b's lease and follows.
  EXPECT_FALSE(TickA(17));
  EXPECT_FALSE(a.IsLeader());
}

TEST_F(LeaderElectorTest, RenewFailurePastTheDeadlineLosesLeadershipWithoutAnAnswer) {
  ASSERT_TRUE(TickA(0));
  ASSERT_TRUE(TickA(2));  // renewed at 2 s: leader until 12 s
  server.down = true;
  EXPECT_TRUE(TickA(4));  // a failed renewal within the deadline keeps leadership
  EXPECT_TRUE(a.last_error().has_value());
  EXPECT_EQ(a.last_error()->kind, ErrorKind::kUnavailable);
  EXPECT_TRUE(TickA(11.9));
  EXPECT_TRUE(a.IsLeaderAt(SteadyA(11.9)));
  EXPECT_FALSE(a.IsLeaderAt(SteadyA(12)));  // no Tick needed: the deadline alone ends it
  EXPECT_FALSE(TickA(12));
  EXPECT_FALSE(a.IsLeader());
  server.down = false;
  EXPECT_TRUE(TickA(13));  // the Lease is still ours (nobody took it): renewed, leader again
  EXPECT_EQ(server.Transitions(), 0);
}

TEST_F(LeaderElectorTest, ConflictOnUpdateMeansSomeoneElseWon) {
  ASSERT_TRUE(TickA(0));
  // b's write landed since a's last renewal: a's next read shows it.
  (*server.lease)["spec"]["holderIdentity"] = "advisor-b";
  (*server.lease)["metadata"]["resourceVersion"] = "999";
  EXPECT_FALSE(TickA(2));  // sees b as holder: follower at once
  EXPECT_FALSE(a.IsLeader());

  // A 409 from the write itself: another replica updated after our GET.
  class RacingServer : public HttpClient {
   public:
    explicit RacingServer(InMemoryLeaseServer& inner) : inner_(inner) {}
    Result<HttpResponse> Send(const HttpRequest& request) override {
      if (request.method == "PUT") (*inner_.lease)["metadata"]["resourceVersion"] = "1000";  // the racer's write
      return inner_.Send(request);
    }
    InMemoryLeaseServer& inner_;
  } racing(server);
  KubeClient racing_client(racing, KubeAccess{"https://k8s.test", {}, "", "token"});
  (*server.lease)["spec"]["holderIdentity"] = "";  // released: d takes over at once
  LeaderElector d{racing_client, "topdog", "election", "advisor-d", 15, 10};
  EXPECT_FALSE(d.Tick(kWall0 + 3, SteadyA(3)));
  ASSERT_TRUE(d.last_error().has_value());
  EXPECT_EQ(d.last_error()->kind, ErrorKind::kConflict);
  EXPECT_FALSE(d.IsLeader());
}

TEST_F(LeaderElectorTest, ALeaderThatLosesTheRaceStopsAtOnce) {
  ASSERT_TRUE(TickA(0));
  ASSERT_TRUE(a.IsLeaderAt(SteadyA(1)));
  // b took over (e.g. a was partitioned long enough); a's next Tick sees it.
  (*server.lease)["spec"]["holderIdentity"] = "advisor-b";
  (*server.lease)["metadata"]["resourceVersion"] = "500";
  EXPECT_FALSE(TickA(2));
  EXPECT_FALSE(a.IsLeaderAt(SteadyA(2)));  // well before its renew deadline
}

TEST_F(LeaderElectorTest, ReleaseLetsTheOtherTakeOverAtItsNextTick) {
  ASSERT_TRUE(TickA(0));
  ASSERT_FALSE(TickB(1));
  ASSERT_TRUE(a.Release(kWall0 + 2));
  EXPECT_FALSE(a.IsLeader());
  EXPECT_EQ(server.Holder(), "");
  EXPECT_EQ((*server.lease)["spec"]["leaseDurationSeconds"], 1);
  EXPECT_TRUE(TickB(3));  // no lease-duration wait for a released Lease
  EXPECT_EQ(server.Transitions(), 1);
  EXPECT_TRUE(b.Release(kWall0 + 4));
  EXPECT_TRUE(a.Release(kWall0 + 5));  // not the leader: nothing sent
}

TEST_F(LeaderElectorTest, ServerDownBeforeEverLeadingStaysFollower) {
  server.down = true;
  EXPECT_FALSE(TickA(0));
  EXPECT_FALSE(a.IsLeaderAt(SteadyA(0)));
  ASSERT_TRUE(a.last_error().has_value());
  server.down = false;
  EXPECT_TRUE(TickA(2));
  EXPECT_FALSE(a.last_error().has_value());
}

}  // namespace
}  // namespace topdog::advisor
