#pragma once
// The simulator's future: a binary min-heap of events keyed by time. Events
// at the same time come out in the order they were pushed, so a run depends
// only on its inputs (std::priority_queue alone would not say which of two
// equal keys comes first).
#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "smartvm/sched/SchedPolicy.h"

namespace smartvm::sched::sim {

/// One scheduled happening. `target` is a pCPU, vCPU or domain index and
/// `gen` a generation that lets a handler drop an event that went stale.
struct Event {
  enum class Kind : uint8_t {
    Reschedule,  ///< a tickle: the pCPU calls schedule()
    SliceEnd,    ///< the slice given by a decision ran out
    Tick,        ///< the policy's periodic tick on a pCPU
    BurstEnd,    ///< a vCPU finished its current piece of work
    IoWake,      ///< a blocked I/O vCPU's wait is over
    TaskStart,   ///< a domain starts a parallel task
    Pause,       ///< a domain is paused
    Unpause,     ///< and unpaused
  };
  Ns time = 0;
  uint64_t seq = 0;  ///< insertion order, set by push()
  Kind kind = Kind::Reschedule;
  uint32_t target = 0;
  uint64_t gen = 0;
};

class EventQueue {
 public:
  /// Queues `e` behind every event already queued for the same time.
  void push(Event e) {
    e.seq = nextSeq_++;
    heap_.push_back(e);
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  /// Removes and returns the earliest event; the queue must not be empty.
  Event pop() {
    assert(!heap_.empty());
    std::pop_heap(heap_.begin(), heap_.end(), later);
    Event e = heap_.back();
    heap_.pop_back();
    return e;
  }
  /// The earliest event's time; the queue must not be empty.
  Ns nextTime() const { return heap_.front().time; }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  /// Events pushed so far.
  uint64_t pushed() const { return nextSeq_; }

 private:
  static bool later(const Event& a, const Event& b) {
    return a.time != b.time ? a.time > b.time : a.seq > b.seq;
  }
  std::vector<Event> heap_;
  uint64_t nextSeq_ = 0;
};

}  // namespace smartvm::sched::sim
