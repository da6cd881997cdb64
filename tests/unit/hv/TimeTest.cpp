// Xen time on the host: the one timer thread (TimerQueue), a vCPU's singleshot
// and periodic timers (VcpuTimers), and the pvclock a guest reads (PvClock,
// VcpuClock). Timing assertions are lower bounds only ("not before"), upper
// bounds are generous waits; ordering is made deterministic by holding the
// timer thread in a callback (Gate) while timers are armed.
#include <cstdint>  // before Xen headers
#include <gtest/gtest.h>
#include <x86intrin.h>
#include <xen/xen.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "FakeBackend.h"
#include "HvTestUtil.h"
#include "smartvm/hv/Vcpu.h"  // monotonicNs
#include "smartvm/hv/time/PvClock.h"
#include "smartvm/hv/time/TimerQueue.h"
#include "smartvm/hv/time/VcpuClock.h"
#include "smartvm/hv/time/VcpuTimers.h"

namespace smartvm::hv {
namespace {

using namespace std::chrono_literals;
using test::waitUntil;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kHour = 3600 * kSec;

// Waits (up to 10 s) until a timer armed now for `deadlineNs` has run. The
// queue runs callbacks one at a time in deadline order, so every callback due
// before it (or running now) has finished by then.
::testing::AssertionResult drainUntil(TimerQueue& q, uint64_t deadlineNs) {
  auto done = std::make_shared<std::promise<void>>();
  auto f = done->get_future();
  q.arm(deadlineNs, [done] { done->set_value(); });
  if (f.wait_for(10s) != std::future_status::ready) return ::testing::AssertionFailure() << "queue did not drain";
  return ::testing::AssertionSuccess();
}
::testing::AssertionResult drain(TimerQueue& q) { return drainUntil(q, 0); }

// Holds the timer thread inside a callback until open() (or destruction), so
// that timers armed meanwhile, even with past deadlines, cannot fire yet. The
// constructor returns once the thread is held (the gate is no longer pending).
// Declare it after the queue: it must open before the queue joins its thread.
class Gate {
 public:
  explicit Gate(TimerQueue& q) {
    auto f = open_.get_future().share();
    auto entered = entered_;
    q.arm(0, [f, entered] {
      entered->store(true);
      f.wait();
    });
    EXPECT_TRUE(waitUntil([entered] { return entered->load(); }, 10s)) << "the timer thread never took the gate";
  }
  ~Gate() { open(); }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  void open() {
    if (!opened_) {
      opened_ = true;
      open_.set_value();
    }
  }
 private:
  std::promise<void> open_;
  std::shared_ptr<std::atomic<bool>> entered_ = std::make_shared<std::atomic<bool>>(false);
  bool opened_ = false;
};

// ---------------------------------------------------------------- TimerQueue

TEST(TimerQueue, FiresInDeadlineOrderNotArmingOrder) {
  std::mutex m;
  std::vector<int> order;
  TimerQueue q;
  auto record = [&](int i) {
    return [&m, &order, i] {
      std::lock_guard lk(m);
      order.push_back(i);
    };
  };
  {
    Gate gate(q);
    q.arm(300, record(3));
    q.arm(100, record(1));
    q.arm(200, record(2));
    q.arm(200, record(22));  // equal deadlines: in arming order
    EXPECT_EQ(q.pending(), 4u);
  }
  ASSERT_TRUE(waitUntil([&] { return q.fired() == 5; }));  // the gate's and ours
  std::lock_guard lk(m);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 22, 3}));
  EXPECT_EQ(q.pending(), 0u);
}

TEST(TimerQueue, NeverFiresBeforeTheDeadline) {
  TimerQueue q;
  std::atomic<uint64_t> firedAt{0};
  const uint64_t deadline = monotonicNs() + 30 * kMs;
  q.arm(deadline, [&] { firedAt = monotonicNs(); });
  EXPECT_EQ(q.pending(), 1u);
  ASSERT_TRUE(waitUntil([&] { return firedAt.load() != 0; }));
  EXPECT_GE(firedAt.load(), deadline);
  EXPECT_EQ(q.fired(), 1u);
  EXPECT_EQ(q.pending(), 0u);
}

TEST(TimerQueue, PastDeadlineFiresWithoutWaitingForALaterOne) {
  TimerQueue q;
  std::atomic<int> late{0}, past{0};
  q.arm(monotonicNs() + kHour, [&] { late++; });
  // The thread now sleeps toward the 1 h deadline; an earlier one must wake it.
  ASSERT_TRUE(drainUntil(q, 0));
  q.arm(monotonicNs() - kSec, [&] { past++; });
  q.arm(1, [&] { past++; });
  ASSERT_TRUE(waitUntil([&] { return past.load() == 2; }));
  EXPECT_EQ(late.load(), 0);
  EXPECT_EQ(q.pending(), 1u) << "the 1 h timer is still armed";
}

TEST(TimerQueue, CancelDisarms) {
  TimerQueue q;
  std::atomic<int> ran{0};
  TimerQueue::Id id, other;
  {
    Gate gate(q);  // `id` is due at once; only the held thread keeps it from firing
    id = q.arm(1, [&] { ran++; });
    other = q.arm(monotonicNs() + kHour, [&] { ran++; });
    EXPECT_NE(id, other);
    EXPECT_TRUE(q.cancel(id));
    EXPECT_EQ(q.pending(), 1u);
  }
  ASSERT_TRUE(drain(q));
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(q.pending(), 1u);
  EXPECT_FALSE(q.cancel(id)) << "already cancelled";
  EXPECT_FALSE(q.cancel(0xdeadbeef)) << "unknown id";
  EXPECT_TRUE(q.cancel(other));
  EXPECT_EQ(q.pending(), 0u);
}

TEST(TimerQueue, CancelOfAFiredTimerWaitsForItsCallback) {
  TimerQueue q;
  std::promise<void> started;
  std::atomic<bool> finished{false};
  const TimerQueue::Id id = q.arm(0, [&] {
    started.set_value();
    std::this_thread::sleep_for(100ms);
    finished = true;
  });
  ASSERT_EQ(started.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(q.cancel(id)) << "it had fired already";
  EXPECT_TRUE(finished.load()) << "cancel() returned while the callback still ran";
}

TEST(TimerQueue, CallbacksRunOnTheTimerThreadAndMayCancelThemselvesAndArm) {
  TimerQueue q;
  EXPECT_FALSE(q.onTimerThread());
  std::promise<TimerQueue::Id> idp;
  std::shared_future<TimerQueue::Id> idf = idp.get_future().share();
  std::atomic<bool> onTimer{false}, selfCancel{true}, otherThread{false};
  std::atomic<int> second{0};
  const auto testThread = std::this_thread::get_id();
  const TimerQueue::Id id = q.arm(0, [&, idf] {
    onTimer = q.onTimerThread();
    otherThread = std::this_thread::get_id() != testThread;
    selfCancel = q.cancel(idf.get());  // must not wait for itself
    q.arm(0, [&] { second++; });
  });
  idp.set_value(id);
  ASSERT_TRUE(waitUntil([&] { return second.load() == 1; }));
  EXPECT_TRUE(onTimer.load());
  EXPECT_TRUE(otherThread.load());
  EXPECT_FALSE(selfCancel.load()) << "a running timer is no longer armed";
  EXPECT_EQ(q.fired(), 2u);
}

TEST(TimerQueue, ManyTimersEachFireExactlyOnce) {
  constexpr int kN = 300;
  std::vector<std::atomic<int>> hits(kN);
  TimerQueue q;
  const uint64_t base = monotonicNs();
  for (int i = 0; i < kN; ++i) {
    // Deadlines scattered over 0-20 ms, several of them equal.
    q.arm(base + static_cast<uint64_t>((i * 7919) % 41) * kMs / 2, [&hits, i] { hits[i]++; });
  }
  ASSERT_TRUE(waitUntil([&] { return q.fired() == kN; }));
  ASSERT_TRUE(drain(q));
  for (int i = 0; i < kN; ++i) EXPECT_EQ(hits[i].load(), 1) << i;
  EXPECT_EQ(q.pending(), 0u);
}

TEST(TimerQueue, DestructionDropsPendingTimersUnrun) {
  auto token = std::make_shared<int>(0);
  std::atomic<int> ran{0};
  {
    TimerQueue q;
    for (int i = 0; i < 10; ++i) q.arm(monotonicNs() + kHour + i, [token, &ran] { ran++; });
    EXPECT_EQ(q.pending(), 10u);
    EXPECT_EQ(token.use_count(), 11);
  }  // must not wait an hour
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(token.use_count(), 1) << "the callbacks were released";
}

// ---------------------------------------------------------------- VcpuTimers

class VcpuTimersTest : public ::testing::Test {
 protected:
  void onFire() {
    std::lock_guard lk(m_);
    times_.push_back(monotonicNs());
  }
  size_t fires() {
    std::lock_guard lk(m_);
    return times_.size();
  }
  std::vector<uint64_t> times() {
    std::lock_guard lk(m_);
    return times_;
  }

  std::mutex m_;
  std::vector<uint64_t> times_;
  TimerQueue q;
  VcpuTimers t{q, [this] { onFire(); }};
};

TEST_F(VcpuTimersTest, SingleshotFiresOnceNotBeforeItsDeadline) {
  const uint64_t deadline = monotonicNs() + 20 * kMs;
  t.setSingleshot(deadline);
  ASSERT_TRUE(waitUntil([&] { return fires() == 1; }));
  EXPECT_GE(times()[0], deadline);
  EXPECT_FALSE(t.singleshotArmed()) << "disarmed once fired";
  ASSERT_TRUE(drainUntil(q, monotonicNs() + 50 * kMs));
  EXPECT_EQ(fires(), 1u) << "a singleshot timer fires once";
  EXPECT_EQ(q.pending(), 0u);
}

TEST_F(VcpuTimersTest, PastDeadlineFiresAtOnce) {
  t.setSingleshot(0);
  ASSERT_TRUE(waitUntil([&] { return fires() == 1; }));
  t.setSingleshot(monotonicNs() - kSec);
  ASSERT_TRUE(waitUntil([&] { return fires() == 2; }));
  EXPECT_FALSE(t.singleshotArmed());
}

TEST_F(VcpuTimersTest, SingleshotStaysArmedUntilItsDeadline) {
  t.setSingleshot(monotonicNs() + kHour);
  EXPECT_TRUE(t.singleshotArmed());
  EXPECT_EQ(q.pending(), 1u);
  ASSERT_TRUE(drainUntil(q, monotonicNs() + 20 * kMs));
  EXPECT_EQ(fires(), 0u);
  EXPECT_TRUE(t.singleshotArmed());
}

TEST_F(VcpuTimersTest, RearmingReplacesTheDeadline) {
  {
    Gate gate(q);
    t.setSingleshot(1);  // due, but the thread is held
    t.setSingleshot(monotonicNs() + kHour);
  }
  ASSERT_TRUE(drain(q));
  EXPECT_EQ(fires(), 0u) << "the replaced deadline fired";
  EXPECT_TRUE(t.singleshotArmed());
  EXPECT_EQ(q.pending(), 1u) << "the old timer is gone from the queue";
  // And the other way round: a far deadline brought forward fires once.
  t.setSingleshot(1);
  ASSERT_TRUE(waitUntil([&] { return fires() == 1; }));
  ASSERT_TRUE(drain(q));
  EXPECT_EQ(fires(), 1u);
  EXPECT_EQ(q.pending(), 0u);
}

TEST_F(VcpuTimersTest, StopSingleshotBeforeItFires) {
  {
    Gate gate(q);
    t.setSingleshot(1);
    EXPECT_TRUE(t.singleshotArmed());
    t.stopSingleshot();
    EXPECT_FALSE(t.singleshotArmed());
  }
  ASSERT_TRUE(drain(q));
  EXPECT_EQ(fires(), 0u);
  EXPECT_EQ(q.pending(), 0u);
  t.stopSingleshot();  // stopping a stopped timer is harmless
  EXPECT_FALSE(t.singleshotArmed());
}

TEST_F(VcpuTimersTest, PeriodicTicksEveryPeriodAndStops) {
  constexpr uint64_t kPeriod = 5 * kMs;
  const uint64_t t0 = monotonicNs();
  t.setPeriodic(kPeriod);
  EXPECT_EQ(t.periodNs(), kPeriod);
  ASSERT_TRUE(waitUntil([&] { return fires() >= 3; }));
  const auto ts = times();
  for (size_t k = 0; k < 3; ++k) EXPECT_GE(ts[k], t0 + (k + 1) * kPeriod) << "tick " << k << " came early";
  t.setPeriodic(0);
  EXPECT_EQ(t.periodNs(), 0u);
  ASSERT_TRUE(drain(q));  // a tick already running when stopped may still end
  const size_t n = fires();
  ASSERT_TRUE(drainUntil(q, monotonicNs() + 10 * kPeriod));
  EXPECT_EQ(fires(), n) << "ticks after the periodic timer was stopped";
  EXPECT_EQ(q.pending(), 0u);
}

TEST_F(VcpuTimersTest, SetPeriodicReplacesThePeriod) {
  {
    Gate gate(q);
    t.setPeriodic(1);  // due at once, but the thread is held
    t.setPeriodic(kHour);
  }
  ASSERT_TRUE(drain(q));
  EXPECT_EQ(fires(), 0u);
  EXPECT_EQ(t.periodNs(), kHour);
  EXPECT_EQ(q.pending(), 1u);
}

TEST_F(VcpuTimersTest, SingleshotAndPeriodicAreIndependent) {
  t.setPeriodic(kHour);
  t.setSingleshot(monotonicNs() + kHour);
  EXPECT_EQ(q.pending(), 2u);
  t.stopSingleshot();
  EXPECT_EQ(t.periodNs(), kHour) << "stopping the singleshot timer left the periodic one";
  EXPECT_EQ(q.pending(), 1u);
  t.setSingleshot(monotonicNs() + kHour);
  t.setPeriodic(0);
  EXPECT_TRUE(t.singleshotArmed()) << "stopping the periodic timer left the singleshot one";
  EXPECT_EQ(q.pending(), 1u);
}

TEST_F(VcpuTimersTest, StopAllDisarmsBoth) {
  t.setPeriodic(kHour);
  t.setSingleshot(monotonicNs() + kHour);
  t.stopAll();
  EXPECT_FALSE(t.singleshotArmed());
  EXPECT_EQ(t.periodNs(), 0u);
  EXPECT_EQ(q.pending(), 0u);
}

TEST_F(VcpuTimersTest, DestructionDisarmsBoth) {
  std::atomic<int> ran{0};
  {
    VcpuTimers other(q, [&] { ran++; });
    other.setPeriodic(kHour);
    other.setSingleshot(monotonicNs() + kHour);
    EXPECT_EQ(q.pending(), 2u);
  }
  EXPECT_EQ(q.pending(), 0u);
  EXPECT_EQ(ran.load(), 0);
}

TEST(VcpuTimersCallback, StopAllFromTheFiringCallbackEndsThePeriodicTimer) {
  TimerQueue q;
  std::atomic<int> ticks{0};
  VcpuTimers* self = nullptr;
  VcpuTimers t(q, [&] {
    ticks++;
    self->stopAll();  // on the timer thread: must not wait for itself
  });
  self = &t;
  t.setPeriodic(2 * kMs);
  ASSERT_TRUE(waitUntil([&] { return ticks.load() >= 1; }));
  ASSERT_TRUE(drainUntil(q, monotonicNs() + 20 * kMs));
  EXPECT_EQ(ticks.load(), 1);
  EXPECT_EQ(t.periodNs(), 0u);
  EXPECT_EQ(q.pending(), 0u);
}

// ------------------------------------------------------------------- PvClock

// What a guest computes (Linux's pvclock_scale_delta + pvclock_read).
uint64_t guestScale(uint64_t delta, uint32_t mul, int8_t shift) {
  if (shift < 0) delta >>= -shift;
  else delta <<= shift;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(delta) * mul) >> 32);
}
uint64_t guestSystemTime(const vcpu_time_info_t& t, uint64_t tsc) {
  return t.system_time + guestScale(tsc - t.tsc_timestamp, t.tsc_to_system_mul, t.tsc_shift);
}

TEST(TimePvClock, ScaleIsXensSetTimeScale) {
  struct Case {
    uint64_t hz;
    uint32_t mul;
    int shift;
  };
  for (const Case c : {Case{2'000'000'000, 0x80000000, 0}, Case{1'000'000'000, 0x80000000, 1},
                       Case{3'000'000'000, 0xaaaaaaaa, -1}, Case{2'400'000'000, 0xd5555555, -1},
                       Case{3'123'456'789, 0xa3ebc34b, -1}, Case{1, 0xee6b2800, 30}, Case{32768, 0xee6b2800, 15},
                       Case{1'000'000'000'000, 0x83126e97, -9}}) {
    const TscScale s = tscScaleFor(c.hz);
    EXPECT_EQ(s.mul, c.mul) << c.hz;
    EXPECT_EQ(s.shift, c.shift) << c.hz;
  }
  const TscScale zero = tscScaleFor(0);
  EXPECT_EQ(zero.mul, 0u);
  EXPECT_EQ(zero.shift, 0);
}

TEST(TimePvClock, ScaleTicksIsTheGuestFormulaAndRoundTripsASecond) {
  for (uint64_t hz : {uint64_t{1}, uint64_t{32768}, uint64_t{1'000'000}, uint64_t{999'999'999},
                      uint64_t{1'000'000'001}, uint64_t{2'400'000'000}, uint64_t{3'123'456'789},
                      uint64_t{1'000'000'000'000}}) {
    const TscScale s = tscScaleFor(hz);
    // One second and one hour of ticks come back within 2 ns per second.
    const uint64_t ns = scaleTicks(hz, s);
    EXPECT_NEAR(static_cast<double>(ns), 1e9, 2.0) << hz;
    EXPECT_NEAR(static_cast<double>(scaleTicks(3600 * hz, s)), 3600e9, 7200.0) << hz;
    for (uint64_t ticks : {uint64_t{0}, uint64_t{1}, hz / 3, hz * 7 + 5, uint64_t{1} << 40}) {
      EXPECT_EQ(scaleTicks(ticks, s), guestScale(ticks, s.mul, s.shift)) << hz << " " << ticks;
    }
  }
  EXPECT_EQ(scaleTicks(12345, TscScale{}), 0u) << "no rate, no time";
}

TEST(TimePvClock, PublishBumpsTheVersionByTwoAndWritesTheFields) {
  vcpu_time_info_t t{};
  t.flags = 0x5a;
  const TscScale s = tscScaleFor(2'400'000'000);
  publishTimeInfo(t, 1000, 2000, s);
  EXPECT_EQ(t.version, 2u);
  EXPECT_EQ(t.tsc_timestamp, 1000u);
  EXPECT_EQ(t.system_time, 2000u);
  EXPECT_EQ(t.tsc_to_system_mul, s.mul);
  EXPECT_EQ(t.tsc_shift, s.shift);
  EXPECT_EQ(t.flags, 0x5a) << "flags are not the publisher's";
  constexpr uint64_t kTsc = 2'400'000'000ull + 1000;
  publishTimeInfo(t, kTsc, 3000, s);
  EXPECT_EQ(t.version, 4u);
  // One second of a 2.4 GHz TSC (the truncated 0.32 multiplier may lose 1 ns).
  EXPECT_NEAR(static_cast<double>(guestSystemTime(t, kTsc + 2'400'000'000ull)), 3000.0 + 1e9, 1.0);
  EXPECT_EQ(guestSystemTime(t, kTsc), 3000u);
  // A version left odd (a torn write the guest saw) becomes even again.
  t.version = 7;
  publishTimeInfo(t, 1, 2, s);
  EXPECT_EQ(t.version, 8u);
}

TEST(TimePvClock, ReadersNeverSeeATornPairUnderAnEvenVersion) {
  // The writer publishes (i, 3i, mul i); a reader following the version
  // protocol must only ever accept matching triples.
  vcpu_time_info_t t{};
  std::atomic<bool> done{false};
  std::atomic<uint64_t> accepted{0}, torn{0};
  std::thread reader([&] {
    while (!done.load(std::memory_order_relaxed)) {
      const uint32_t v0 = __atomic_load_n(&t.version, __ATOMIC_ACQUIRE);
      if (v0 & 1) continue;
      const uint64_t tsc = __atomic_load_n(&t.tsc_timestamp, __ATOMIC_RELAXED);
      const uint64_t sys = __atomic_load_n(&t.system_time, __ATOMIC_RELAXED);
      const uint32_t mul = __atomic_load_n(&t.tsc_to_system_mul, __ATOMIC_RELAXED);
      __atomic_thread_fence(__ATOMIC_ACQUIRE);
      if (__atomic_load_n(&t.version, __ATOMIC_RELAXED) != v0) continue;
      accepted++;
      if (sys != 3 * tsc || mul != static_cast<uint32_t>(tsc)) torn++;
    }
  });
  // Keep writing until the reader has had a fair chance to race (bounded by time).
  const uint64_t giveUp = monotonicNs() + 10 * kSec;
  uint64_t i = 0;
  while (i < 200'000 || (accepted.load() < 10'000 && monotonicNs() < giveUp)) {
    ++i;
    publishTimeInfo(t, i, 3 * i, TscScale{static_cast<uint32_t>(i), 0});
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_GT(accepted.load(), 0u);
  EXPECT_EQ(t.version, static_cast<uint32_t>(2 * i));
}

// ----------------------------------------------------------------- VcpuClock

bool hostHasConstantTsc() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("flags", 0) == 0) return line.find(" constant_tsc") != std::string::npos;
  }
  return false;
}

// The host TSC rate against CLOCK_MONOTONIC, from two tightly bracketed
// samples about 100 ms apart (a preempted sample is retaken).
uint64_t measureHostTscHz() {
  auto sample = [](uint64_t& ns, uint64_t& tsc) {
    for (int i = 0;; ++i) {
      const uint64_t a = monotonicNs();
      const uint64_t t = __rdtsc();
      const uint64_t b = monotonicNs();
      if (b - a < 20'000 || i == 10'000) {
        ns = a + (b - a) / 2;
        tsc = t;
        return;
      }
    }
  };
  uint64_t n0, t0, n1, t1;
  sample(n0, t0);
  std::this_thread::sleep_for(100ms);
  sample(n1, t1);
  return static_cast<uint64_t>(static_cast<unsigned __int128>(t1 - t0) * kSec / (n1 - n0));
}

TEST(TimeVcpuClock, PublishesNothingBeforeCalibration) {
  VcpuClock c;
  EXPECT_FALSE(c.calibrated());
  vcpu_time_info_t t{};
  t.system_time = 77;
  c.publish(&t);
  c.publish(nullptr);
  EXPECT_EQ(t.version, 0u);
  EXPECT_EQ(t.system_time, 77u);
}

TEST(TimeVcpuClock, CalibrationTakesTheRateAndTheGuestTscOffset) {
  // A guest TSC ahead of the host's and one behind (a negative offset).
  for (uint64_t guestTsc : {uint64_t{1} << 62, uint64_t{1000}}) {
    test::FakeVcpu f(0);
    f.tsc = guestTsc;
    f.tscKhzValue = 2'400'000;
    VcpuClock c;
    const uint64_t h0 = __rdtsc();
    ASSERT_TRUE(c.calibrate(f).isOk());
    const uint64_t h1 = __rdtsc();
    EXPECT_TRUE(c.calibrated());
    EXPECT_EQ(c.scale().mul, 0xd5555555u);
    EXPECT_EQ(c.scale().shift, -1);
    // The guest read was paired with a host TSC in [h0, h1].
    const uint64_t g0 = __rdtsc();
    const uint64_t g = c.guestTscNow();
    const uint64_t g1 = __rdtsc();
    EXPECT_GE(g, guestTsc + (g0 - h1)) << guestTsc;
    EXPECT_LE(g, guestTsc + (g1 - h0)) << guestTsc;
  }
}

TEST(TimeVcpuClock, PublishWritesAFreshPairWithTheVersionProtocol) {
  test::FakeVcpu f(0);
  f.tsc = 5'000'000'000ull;
  VcpuClock c;
  ASSERT_TRUE(c.calibrate(f).isOk());
  vcpu_time_info_t t{};
  const uint64_t m0 = monotonicNs();
  const uint64_t gA = c.guestTscNow();
  c.publish(&t);
  const uint64_t gB = c.guestTscNow();
  const uint64_t m1 = monotonicNs();
  EXPECT_EQ(t.version, 2u);
  EXPECT_GE(t.system_time, m0);
  EXPECT_LE(t.system_time, m1);
  EXPECT_GE(t.tsc_timestamp, gA);
  EXPECT_LE(t.tsc_timestamp, gB);
  EXPECT_EQ(t.tsc_to_system_mul, 0x80000000u) << "the fake's 2 GHz";
  EXPECT_EQ(t.tsc_shift, 0);
  // Staleness is measured from the published system time.
  EXPECT_FALSE(c.stale(t.system_time));
  EXPECT_FALSE(c.stale(t.system_time + VcpuClock::kRefreshNs));
  EXPECT_TRUE(c.stale(t.system_time + VcpuClock::kRefreshNs + 1));
  c.publish(&t);
  EXPECT_EQ(t.version, 4u);
}

TEST(TimeVcpuClock, GuestFormulaTracksTheHostClock) {
  if (!hostHasConstantTsc()) GTEST_SKIP() << "host TSC rate is not constant";
  const uint64_t hz = measureHostTscHz();
  ASSERT_GT(hz, 100'000'000u);
  test::FakeVcpu f(0);
  f.tsc = 123'456'789;
  f.tscKhzValue = static_cast<uint32_t>(hz / 1000);
  VcpuClock c;
  ASSERT_TRUE(c.calibrate(f).isOk());
  vcpu_time_info_t t{};
  const uint64_t m0 = monotonicNs();
  c.publish(&t);
  const uint64_t m1 = monotonicNs();
  std::this_thread::sleep_for(20ms);
  const uint64_t n0 = monotonicNs();
  const uint64_t guestNs = guestSystemTime(t, c.guestTscNow());
  const uint64_t n1 = monotonicNs();
  // Exact up to the publish's own (TSC, time) pairing window and the rate
  // estimate: allow 1 ms plus 1% of the time since publishing.
  const uint64_t slack = kMs + (n1 - m0) / 100;
  EXPECT_GE(guestNs + slack, n0);
  EXPECT_LE(guestNs, n1 + (m1 - m0) + slack);
}

}  // namespace
}  // namespace smartvm::hv
