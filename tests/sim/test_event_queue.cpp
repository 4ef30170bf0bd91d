#include <algorithm>
#include <vector>

#include <doctest/doctest.h>

#include <opsrl/sim/event_queue.hpp>
#include <opsrl/sim/rng.hpp>

using namespace opsrl::sim;

TEST_CASE("events pop in time order, ties in insertion order") {
  EventQueue q;
  q.push(30, {0, 1, 0});
  q.push(10, {0, 2, 0});
  q.push(30, {0, 3, 0});
  q.push(20, {0, 4, 0});
  q.push(10, {0, 5, 0});
  std::vector<int> order;
  std::vector<SimTime> times;
  while (auto e = q.pop()) {
    order.push_back(e->event.target);
    times.push_back(e->time);
  }
  CHECK(order == std::vector<int>{2, 5, 4, 1, 3});
  CHECK(times == std::vector<SimTime>{10, 10, 20, 30, 30});
}

TEST_CASE("cancelled events never fire and handles go stale") {
  EventQueue q;
  EventHandle a = q.push(5, {0, 1, 0});
  EventHandle b = q.push(6, {0, 2, 0});
  EventHandle c = q.push(7, {0, 3, 0});
  CHECK(q.size() == 3);
  CHECK(q.cancel(b));
  CHECK_FALSE(b.valid());
  CHECK_FALSE(q.cancel(b));  // twice is a no-op
  CHECK(q.size() == 2);
  CHECK(q.pending(a));
  REQUIRE(q.pop()->event.target == 1);
  CHECK_FALSE(q.pending(a));
  CHECK_FALSE(q.cancel(a));  // already fired
  // The freed slot is reused; the old handle must not cancel the new event.
  EventHandle old_c = c;
  CHECK(q.cancel(c));
  EventHandle d = q.push(8, {0, 4, 0});
  CHECK_FALSE(q.cancel(old_c));
  CHECK(q.pending(d));
  REQUIRE(q.pop()->event.target == 4);
  CHECK(q.empty());
  CHECK_FALSE(q.pop().has_value());
}

TEST_CASE("randomised push/cancel/pop matches a reference model") {
  EventQueue q;
  Rng rng(11, Stream::kScenarioGen);
  struct Ref {
    SimTime time;
    std::uint64_t order;
    int id;
    bool live;
  };
  std::vector<Ref> ref;
  std::vector<EventHandle> handles;
  std::uint64_t order = 0;
  int next_id = 0;
  SimTime now = 0;
  for (int step = 0; step < 20000; ++step) {
    const auto op = rng.below(10);
    if (op < 5) {
      const SimTime t = now + static_cast<SimTime>(rng.below(50));
      handles.push_back(q.push(t, {0, next_id, 0}));
      ref.push_back({t, order++, next_id++, true});
    } else if (op < 7 && !ref.empty()) {
      const auto k = rng.below(ref.size());
      const bool was_live = ref[k].live;
      CHECK(q.cancel(handles[k]) == was_live);
      ref[k].live = false;
    } else {
      auto best = ref.end();
      for (auto it = ref.begin(); it != ref.end(); ++it)
        if (it->live && (best == ref.end() || it->time < best->time || (it->time == best->time && it->order < best->order)))
          best = it;
      auto e = q.pop();
      if (best == ref.end()) {
        CHECK_FALSE(e.has_value());
      } else {
        REQUIRE(e.has_value());
        CHECK(e->event.target == best->id);
        CHECK(e->time == best->time);
        now = e->time;
        best->live = false;
      }
    }
    const auto live = std::count_if(ref.begin(), ref.end(), [](const Ref& r) { return r.live; });
    REQUIRE(q.size() == static_cast<std::size_t>(live));
  }
}

TEST_CASE("random streams are reproducible and independent") {
  Rng a(42, Stream::kTraffic), b(42, Stream::kTraffic), c(42, Stream::kFaults), d(43, Stream::kTraffic);
  for (int i = 0; i < 100; ++i) REQUIRE(a.next_u64() == b.next_u64());
  CHECK(a.next_u64() != c.next_u64());
  CHECK(b.next_u64() != d.next_u64());
  Rng u(1, Stream::kTraffic);
  double sum = 0;
  for (int i = 0; i < 100000; ++i) sum += u.uniform();
  CHECK(sum / 100000 == doctest::Approx(0.5).epsilon(0.01));
  double e = 0;
  for (int i = 0; i < 100000; ++i) e += u.exponential(4.0);
  CHECK(e / 100000 == doctest::Approx(0.25).epsilon(0.02));
}
