// DoorbellWatcher: watched eventfds call back on the watcher thread; a
// callback may block on a lock whose holder adds a doorbell; remove() returns
// only after an in-flight callback ended.
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "smartvm/hv/DoorbellWatcher.h"

namespace smartvm::hv {
namespace {

using namespace std::chrono_literals;

UniqueFd makeEventFd() { return UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)); }

void ring(int fd) {
  const uint64_t one = 1;
  ASSERT_EQ(::write(fd, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
}

template <typename F>
bool eventually(F ok, std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!ok()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(DoorbellWatcher, AWatchedFdCallsBackAndRingsCarryThePort) {
  std::atomic<uint32_t> rungPort{0};
  DoorbellWatcher w([&](uint32_t port) { rungPort = port; });
  std::atomic<int> wakes{0};
  UniqueFd fd = makeEventFd();
  const int raw = fd.get();
  ASSERT_TRUE(w.watch(7, std::move(fd), [&] { ++wakes; }).isOk());
  ring(raw);
  EXPECT_TRUE(eventually([&] { return wakes.load() == 1; }));

  auto bell = w.add(9);
  ASSERT_TRUE(bell.isOk());
  ring(bell->clientFd.get());
  EXPECT_TRUE(eventually([&] { return rungPort.load() == 9; }));
  EXPECT_EQ(w.size(), 2u);
}

// A backend binding its ring's port while it holds its store lock, as the
// store's own doorbell callback waits for that lock: watch() must not wait
// for the callback.
TEST(DoorbellWatcher, ACallbackWaitingOnALockDoesNotBlockWatchFromItsHolder) {
  DoorbellWatcher w([](uint32_t) {});
  std::mutex storeLock;
  std::atomic<bool> inCallback{false};
  UniqueFd storeFd = makeEventFd();
  const int storeRaw = storeFd.get();
  ASSERT_TRUE(w.watch(1, std::move(storeFd), [&] {
                inCallback = true;
                std::lock_guard lk(storeLock);
              }).isOk());

  std::unique_lock held(storeLock);
  ring(storeRaw);
  ASSERT_TRUE(eventually([&] { return inCallback.load(); }));
  auto added = std::async(std::launch::async, [&] { return w.watch(2, makeEventFd(), [] {}).isOk(); });
  const bool returned = added.wait_for(3s) == std::future_status::ready;
  held.unlock();  // lets a blocked watch() finish either way, so the test ends
  EXPECT_TRUE(returned) << "watch() waited for a callback blocked on a lock its caller holds";
  EXPECT_TRUE(added.get());
  EXPECT_EQ(w.size(), 2u);
}

TEST(DoorbellWatcher, RemoveReturnsOnlyAfterAnInFlightCallbackEnded) {
  DoorbellWatcher w([](uint32_t) {});
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  UniqueFd fd = makeEventFd();
  const int raw = fd.get();
  auto token = w.watch(3, std::move(fd), [&] {
    started = true;
    std::this_thread::sleep_for(100ms);
    finished = true;
  });
  ASSERT_TRUE(token.isOk());
  ring(raw);
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  w.remove(*token);
  EXPECT_TRUE(finished.load()) << "remove() returned while the callback was still running";
  EXPECT_EQ(w.size(), 0u);
}

}  // namespace
}  // namespace smartvm::hv
