// Domain 0 as an event channel peer of real guests on /dev/kvm: a dom0 client
// on the real control socket binds VIRQ_DOM_EXC and sees a guest power off
// and go away. Skips with the reason when /dev/kvm is unusable.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>
#include <xen/xen.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "OpenKvm.h"
#include "smartvm/dom0/evtchn/EventChannelClient.h"
#include "smartvm/hv/ControlServer.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/kvm/KvmPlatform.h"

namespace smartvm::hv {
namespace {

using namespace std::chrono_literals;
using dom0::EventChannelClient;

constexpr auto kHang = 60s;  // generous: only catches hangs

class Dom0EventChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = openKvmForTest();
    if (!p.isOk()) GTEST_SKIP() << p.status().message();
    platform_ = std::move(p).value();
    hv_ = std::make_unique<Hypervisor>(*platform_, HypervisorOptions{});
    server_ = std::make_unique<ControlServer>(*hv_, "kvm", nullptr);
    ASSERT_NE(mkdtemp(dir_), nullptr);
    path_ = std::string(dir_) + "/hv.sock";
    const Status s = server_->start(path_);
    ASSERT_TRUE(s.isOk()) << s.toString();
  }
  void TearDown() override {
    if (server_) server_->stop();
    server_.reset();
    hv_.reset();
    platform_.reset();
    if (!path_.empty()) rmdir(dir_);
  }

  smartvm::v1::DomainConfig config(const std::string& name, const std::string& cmdline) {
    smartvm::v1::DomainConfig c;
    c.set_name(name);
    c.set_type(smartvm::v1::DOMAIN_TYPE_PVH);
    c.set_memory_mib(32);
    c.set_vcpus(1);
    c.set_kernel(SMARTVM_GUEST_ELF);
    c.set_cmdline(cmdline);
    c.set_on_poweroff(smartvm::v1::LIFECYCLE_ACTION_PRESERVE);
    return c;
  }

  std::unique_ptr<KvmPlatform> platform_;
  std::unique_ptr<Hypervisor> hv_;
  std::unique_ptr<ControlServer> server_;
  char dir_[32] = "/tmp/smartvm-dom0-XXXXXX";
  std::string path_;
};

TEST_F(Dom0EventChannelTest, DomExcFiresWhenARealGuestPowersOffAndIsDestroyed) {
  auto client = EventChannelClient::connect(path_);
  ASSERT_TRUE(client.isOk()) << client.status().toString();
  auto virq = client->bindVirq(VIRQ_DOM_EXC);
  ASSERT_TRUE(virq.isOk()) << virq.status().toString();
  ASSERT_TRUE(virq->notify.valid());

  auto info = hv_->createDomain(config("pi", "workload=pi"));
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  const uint32_t domid = info->domid();
  auto fired = EventChannelClient::wait(virq->notify.get(), kHang);
  ASSERT_TRUE(fired.isOk()) << "no VIRQ_DOM_EXC after the guest powered off: " << fired.status().toString();
  EXPECT_GE(*fired, 1u);
  auto after = hv_->domainInfo(domid);
  ASSERT_TRUE(after.isOk());
  EXPECT_EQ(after->state(), smartvm::v1::DOMAIN_STATE_SHUTDOWN);
  EXPECT_EQ(after->shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_POWEROFF);

  auto port = client->status(0, virq->port);
  ASSERT_TRUE(port.isOk());
  EXPECT_EQ(port->state(), smartvm::v1::EVENT_CHANNEL_STATE_VIRQ);
  EXPECT_FALSE(port->pending()) << "reading the eventfd acknowledged it";

  ASSERT_TRUE(hv_->destroy(domid).isOk());
  auto destroyed = EventChannelClient::wait(virq->notify.get(), 5s);
  EXPECT_TRUE(destroyed.isOk()) << "no VIRQ_DOM_EXC for the destroy: " << destroyed.status().toString();
}

TEST_F(Dom0EventChannelTest, GuestPortsAreListedAndOutliveTheDom0Client) {
  auto info = hv_->createDomain(config("idle", "workload=idle"));
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  const uint32_t domid = info->domid();
  uint32_t guestPort = 0;
  {
    auto client = EventChannelClient::connect(path_);
    ASSERT_TRUE(client.isOk());
    auto gp = client->allocUnbound(domid, 0);
    ASSERT_TRUE(gp.isOk()) << gp.status().toString();
    guestPort = gp->port;
    auto bound = client->bindInterdomain(domid, guestPort);
    ASSERT_TRUE(bound.isOk()) << bound.status().toString();
    ASSERT_TRUE(client->send(bound->port).isOk());
    auto ports = client->list(domid);
    ASSERT_TRUE(ports.isOk());
    bool found = false;
    for (const auto& p : *ports) {
      if (p.port() != guestPort) continue;
      found = true;
      EXPECT_EQ(p.state(), smartvm::v1::EVENT_CHANNEL_STATE_INTERDOMAIN);
      EXPECT_EQ(p.remote_domid(), 0u);
      EXPECT_EQ(p.remote_port(), bound->port);
    }
    EXPECT_TRUE(found);
  }
  // The client went: its dom0 port is closed and the guest's end waits again.
  const auto end = std::chrono::steady_clock::now() + 5s;
  bool unbound = false;
  while (!unbound && std::chrono::steady_clock::now() < end) {
    for (const auto& p : hv_->eventChannels().listPorts(static_cast<uint16_t>(domid))) {
      if (p.port == guestPort && p.state == evtchn::PortState::Unbound) unbound = true;
    }
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(unbound);
}

}  // namespace
}  // namespace smartvm::hv
