// smartvmd's shutdown and reboot as xl's: a guest that announced
// control/feature-poweroff|reboot is asked through xenstore control/shutdown
// (also with -F, as libxl does) and the call waits for its acknowledgement;
// without PV control the call is refused unless forced, and forcing is
// smartvm-hv's shutdown. A real xenstored on a temp socket, a fake smartvm-hv,
// and a thread in the test playing the guest's xenbus driver.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <thread>

#include "FakeHv.h"
#include "TempDir.h"
#include "XenstoredThread.h"
#include "smartvm/dom0/smartvmd/PvControl.h"
#include "smartvm/dom0/smartvmd/SmartvmdServer.h"
#include "smartvm/dom0/xenstore/XenstoreClient.h"
#include "smartvm/v1/toolstack.grpc.pb.h"

namespace smartvm::dom0 {
namespace {

using namespace std::chrono_literals;
using control::v1::Request;
using xenstore::XenstoreClient;

/// The guest side of control/shutdown, as Linux's manage.c: watches the node
/// and clears it when it holds a command (only when `ack` is set).
class FakeGuestDriver {
 public:
  FakeGuestDriver(const std::string& socket, uint32_t domid, bool ack) {
    thread_ = std::thread([this, socket, domid, ack] {
      auto xs = XenstoreClient::connect(socket);
      if (!xs.isOk() || !xs->watch(PvControl::shutdownPath(domid), "guest").isOk()) return;
      ready_ = true;
      while (!stop_) {
        if (!xs->waitEvent(50ms).isOk()) continue;
        auto v = xs->read(PvControl::shutdownPath(domid));
        if (!v.isOk() || v->empty()) continue;
        {
          std::lock_guard lk(mu_);
          seen_ = *v;
        }
        if (ack) (void)xs->write(PvControl::shutdownPath(domid), "");
      }
    });
    while (!ready_) std::this_thread::sleep_for(5ms);
  }
  ~FakeGuestDriver() {
    stop_ = true;
    thread_.join();
  }
  /// The last command the guest read from the node.
  std::string seen() {
    std::lock_guard lk(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::string seen_;
  std::atomic<bool> ready_{false}, stop_{false};
  std::thread thread_;
};

class SmartvmdPvShutdownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hv_.ringsOnCreate = true;
    ASSERT_TRUE(hv_.start().isOk());
    ASSERT_TRUE(xenstored_.start().isOk());
    server_ = std::make_unique<SmartvmdServer>(dir_.file("hv.sock"), dir_.file("xenstored.sock"));
    const Status s = server_->start("unix:" + dir_.file("smartvmd.sock"));
    ASSERT_TRUE(s.isOk()) << s.toString();
    stub_ = v1::Toolstack::NewStub(server_->inProcessChannel());
    auto xs = XenstoreClient::connect(dir_.file("xenstored.sock"));
    ASSERT_TRUE(xs.isOk()) << xs.status().toString();
    xs_.emplace(std::move(*xs));
    v1::CreateDomainRequest req;
    req.mutable_config()->set_name("web");
    req.mutable_config()->set_kernel("/boot/vmlinuz-guest");
    req.mutable_config()->set_on_poweroff(v1::LIFECYCLE_ACTION_PRESERVE);
    v1::DomainInfo info;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->CreateDomain(&ctx, req, &info).ok());
    domid_ = info.domid();
  }

  /// What the guest writes once its xenbus driver is up.
  void announce(const char* feature) {
    ASSERT_TRUE(xs_->write("/local/domain/" + std::to_string(domid_) + "/control/" + feature, "1").isOk());
  }

  grpc::Status shutdown(bool reboot, bool force, bool wait, uint32_t timeoutS, v1::DomainInfo& out) {
    v1::ShutdownRequest req;
    req.mutable_domain()->set_id("web");
    req.set_reboot(reboot);
    req.set_force(force);
    req.set_wait(wait);
    req.set_wait_timeout_s(timeoutS);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 20s);
    return stub_->ShutdownDomain(&ctx, req, &out);
  }

  std::string node() {
    auto r = xs_->read(PvControl::shutdownPath(domid_));
    return r.isOk() ? *r : "<" + r.status().toString() + ">";
  }

  test::TempDir dir_;
  test::FakeHv hv_{dir_.file("hv.sock")};
  test::XenstoredThread xenstored_{dir_.file("xenstored.sock")};
  std::unique_ptr<SmartvmdServer> server_;
  std::unique_ptr<v1::Toolstack::Stub> stub_;
  std::optional<XenstoreClient> xs_;
  uint32_t domid_ = 0;
};

TEST(PvControlPlan, FollowsLibxlAndXl) {
  using P = PvControl::Plan;
  EXPECT_EQ(PvControl::plan(false, false, false), P::Hypervisor);
  EXPECT_EQ(PvControl::plan(false, true, true), P::Hypervisor);
  EXPECT_EQ(PvControl::plan(true, true, false), P::AskGuest);
  EXPECT_EQ(PvControl::plan(true, true, true), P::AskGuest) << "xl -F falls back only without PV control";
  EXPECT_EQ(PvControl::plan(true, false, true), P::Force);
  EXPECT_EQ(PvControl::plan(true, false, false), P::Refuse);
  EXPECT_EQ(PvControl::shutdownPath(3), "/local/domain/3/control/shutdown");
  EXPECT_EQ(PvControl::featurePath(3, PvControl::Command::Reboot), "/local/domain/3/control/feature-reboot");
}

TEST_F(SmartvmdPvShutdownTest, GuestWithPvControlIsAskedAndItsAcknowledgementEndsTheCall) {
  announce("feature-poweroff");
  FakeGuestDriver guest(dir_.file("xenstored.sock"), domid_, true);
  v1::DomainInfo info;
  const grpc::Status s = shutdown(false, false, false, 10, info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(info.domid(), domid_);
  EXPECT_EQ(guest.seen(), "poweroff");
  EXPECT_EQ(node(), "") << "acknowledged";
  EXPECT_EQ(hv_.count(Request::kShutdown), 0u) << "the guest shuts itself down; smartvm-hv is not asked";
}

TEST_F(SmartvmdPvShutdownTest, ForceStillAsksAGuestWithPvControlFirst) {
  announce("feature-reboot");
  FakeGuestDriver guest(dir_.file("xenstored.sock"), domid_, true);
  v1::DomainInfo info;
  const grpc::Status s = shutdown(true, true, false, 10, info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(guest.seen(), "reboot");
  EXPECT_EQ(hv_.count(Request::kShutdown), 0u);
}

TEST_F(SmartvmdPvShutdownTest, AFeatureForTheOtherCommandIsNotEnough) {
  announce("feature-reboot");
  v1::DomainInfo info;
  const grpc::Status s = shutdown(false, false, false, 10, info);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error_message().find("control/feature-poweroff"), std::string::npos) << s.error_message();
}

TEST_F(SmartvmdPvShutdownTest, GuestThatNeverAcknowledgesTimesOutAndTheRequestStays) {
  announce("feature-poweroff");
  FakeGuestDriver guest(dir_.file("xenstored.sock"), domid_, false);
  v1::DomainInfo info;
  const auto start = std::chrono::steady_clock::now();
  const grpc::Status s = shutdown(false, false, true, 1, info);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(s.error_message().find("did not acknowledge the poweroff request"), std::string::npos)
      << s.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the request's timeout bounds the wait";
  EXPECT_EQ(node(), "poweroff") << "left for the guest, as libxl leaves it";
  EXPECT_EQ(hv_.count(Request::kShutdown), 0u);
}

// A paused guest cannot acknowledge: the request is left in xenstore for it
// and the call returns at once instead of timing out.
TEST_F(SmartvmdPvShutdownTest, APausedGuestFindsTheRequestWhenUnpausedAndTheCallDoesNotWaitForIt) {
  announce("feature-poweroff");
  v1::DomainRef ref;
  ref.set_id("web");
  v1::DomainInfo paused;
  grpc::ClientContext pctx;
  ASSERT_TRUE(stub_->PauseDomain(&pctx, ref, &paused).ok());
  v1::DomainInfo info;
  const auto start = std::chrono::steady_clock::now();
  const grpc::Status s = shutdown(false, false, false, 10, info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "not the 10 s acknowledgement timeout";
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_PAUSED);
  EXPECT_EQ(node(), "poweroff") << "waiting for the guest";
  EXPECT_EQ(hv_.count(Request::kShutdown), 0u);
  // Once unpaused, the guest's driver reads it (its watch fires on registration).
  FakeGuestDriver guest(dir_.file("xenstored.sock"), domid_, true);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (node() != "" && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(guest.seen(), "poweroff");
  EXPECT_EQ(node(), "") << "acknowledged";
}

TEST_F(SmartvmdPvShutdownTest, WithoutPvControlItIsRefusedUnlessForced) {
  v1::DomainInfo info;
  grpc::Status s = shutdown(false, false, true, 10, info);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(s.error_message().find("PV control interface not available for domain 'web'"), std::string::npos)
      << s.error_message();
  EXPECT_NE(s.error_message().find("use -F"), std::string::npos) << s.error_message();
  EXPECT_EQ(node(), "") << "nothing written";
  EXPECT_EQ(hv_.count(Request::kShutdown), 0u);

  s = shutdown(false, true, true, 10, info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_SHUTDOWN);
  std::vector<Request> forced;
  for (const Request& r : hv_.requests()) {
    if (r.has_shutdown()) forced.push_back(r);
  }
  ASSERT_EQ(forced.size(), 1u);
  EXPECT_TRUE(forced[0].shutdown().force());
  EXPECT_EQ(forced[0].shutdown().reason(), v1::SHUTDOWN_REASON_POWEROFF);
  EXPECT_EQ(node(), "");
}

TEST_F(SmartvmdPvShutdownTest, WithoutXenstoredTheReasonSaysSo) {
  xs_.reset();
  xenstored_.stop();
  v1::DomainInfo info;
  const grpc::Status s = shutdown(false, false, false, 10, info);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(s.error_message().find("xenstore cannot be asked"), std::string::npos) << s.error_message();
}

}  // namespace
}  // namespace smartvm::dom0
