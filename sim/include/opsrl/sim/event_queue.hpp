#pragma once
// The discrete-event kernel's queue: events ordered by (time, insertion order), cancellable
// through handles, with no allocation once the queue has reached its working size.
//
//   push(t, event) -> handle      pop() -> next live event      cancel(handle) -> bool
//
// Layout: a 4-ary min-heap of 16-byte keys (time << 64 | sequence << 24 | slot). The sequence
// number is unique and increasing, so comparing keys breaks ties by insertion order. An
// event's payload lives in a slot; cancelling frees the slot at once and leaves the heap entry
// behind, recognised as stale on pop because its sequence no longer matches the slot's (lazy
// deletion keeps cancel O(1)). A pop leaves a hole at the root that the next push fills, so
// the common pop-then-push of a discrete-event loop costs one sift, not two.
#include <cassert>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include <opsrl/sim/time.hpp>

namespace opsrl::sim {

// What happens: a small POD so that the queue stores events by value.
struct Event {
  std::uint16_t kind = 0;  // component-defined event type
  std::int32_t target = -1;  // entity index the event concerns
  std::int64_t arg = 0;    // extra argument (e.g. a fault id)
};

struct EventHandle {
  std::uint32_t slot = std::numeric_limits<std::uint32_t>::max();
  std::uint64_t sequence = 0;
  bool valid() const { return sequence != 0; }
};

struct ScheduledEvent {
  SimTime time;
  Event event;
};

class EventQueue {
 public:
  static constexpr std::uint32_t kMaxPending = 1u << 24;

  EventQueue() = default;
  void reserve(std::size_t n) {
    heap_.reserve(n);
    slots_.reserve(n);
  }

  // Schedules an event; time must be >= 0.
  EventHandle push(SimTime time, const Event& event) {
    assert(time >= 0);
    std::uint32_t slot;
    if (!free_slots_.empty()) {
      slot = free_slots_.back();
      free_slots_.pop_back();
    } else {
      slot = static_cast<std::uint32_t>(slots_.size());
      assert(slot < kMaxPending);
      slots_.push_back({});
    }
    const std::uint64_t seq = ++last_sequence_;
    slots_[slot] = {event, seq};
    const Key key = (static_cast<Key>(time) << 64) | (seq << 24) | slot;
    if (hole_at_root_) {
      // A pop left the root empty: the new event takes its place (one sift instead of two).
      hole_at_root_ = false;
      sift_down(0, key);
    } else {
      heap_.push_back(key);
      sift_up(heap_.size() - 1, key);
    }
    ++live_;
    return {slot, seq};
  }

  // Cancels a pending event. Returns false if it already fired or was cancelled.
  bool cancel(EventHandle& h) {
    if (!h.valid() || h.slot >= slots_.size() || slots_[h.slot].sequence != h.sequence) {
      h = {};
      return false;
    }
    release(h.slot);
    h = {};
    --live_;
    ++stale_;
    return true;
  }

  bool pending(const EventHandle& h) const {
    return h.valid() && h.slot < slots_.size() && slots_[h.slot].sequence == h.sequence;
  }

  bool empty() { return live_ == 0; }
  std::size_t size() const { return live_; }

  // Time of the next live event; requires !empty().
  SimTime next_time() {
    settle();
    return static_cast<SimTime>(heap_.front() >> 64);
  }

  // Removes and returns the next live event, or nullopt when the queue is empty.
  std::optional<ScheduledEvent> pop() {
    if (live_ == 0) return std::nullopt;
    settle();
    const Key top = heap_.front();
    hole_at_root_ = true;  // filled by the next push, or removed by settle()
    const auto slot = static_cast<std::uint32_t>(top & 0xFFFFFF);
    ScheduledEvent out{static_cast<SimTime>(top >> 64), slots_[slot].event};
    release(slot);
    --live_;
    return out;
  }

  void clear() {
    heap_.clear();
    slots_.clear();
    free_slots_.clear();
    live_ = 0;
    stale_ = 0;
    hole_at_root_ = false;
  }

 private:
  // (time << 64) | (sequence << 24) | slot: one unsigned comparison orders by time, then by
  // insertion order.
  __extension__ using Key = unsigned __int128;
  struct Slot {
    Event event;
    std::uint64_t sequence = 0;  // 0: free
  };

  void release(std::uint32_t slot) {
    slots_[slot].sequence = 0;
    free_slots_.push_back(slot);
  }

  // Makes heap_.front() the next live event: fills a hole left by pop() and drops cancelled
  // entries (only checked while some exist).
  void settle() {
    if (hole_at_root_) {
      hole_at_root_ = false;
      remove_root();
    }
    while (stale_ > 0 && !heap_.empty()) {
      const Key top = heap_.front();
      const auto slot = static_cast<std::uint32_t>(top & 0xFFFFFF);
      if (slots_[slot].sequence == (static_cast<std::uint64_t>(top) >> 24)) return;
      --stale_;
      remove_root();
    }
  }

  void remove_root() {
    const Key last = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0, last);
  }

  void sift_up(std::size_t i, Key key) {
    while (i > 0) {
      const std::size_t parent = (i - 1) / 4;
      if (!(key < heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = key;
  }

  // Places key at position i or below: a 4-ary heap with branch-free selection of the
  // smallest child, since the comparisons are unpredictable.
  void sift_down(std::size_t i, Key key) {
    const std::size_t n = heap_.size();
    const Key* h = heap_.data();
    for (;;) {
      const std::size_t c = 4 * i + 1;
      std::size_t m;
      if (c + 3 < n) {
        const std::size_t m01 = h[c + 1] < h[c] ? c + 1 : c;
        const std::size_t m23 = h[c + 3] < h[c + 2] ? c + 3 : c + 2;
        m = h[m23] < h[m01] ? m23 : m01;
      } else if (c < n) {
        m = c;
        for (std::size_t k = c + 1; k < n; ++k) m = h[k] < h[m] ? k : m;
      } else {
        break;
      }
      if (!(h[m] < key)) break;
      heap_[i] = h[m];
      i = m;
    }
    heap_[i] = key;
  }

  std::vector<Key> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::uint64_t last_sequence_ = 0;
  std::size_t live_ = 0;
  std::size_t stale_ = 0;     // cancelled entries still in heap_
  bool hole_at_root_ = false; // heap_[0] is a popped event awaiting replacement
};

}  // namespace opsrl::sim
