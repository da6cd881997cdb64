// smartvmd, smartvm-xenstored's attach logic and smartvm-hv with a real guest
// on /dev/kvm: creating a domain writes its nodes and INTRODUCEs it, and
// xenstored maps the guest's own ring page (grant ref 1) and binds its store
// port; destroying it releases and removes all that. Skips without /dev/kvm,
// or while smartvm-hv gives guests no xenstore ring.
#include <cstddef>
#include <cstdint>
#include <cstring>  // before Xen's headers
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <xen/grant_table.h>
#include <xen/io/xs_wire.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include "smartvm/dom0/evtchn/EventChannelClient.h"
#include "smartvm/dom0/grant/GrantClient.h"
#include "smartvm/dom0/smartvmd/SmartvmdServer.h"
#include "smartvm/dom0/xenstore/XenstoreClient.h"
#include "smartvm/dom0/xenstore/XsDomainAttacher.h"
#include "smartvm/dom0/xenstore/XsHvGuestAccess.h"
#include "smartvm/hv/ControlServer.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/kvm/KvmPlatform.h"

namespace smartvm {
namespace {

using namespace std::chrono_literals;
using dom0::xenstore::XenstoreClient;

class XenstoredGuestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = hv::kvmUnavailableReason();
    if (!why.empty()) GTEST_SKIP() << "/dev/kvm unusable: " << why;
    char tmpl[] = "/tmp/smartvm-xsg-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto p = hv::KvmPlatform::open();
    if (!p.isOk()) GTEST_SKIP() << "KvmPlatform::open failed: " << p.status().toString();
    platform_ = std::move(p).value();
    hv_ = std::make_unique<hv::Hypervisor>(*platform_, hv::HypervisorOptions{});
    control_ = std::make_unique<hv::ControlServer>(*hv_, "kvm", nullptr);
    ASSERT_TRUE(control_->start(dir_ + "/hv.sock").isOk());

    // smartvm-xenstored, as its main() puts it together, on a thread.
    ASSERT_TRUE(xsServer_.listen(dir_ + "/xenstored.sock").isOk());
    xsHv_ = std::make_unique<dom0::xenstore::XsHvGuestAccess>(dir_ + "/hv.sock");
    attacher_ = std::make_unique<dom0::xenstore::XsDomainAttacher>(xsCore_, xsServer_, *xsHv_);
    ASSERT_TRUE(attacher_->bindDomExc().isOk());
    xsThread_ = std::thread([this] { (void)xsServer_.run(xsStop_.get()); });

    smartvmd_ = std::make_unique<dom0::SmartvmdServer>(dir_ + "/hv.sock", dir_ + "/xenstored.sock");
    ASSERT_TRUE(smartvmd_->start("unix:" + dir_ + "/smartvmd.sock").isOk());
    stub_ = v1::Toolstack::NewStub(smartvmd_->inProcessChannel());
  }

  void TearDown() override {
    stub_.reset();
    smartvmd_.reset();
    if (xsThread_.joinable()) {
      const uint64_t one = 1;
      (void)!::write(xsStop_.get(), &one, sizeof one);
      xsThread_.join();
    }
    attacher_.reset();
    xsHv_.reset();
    if (control_) control_->stop();
    control_.reset();
    hv_.reset();
    platform_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  /// Creates a PVH guest idling in the in-tree kernel; its DomainInfo.
  v1::DomainInfo createIdle(const std::string& name) {
    v1::CreateDomainRequest req;
    v1::DomainConfig& c = *req.mutable_config();
    c.set_name(name);
    c.set_type(v1::DOMAIN_TYPE_PVH);
    c.set_memory_mib(32);
    c.set_vcpus(1);
    c.set_kernel(SMARTVM_GUEST_ELF);
    c.set_cmdline("workload=idle");
    c.set_on_poweroff(v1::LIFECYCLE_ACTION_PRESERVE);
    v1::DomainInfo info;
    const grpc::Status s = stub_->CreateDomain(ctx().get(), req, &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return info;
  }

  /// The state of `domid`'s store port, as smartvm-hv sees it.
  v1::EventChannelState storePortState(const v1::DomainInfo& info) {
    auto evtchn = dom0::EventChannelClient::connect(dir_ + "/hv.sock");
    if (!evtchn.isOk()) return v1::EVENT_CHANNEL_STATE_CLOSED;
    auto port = evtchn->status(info.domid(), info.store_port());
    return port.isOk() ? port->state() : v1::EVENT_CHANNEL_STATE_CLOSED;
  }

  static std::unique_ptr<grpc::ClientContext> ctx() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + 60s);
    return c;
  }

  std::string dir_;
  std::unique_ptr<hv::KvmPlatform> platform_;
  std::unique_ptr<hv::Hypervisor> hv_;
  std::unique_ptr<hv::ControlServer> control_;
  dom0::xenstore::XsServerCore xsCore_;
  dom0::xenstore::XsSocketServer xsServer_{xsCore_};
  std::unique_ptr<dom0::xenstore::XsHvGuestAccess> xsHv_;
  std::unique_ptr<dom0::xenstore::XsDomainAttacher> attacher_;
  UniqueFd xsStop_{::eventfd(0, EFD_CLOEXEC)};
  std::thread xsThread_;
  std::unique_ptr<dom0::SmartvmdServer> smartvmd_;
  std::unique_ptr<v1::Toolstack::Stub> stub_;
};

TEST_F(XenstoredGuestTest, CreateIntroducesTheGuestAndXenstoredAttachesItsRing) {
  const v1::DomainInfo info = createIdle("xs-guest");
  ASSERT_NE(info.domid(), 0u);
  const uint32_t domid = info.domid();
  if (info.store_gfn() == 0) GTEST_SKIP() << "smartvm-hv gives this guest no xenstore ring (store_gfn 0) yet";

  auto xs = XenstoreClient::connect(dir_ + "/xenstored.sock");
  ASSERT_TRUE(xs.isOk()) << xs.status().toString();
  const std::string dom = "/local/domain/" + std::to_string(domid);
  EXPECT_EQ(*xs->read(dom + "/name"), "xs-guest");
  EXPECT_EQ(*xs->read(dom + "/store/ring-ref"), std::to_string(info.store_gfn()));
  EXPECT_EQ(*xs->read(dom + "/store/port"), std::to_string(info.store_port()));
  auto introduced = xs->isIntroduced(domid);
  ASSERT_TRUE(introduced.isOk());
  EXPECT_TRUE(*introduced) << "INTRODUCE succeeded: the ring was mapped and the port bound";

  // The guest's store port is now connected to a dom0 port (xenstored's).
  auto evtchn = dom0::EventChannelClient::connect(dir_ + "/hv.sock");
  ASSERT_TRUE(evtchn.isOk());
  auto port = evtchn->status(domid, info.store_port());
  ASSERT_TRUE(port.isOk()) << port.status().toString();
  EXPECT_EQ(port->state(), v1::EVENT_CHANNEL_STATE_INTERDOMAIN);
  EXPECT_EQ(port->remote_domid(), 0u);

  // The page xenstored serves is the guest's own: through another mapping of
  // grant ref 1 we see the features xenstored advertised in it.
  auto grants = dom0::GrantClient::connect(dir_ + "/hv.sock");
  ASSERT_TRUE(grants.isOk()) << grants.status().toString();
  auto page = grants->map(domid, GNTTAB_RESERVED_XENSTORE, true);
  ASSERT_TRUE(page.isOk()) << page.status().toString();
  const auto* intf = static_cast<const xenstore_domain_interface*>(page->page);
  EXPECT_EQ(__atomic_load_n(&intf->server_features, __ATOMIC_ACQUIRE),
            static_cast<uint32_t>(XENSTORE_SERVER_FEATURE_ERROR));
  EXPECT_EQ(__atomic_load_n(&intf->error, __ATOMIC_ACQUIRE), 0u) << "the ring is healthy";
  ASSERT_TRUE(grants->unmap(*page).isOk());

  // Destroy: RELEASE, the nodes go, xenstored lets go of the port.
  v1::DomainRef ref;
  ref.set_id("xs-guest");
  v1::DestroyResponse out;
  const grpc::Status s = stub_->DestroyDomain(ctx().get(), ref, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(xs->read(dom).status().code(), ENOENT);
  introduced = xs->isIntroduced(domid);
  ASSERT_TRUE(introduced.isOk());
  EXPECT_FALSE(*introduced);
}

// smartvm-hv restarts under a running xenstored: the domains it had are
// released (their connection hung up) without xenstored closing ports or
// unmapping grants through the new smartvm-hv, and a new domain that gets an
// old domid is attached afresh: its store port bound to xenstored's.
TEST_F(XenstoredGuestTest, AfterSmartvmHvRestartsANewDomainWithAnOldDomidIsAttached) {
  const v1::DomainInfo first = createIdle("before");
  if (first.store_gfn() == 0) GTEST_SKIP() << "smartvm-hv gives this guest no xenstore ring (store_gfn 0) yet";
  auto xs = XenstoreClient::connect(dir_ + "/xenstored.sock");
  ASSERT_TRUE(xs.isOk()) << xs.status().toString();
  ASSERT_TRUE(*xs->isIntroduced(first.domid()));
  ASSERT_EQ(storePortState(first), v1::EVENT_CHANNEL_STATE_INTERDOMAIN);

  // smartvm-hv goes away with its domain, and a new one starts on the same socket.
  control_->stop();
  control_.reset();
  hv_.reset();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (*xs->isIntroduced(first.domid()) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(*xs->isIntroduced(first.domid())) << "released once smartvm-hv's connection hung up";
  hv_ = std::make_unique<hv::Hypervisor>(*platform_, hv::HypervisorOptions{});
  control_ = std::make_unique<hv::ControlServer>(*hv_, "kvm", nullptr);
  ASSERT_TRUE(control_->start(dir_ + "/hv.sock").isOk());

  const v1::DomainInfo second = createIdle("after");
  ASSERT_EQ(second.domid(), first.domid()) << "the new smartvm-hv numbers its domains from the start again";
  EXPECT_TRUE(*xs->isIntroduced(second.domid()));
  EXPECT_EQ(storePortState(second), v1::EVENT_CHANNEL_STATE_INTERDOMAIN)
      << "xenstored bound the new domain's store port (an old 'introduced' entry would have skipped it)";
}

}  // namespace
}  // namespace smartvm
