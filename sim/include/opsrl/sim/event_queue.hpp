#pragma once
// The discrete-event kernel's queue: events ordered by (time, insertion order), cancellable
// through handles, with no allocation once the queue has reached its working size.
//
//   push(t, event) -> handle      pop() -> next live event      cancel(handle) -> bool
//
// Layout: a 4-ary min-heap of 16-byte entries {time, sequence << 24 | slot}. The sequence
// number is unique and increasing, so comparing the packed key breaks ties by insertion
// order. An event's payload lives in a slot; cancelling frees the slot at once and leaves
// the heap entry behind, recognised as stale on pop because its sequence no longer matches
// the slot's (lazy deletion keeps cancel O(1)).
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

  EventHandle push(SimTime time, const Event& event) {
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
    heap_.push_back({time, (seq << 24) | slot});
    sift_up(heap_.size() - 1);
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
    return true;
  }

  bool pending(const EventHandle& h) const {
    return h.valid() && h.slot < slots_.size() && slots_[h.slot].sequence == h.sequence;
  }

  bool empty() { return skip_stale(), heap_.empty(); }
  std::size_t size() const { return live_; }

  // Time of the next live event; requires !empty().
  SimTime next_time() {
    skip_stale();
    return heap_.front().time;
  }

  // Removes and returns the next live event, or nullopt when the queue is empty.
  std::optional<ScheduledEvent> pop() {
    skip_stale();
    if (heap_.empty()) return std::nullopt;
    const Entry top = heap_.front();
    remove_top();
    const auto slot = static_cast<std::uint32_t>(top.key & 0xFFFFFF);
    ScheduledEvent out{top.time, slots_[slot].event};
    release(slot);
    --live_;
    return out;
  }

  void clear() {
    heap_.clear();
    slots_.clear();
    free_slots_.clear();
    live_ = 0;
  }

 private:
  struct Entry {
    SimTime time;
    std::uint64_t key;  // sequence << 24 | slot
    bool operator<(const Entry& o) const { return time < o.time || (time == o.time && key < o.key); }
  };
  struct Slot {
    Event event;
    std::uint64_t sequence = 0;  // 0: free
  };

  void release(std::uint32_t slot) {
    slots_[slot].sequence = 0;
    free_slots_.push_back(slot);
  }

  void skip_stale() {
    while (!heap_.empty()) {
      const Entry& top = heap_.front();
      const auto slot = static_cast<std::uint32_t>(top.key & 0xFFFFFF);
      if (slots_[slot].sequence == (top.key >> 24)) return;
      remove_top();
    }
  }

  void remove_top() {
    heap_.front() = heap_.back();
    heap_.pop_back();
    if (!heap_.empty()) sift_down(0);
  }

  void sift_up(std::size_t i) {
    const Entry e = heap_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 4;
      if (!(e < heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = e;
  }

  void sift_down(std::size_t i) {
    const std::size_t n = heap_.size();
    const Entry e = heap_[i];
    for (;;) {
      const std::size_t first = 4 * i + 1;
      if (first >= n) break;
      std::size_t best = first;
      const std::size_t last = first + 4 < n ? first + 4 : n;
      for (std::size_t c = first + 1; c < last; ++c)
        if (heap_[c] < heap_[best]) best = c;
      if (!(heap_[best] < e)) break;
      heap_[i] = heap_[best];
      i = best;
    }
    heap_[i] = e;
  }

  std::vector<Entry> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::uint64_t last_sequence_ = 0;
  std::size_t live_ = 0;
};

}  // namespace opsrl::sim
