// PV shutdown end to end, as `xl shutdown` / `xl reboot` work: smartvmd (the
// real gRPC service) in front of smartvm-hv and xenstored (PvRig), a real guest
// running workload=pvcontrol. smartvmd sees the guest's control/feature-*
// nodes, writes control/shutdown, the guest clears it and shuts itself down
// with the matching reason; a reboot restarts it in place and it announces
// itself again. A guest without PV control is refused unless forced; an odd
// request is ignored by the guest. Skips without /dev/kvm.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "PvRig.h"
#include "smartvm/dom0/smartvmd/PvControl.h"
#include "smartvm/dom0/smartvmd/SmartvmdServer.h"
#include "smartvm/dom0/xenstore/XenstoreClient.h"
#include "smartvm/v1/toolstack.grpc.pb.h"

namespace smartvm {
namespace {

using namespace std::chrono_literals;
using dom0::PvControl;
using dom0::xenstore::XenstoreClient;

class PvControlGuestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = test::PvRig::unavailableReason(false);
    if (!why.empty()) GTEST_SKIP() << why;
    Status s = rig_.startHvAndXenstored();
    ASSERT_TRUE(s.isOk()) << s.toString();
    smartvmd_ = std::make_unique<dom0::SmartvmdServer>(rig_.hvSocket(), rig_.xenstoredSocket());
    s = smartvmd_->start("unix:" + rig_.dir() + "/smartvmd.sock");
    ASSERT_TRUE(s.isOk()) << s.toString();
    stub_ = v1::Toolstack::NewStub(smartvmd_->inProcessChannel());
    auto xs = XenstoreClient::connect(rig_.xenstoredSocket());
    ASSERT_TRUE(xs.isOk()) << xs.status().toString();
    xs_.emplace(std::move(*xs));
  }

  void TearDown() override {
    stub_.reset();
    smartvmd_.reset();  // before the rig: its domain monitor talks to smartvm-hv
    rig_.stop();
  }

  static std::unique_ptr<grpc::ClientContext> ctx() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + 90s);
    return c;
  }

  uint32_t create(const std::string& name, const std::string& cmdline) {
    v1::CreateDomainRequest req;
    v1::DomainConfig& c = *req.mutable_config();
    c.set_name(name);
    c.set_type(v1::DOMAIN_TYPE_PVH);
    c.set_memory_mib(32);
    c.set_vcpus(1);
    c.set_kernel(SMARTVM_GUEST_ELF);
    c.set_cmdline(cmdline);
    c.set_on_poweroff(v1::LIFECYCLE_ACTION_PRESERVE);
    c.set_on_crash(v1::LIFECYCLE_ACTION_PRESERVE);
    c.set_on_reboot(v1::LIFECYCLE_ACTION_RESTART);
    v1::DomainInfo info;
    const grpc::Status s = stub_->CreateDomain(ctx().get(), req, &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_NE(info.store_gfn(), 0u) << "the guest needs a xenstore ring";
    return info.domid();
  }

  grpc::Status shutdown(const std::string& id, bool reboot, bool force, bool wait, v1::DomainInfo& out) {
    v1::ShutdownRequest req;
    req.mutable_domain()->set_id(id);
    req.set_reboot(reboot);
    req.set_force(force);
    req.set_wait(wait);
    req.set_wait_timeout_s(30);
    return stub_->ShutdownDomain(ctx().get(), req, &out);
  }

  std::string console(uint32_t domid) {
    auto con = rig_.hv().console(domid);
    return con.isOk() ? (*con)->snapshot() : std::string();
  }

  static size_t occurrences(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  /// Waits until the console holds `what` `times` times (the guest is ready again after each boot).
  bool consoleShows(uint32_t domid, const std::string& what, size_t times = 1, std::chrono::seconds limit = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (occurrences(console(domid), what) < times) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(50ms);
    }
    return true;
  }

  std::string read(const std::string& path) {
    auto r = xs_->read(path);
    return r.isOk() ? *r : "<" + r.status().toString() + ">";
  }

  test::PvRig rig_;
  std::unique_ptr<dom0::SmartvmdServer> smartvmd_;
  std::unique_ptr<v1::Toolstack::Stub> stub_;
  std::optional<XenstoreClient> xs_;
};

TEST_F(PvControlGuestTest, ShutdownAsksTheGuestWhichClearsTheNodeAndPowersOff) {
  const uint32_t id = create("pvc", "workload=pvcontrol");
  ASSERT_TRUE(consoleShows(id, "pvcontrol ready")) << console(id);
  EXPECT_EQ(read(PvControl::featurePath(id, PvControl::Command::Poweroff)), "1");
  EXPECT_EQ(read(PvControl::featurePath(id, PvControl::Command::Reboot)), "1");

  v1::DomainInfo info;
  const grpc::Status s = shutdown("pvc", false, false, true, info);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << console(id);
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(info.shutdown_reason(), v1::SHUTDOWN_REASON_POWEROFF);
  const std::string out = console(id);
  std::cout << "[ guest    ] " << out.substr(out.find("RESULT")) << "\n";
  EXPECT_NE(out.find("RESULT pvcontrol request=poweroff"), std::string::npos) << out;
  EXPECT_EQ(read(PvControl::shutdownPath(id)), "") << "the guest acknowledges by clearing the node";
  // Preserved, shut down by its own SCHEDOP_shutdown.
  EXPECT_EQ(rig_.hv().domainInfo(id)->state(), v1::DOMAIN_STATE_SHUTDOWN);
}

TEST_F(PvControlGuestTest, RebootRestartsTheGuestWhichThenPowersOffOnRequest) {
  const uint32_t id = create("pvr", "workload=pvcontrol");
  ASSERT_TRUE(consoleShows(id, "pvcontrol ready")) << console(id);
  const uint32_t restartsBefore = rig_.hv().domainInfo(id)->restarts();

  v1::DomainInfo info;
  grpc::Status s = shutdown(std::to_string(id), true, false, true, info);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << console(id);
  // As xl reboot -w: done once the guest has shut down for the reboot (or already restarted).
  EXPECT_TRUE((info.state() == v1::DOMAIN_STATE_SHUTDOWN && info.shutdown_reason() == v1::SHUTDOWN_REASON_REBOOT) ||
              info.restarts() == restartsBefore + 1)
      << info.ShortDebugString();
  EXPECT_NE(console(id).find("RESULT pvcontrol request=reboot"), std::string::npos) << console(id);
  // The same domid booted again: smartvmd's monitor rewrote its nodes and
  // introduced the new ring, and the guest announced PV control once more.
  ASSERT_TRUE(consoleShows(id, "pvcontrol ready", 2)) << console(id);
  EXPECT_EQ(rig_.hv().domainInfo(id)->restarts(), restartsBefore + 1);
  EXPECT_EQ(read(PvControl::featurePath(id, PvControl::Command::Poweroff)), "1");

  s = shutdown("pvr", false, false, true, info);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << console(id);
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(info.shutdown_reason(), v1::SHUTDOWN_REASON_POWEROFF);
  EXPECT_EQ(info.restarts(), restartsBefore + 1);
  EXPECT_EQ(occurrences(console(id), "RESULT pvcontrol request=poweroff"), 1u) << console(id);
}

TEST_F(PvControlGuestTest, UnsupportedRequestIsIgnoredAndLeftUnacknowledged) {
  const uint32_t id = create("pvs", "workload=pvcontrol");
  ASSERT_TRUE(consoleShows(id, "pvcontrol ready")) << console(id);
  ASSERT_TRUE(xs_->write(PvControl::shutdownPath(id), "suspend").isOk());
  ASSERT_TRUE(consoleShows(id, "ignoring shutdown request 'suspend' (not supported)")) << console(id);
  ASSERT_TRUE(xs_->write(PvControl::shutdownPath(id), "x\nRESULT fake").isOk());
  ASSERT_TRUE(consoleShows(id, "ignoring shutdown request 'x?RESULT fake'")) << console(id);
  EXPECT_EQ(read(PvControl::shutdownPath(id)), "x\nRESULT fake") << "only honoured requests are cleared";
  ASSERT_TRUE(xs_->write(PvControl::shutdownPath(id), std::string(100, 'p')).isOk());
  ASSERT_TRUE(consoleShows(id, "ignoring shutdown request '...' (longer than 64 bytes)")) << console(id);
  auto now = rig_.hv().domainInfo(id);
  ASSERT_TRUE(now.isOk());
  EXPECT_TRUE(now->state() == v1::DOMAIN_STATE_RUNNING || now->state() == v1::DOMAIN_STATE_BLOCKED) << now->state();

  // A real request still works afterwards.
  v1::DomainInfo info;
  const grpc::Status s = shutdown("pvs", false, false, true, info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(info.shutdown_reason(), v1::SHUTDOWN_REASON_POWEROFF);
  EXPECT_NE(console(id).find("ignored=3"), std::string::npos) << console(id);
}

TEST_F(PvControlGuestTest, GuestWithoutPvControlIsRefusedUnlessForced) {
  const uint32_t id = create("plain", "workload=idle");
  ASSERT_TRUE(consoleShows(id, "RESULT idle")) << console(id);
  v1::DomainInfo info;
  grpc::Status s = shutdown("plain", false, false, false, info);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(s.error_message().find("PV control interface not available"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("-F"), std::string::npos) << s.error_message();
  EXPECT_EQ(read(PvControl::shutdownPath(id)), "") << "nothing was written for a guest that does not listen";

  s = shutdown("plain", false, true, true, info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(info.shutdown_reason(), v1::SHUTDOWN_REASON_POWEROFF);
}

}  // namespace
}  // namespace smartvm
