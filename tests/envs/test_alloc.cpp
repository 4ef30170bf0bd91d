// The env layer's hot path allocates nothing: a steady step (no replica starting, no action)
// makes no heap allocation at all, simulator included. Counted by replacing the global
// operator new of this test binary.
#include <atomic>
#include <cstdlib>
#include <new>

#include <doctest/doctest.h>

#include "helpers.hpp"

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace opsrl::envs;
using namespace opsrl::envs::test;

TEST_CASE("steady steps allocate nothing, in both tasks") {
  for (const char* task : {"incident", "autoscale"}) {
    CAPTURE(task);
    EnvConfig c;
    c.incident.control_fraction = 1.0;  // no fault: nothing restarts
    Harness h(task, make_config(c));
    h.reset(3);
    for (int i = 0; i < 5; ++i) h.noop();  // let anything pending settle
    const long before = g_allocations.load();
    for (int i = 0; i < 50; ++i) h.noop();
    CHECK(g_allocations.load() - before == 0);
    // The counter does count: a reset builds a new cluster for its time of day.
    const long at_reset = g_allocations.load();
    h.reset(4);
    CHECK(g_allocations.load() > at_reset);
  }
}
