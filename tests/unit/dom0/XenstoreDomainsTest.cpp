// smartvmd writes and removes each domain's xenstore nodes (as libxl does) in
// a real xenstored on a temp socket, in front of a fake smartvm-hv.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "FakeHv.h"
#include "TempDir.h"
#include "XenstoredThread.h"
#include "smartvm/dom0/smartvmd/SmartvmdServer.h"
#include "smartvm/dom0/xenstore/XenstoreClient.h"
#include "smartvm/v1/toolstack.grpc.pb.h"

namespace smartvm::dom0 {
namespace {

using namespace std::chrono_literals;
using xenstore::XenstoreClient;
using Strings = std::vector<std::string>;

class XenstoreDomainsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hv_.ringsOnCreate = true;
    ASSERT_TRUE(hv_.start().isOk());
    ASSERT_TRUE(xenstored_.start().isOk());
    startSmartvmd();
    auto xs = XenstoreClient::connect(dir_.file("xenstored.sock"));
    ASSERT_TRUE(xs.isOk()) << xs.status().toString();
    xs_.emplace(std::move(*xs));
  }

  void startSmartvmd(const std::string& xenstoredSocket = "") {
    server_ = std::make_unique<SmartvmdServer>(dir_.file("hv.sock"),
                                               xenstoredSocket.empty() ? dir_.file("xenstored.sock") : xenstoredSocket);
    const Status s = server_->start("unix:" + dir_.file("smartvmd.sock"));
    ASSERT_TRUE(s.isOk()) << s.toString();
    stub_ = v1::Toolstack::NewStub(grpc::CreateChannel("unix:" + dir_.file("smartvmd.sock"),
                                                        grpc::InsecureChannelCredentials()));
  }

  static std::unique_ptr<grpc::ClientContext> ctx() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + 20s);
    return c;
  }

  v1::DomainInfo create(const std::string& name, uint64_t memMib = 128, uint32_t vcpus = 1) {
    v1::CreateDomainRequest req;
    req.mutable_config()->set_name(name);
    req.mutable_config()->set_kernel("/boot/vmlinuz-guest");
    req.mutable_config()->set_memory_mib(memMib);
    req.mutable_config()->set_vcpus(vcpus);
    v1::DomainInfo info;
    const grpc::Status s = stub_->CreateDomain(ctx().get(), req, &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return info;
  }

  grpc::Status destroy(const std::string& id) {
    v1::DomainRef ref;
    ref.set_id(id);
    v1::DestroyResponse out;
    return stub_->DestroyDomain(ctx().get(), ref, &out);
  }

  std::string read(const std::string& path) {
    auto r = xs_->read(path);
    return r.isOk() ? *r : "<" + r.status().toString() + ">";
  }
  Strings perms(const std::string& path) {
    auto r = xs_->getPerms(path);
    return r.isOk() ? *r : Strings{"<" + r.status().toString() + ">"};
  }
  bool introduced(uint32_t domid) {
    auto r = xs_->isIntroduced(domid);
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    return r.isOk() && *r;
  }
  /// Polls until `pred` holds (the domain monitor acts on its own thread) or 5 s pass.
  template <typename Pred>
  bool eventually(Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return pred();
  }

  test::TempDir dir_;
  test::FakeHv hv_{dir_.file("hv.sock")};
  test::XenstoredThread xenstored_{dir_.file("xenstored.sock")};
  std::unique_ptr<SmartvmdServer> server_;
  std::unique_ptr<v1::Toolstack::Stub> stub_;
  std::optional<XenstoreClient> xs_;
};

TEST_F(XenstoreDomainsTest, CreateWritesLibxlsNodesWithLibxlsPermissions) {
  const v1::DomainInfo info = create("web", 256, 2);
  ASSERT_EQ(info.domid(), 1u);
  const std::string d = "/local/domain/1";
  const Strings ro = {"n0", "r1"};
  const Strings rw = {"n1"};

  EXPECT_EQ(perms(d), ro) << "dom0 owns the domain's directory; the guest reads it";
  EXPECT_EQ(read(d + "/name"), "web");
  EXPECT_EQ(read(d + "/domid"), "1");
  EXPECT_EQ(read(d + "/memory/static-max"), "262144");
  EXPECT_EQ(read(d + "/memory/target"), "262144");
  EXPECT_EQ(perms(d + "/memory/target"), ro);
  EXPECT_EQ(read(d + "/cpu/0/availability"), "online");
  EXPECT_EQ(read(d + "/cpu/1/availability"), "online");
  EXPECT_EQ(perms(d + "/control"), ro);
  for (const char* node : {"control/shutdown", "control/feature-poweroff", "control/feature-reboot", "data",
                           "drivers", "feature", "attr", "error", "device/suspend/event-channel"}) {
    EXPECT_EQ(perms(d + "/" + node), rw) << node << " is the guest's to write";
    EXPECT_EQ(read(d + "/" + node), "") << node;
  }
  EXPECT_EQ(read(d + "/control/platform-feature-xs_reset_watches"), "1");
  EXPECT_EQ(perms(d + "/control/platform-feature-xs_reset_watches"), ro);

  EXPECT_EQ(read(d + "/store/ring-ref"), std::to_string(0xfe001));
  EXPECT_EQ(read(d + "/store/port"), "1");
  EXPECT_EQ(perms(d + "/store/ring-ref"), ro);
  EXPECT_EQ(read(d + "/console/ring-ref"), std::to_string(0xfd001));
  EXPECT_EQ(read(d + "/console/port"), "2");
  EXPECT_EQ(read(d + "/console/type"), "xenconsoled");
  EXPECT_EQ(read(d + "/console/limit"), "1048576");

  const std::string vm = read(d + "/vm");
  ASSERT_EQ(vm.rfind("/vm/", 0), 0u) << vm;
  EXPECT_EQ(vm.size(), 4u + 36u) << "a UUID";
  EXPECT_EQ(read(vm + "/name"), "web");
  EXPECT_EQ(read(vm + "/uuid"), vm.substr(4));
  EXPECT_EQ(perms(vm), ro);

  EXPECT_TRUE(introduced(1)) << "INTRODUCE went to xenstored";
}

// As libxl: the domain is created paused and runs only once its nodes are
// written and it is introduced, so a guest that reads xenstore at its first
// instruction finds its devices. smartvm-hv holds only that first start
// (hold_paused), not restarts, which start_paused would.
TEST_F(XenstoreDomainsTest, TheGuestRunsOnlyOnceItsNodesAreWritten) {
  std::string nameAtUnpause;
  bool introducedAtUnpause = false;
  hv_.setHook([&](const control::v1::Request& r, control::v1::Response&) {
    if (r.has_unpause()) {
      auto xs = XenstoreClient::connect(dir_.file("xenstored.sock"));
      if (xs.isOk()) {
        auto name = xs->read(fmt::format("/local/domain/{}/name", r.unpause().domid()));
        nameAtUnpause = name.isOk() ? *name : name.status().toString();
        auto in = xs->isIntroduced(r.unpause().domid());
        introducedAtUnpause = in.isOk() && *in;
      }
    }
    return test::FakeHv::HookAction::Default;
  });
  const v1::DomainInfo info = create("web");
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_RUNNING) << "created, then unpaused";
  EXPECT_EQ(nameAtUnpause, "web");
  EXPECT_TRUE(introducedAtUnpause);
  const auto reqs = hv_.requests();
  const auto createReq = std::find_if(reqs.begin(), reqs.end(), [](const auto& r) { return r.has_create(); });
  ASSERT_NE(createReq, reqs.end());
  EXPECT_TRUE(createReq->create().hold_paused());
  EXPECT_FALSE(createReq->create().config().start_paused()) << "a restart is not paused";
  EXPECT_EQ(hv_.count(control::v1::Request::kUnpause), 1u);

  // `create -p`: the user's pause holds, nothing unpauses it.
  v1::CreateDomainRequest req;
  req.mutable_config()->set_name("held");
  req.mutable_config()->set_kernel("/boot/vmlinuz-guest");
  req.mutable_config()->set_memory_mib(64);
  req.mutable_config()->set_start_paused(true);
  v1::DomainInfo held;
  ASSERT_TRUE(stub_->CreateDomain(ctx().get(), req, &held).ok());
  EXPECT_EQ(held.state(), v1::DOMAIN_STATE_PAUSED);
  EXPECT_EQ(hv_.count(control::v1::Request::kUnpause), 1u);
  EXPECT_EQ(read(fmt::format("/local/domain/{}/name", held.domid())), "held");
}

TEST_F(XenstoreDomainsTest, DestroyReleasesAndRemovesTheNodes) {
  create("web");
  const std::string vm = read("/local/domain/1/vm");
  ASSERT_TRUE(xs_->watch("@releaseDomain", "rel").isOk());
  ASSERT_TRUE(xs_->waitEvent(2s).isOk()) << "the registration event";
  const grpc::Status s = destroy("web");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(xs_->read("/local/domain/1").status().code(), ENOENT);
  EXPECT_EQ(xs_->read(vm).status().code(), ENOENT);
  EXPECT_FALSE(introduced(1));
  auto ev = xs_->waitEvent(2s);
  ASSERT_TRUE(ev.isOk()) << ev.status().toString();
  EXPECT_EQ(ev->path, "@releaseDomain");
}

TEST_F(XenstoreDomainsTest, DomainWithoutAStoreRingIsNotIntroduced) {
  hv_.ringsOnCreate = false;
  create("plain");
  EXPECT_EQ(read("/local/domain/1/name"), "plain") << "the nodes are still written";
  EXPECT_EQ(xs_->read("/local/domain/1/store/ring-ref").status().code(), ENOENT);
  EXPECT_FALSE(introduced(1));
}

TEST_F(XenstoreDomainsTest, RestartInPlaceReintroducesWithTheNewRing) {
  const v1::DomainInfo info = create("web");
  ASSERT_TRUE(introduced(1));
  ASSERT_TRUE(xs_->write("/local/domain/1/data/stale", "x").isOk());
  // The rebuilt domain gets a new store ring; the restart count moves (FakeHv on reboot).
  hv_.setRings(1, 0xabc00, 7, 0xabd00, 8);
  v1::ShutdownRequest req;
  req.mutable_domain()->set_id("web");
  req.set_reboot(true);
  req.set_force(true);  // the fake guest has no PV control (SmartvmdPvShutdownTest covers that path)
  req.set_wait(true);
  v1::DomainInfo after;
  const grpc::Status s = stub_->ShutdownDomain(ctx().get(), req, &after);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(after.restarts(), info.restarts() + 1);
  EXPECT_TRUE(eventually([&] { return read("/local/domain/1/store/ring-ref") == std::to_string(0xabc00); }));
  EXPECT_EQ(read("/local/domain/1/store/port"), "7");
  EXPECT_EQ(read("/local/domain/1/console/port"), "8");
  EXPECT_EQ(xs_->read("/local/domain/1/data/stale").status().code(), ENOENT) << "a fresh tree, as xl's new domain";
  EXPECT_TRUE(introduced(1));
}

TEST_F(XenstoreDomainsTest, DomainThatGoesOnItsOwnIsCleanedUp) {
  create("web");
  ASSERT_TRUE(introduced(1));
  hv_.removeDomain(1);  // as on_poweroff = "destroy" does, without a Toolstack call
  EXPECT_TRUE(eventually([&] { return xs_->read("/local/domain/1").status().code() == ENOENT; }));
  EXPECT_FALSE(introduced(1));
}

TEST_F(XenstoreDomainsTest, DomainsStartWithoutXenstored) {
  xs_.reset();
  server_.reset();
  startSmartvmd(dir_.file("nobody.sock"));
  const v1::DomainInfo info = create("web");
  EXPECT_EQ(info.domid(), 1u);
  EXPECT_EQ(info.state(), v1::DOMAIN_STATE_RUNNING);
  EXPECT_TRUE(destroy("web").ok());
}

}  // namespace
}  // namespace smartvm::dom0
