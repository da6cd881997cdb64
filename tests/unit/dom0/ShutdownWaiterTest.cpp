// ShutdownWaiter against a fake smartvm-hv whose `wait` answers ETIMEDOUT
// while a domain runs, as the real one does.
#include <gtest/gtest.h>

#include <chrono>

#include "FakeHv.h"
#include "TempDir.h"
#include "smartvm/dom0/smartvmd/ShutdownWaiter.h"

namespace smartvm::dom0 {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class ShutdownWaiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(hv_.start().isOk());
    hv_.setWaitTimeoutIsError(true);
  }
  v1::DomainInfo info(uint32_t domid) {
    control::v1::Request r;
    r.mutable_get()->set_domid(domid);
    auto resp = client_.call(r);
    EXPECT_TRUE(resp.isOk());
    return resp.isOk() ? resp->domain() : v1::DomainInfo{};
  }
  void shutdown(uint32_t domid, v1::ShutdownReason why) {
    control::v1::Request r;
    r.mutable_shutdown()->set_domid(domid);
    r.mutable_shutdown()->set_reason(why);
    ASSERT_TRUE(client_.call(r).isOk());
  }
  static bool never() { return false; }

  test::TempDir dir_;
  test::FakeHv hv_{dir_.file("hv.sock")};
  ControlClient client_{dir_.file("hv.sock")};
};

// The guest rebooted and runs again before the wait began (a quick guest on
// a busy host): the wait ends at once instead of timing out.
TEST_F(ShutdownWaiterTest, ARebootThatIsOverBeforeTheWaitEndsIt) {
  const uint32_t id = hv_.addDomain("web", v1::LIFECYCLE_ACTION_DESTROY, v1::LIFECYCLE_ACTION_RESTART);
  const v1::DomainInfo before = info(id);
  shutdown(id, v1::SHUTDOWN_REASON_REBOOT);
  ASSERT_EQ(info(id).restarts(), before.restarts() + 1) << "restarted in place, running again";
  const auto t0 = Clock::now();
  auto r = ShutdownWaiter(client_, before, "web").wait(true, 5s, never);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->restarts(), before.restarts() + 1);
  EXPECT_LT(Clock::now() - t0, 2s);
}

// A shutdown that is not a reboot does not count a restart, and a guest that
// does nothing still times out with the reason.
TEST_F(ShutdownWaiterTest, AGuestThatDoesNotGoTimesOut) {
  const uint32_t id = hv_.addDomain("db");
  auto r = ShutdownWaiter(client_, info(id), "db").wait(true, 1s, never);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ETIMEDOUT);
  EXPECT_EQ(r.status().message(), "domain 'db' did not reboot within 1 s");
  const uint32_t pre = hv_.addDomain("pre", v1::LIFECYCLE_ACTION_PRESERVE);
  shutdown(pre, v1::SHUTDOWN_REASON_POWEROFF);
  auto off = ShutdownWaiter(client_, info(pre), "pre").wait(false, 5s, never);
  ASSERT_TRUE(off.isOk()) << off.status().toString();
  EXPECT_EQ(off->state(), v1::DOMAIN_STATE_SHUTDOWN);
}

}  // namespace
}  // namespace smartvm::dom0
