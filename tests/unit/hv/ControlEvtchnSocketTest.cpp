// Dom0 event channels over the real control socket with the dom0 client
// library: descriptors passed with SCM_RIGHTS, ports closed with their
// connection, and requests that try to smuggle descriptors in.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "HvTestUtil.h"
#include "smartvm/dom0/evtchn/EventChannelClient.h"
#include "smartvm/hv/ControlServer.h"

namespace smartvm::hv {
namespace {

using namespace std::chrono_literals;
using dom0::EventChannelClient;
using test::waitUntil;

size_t openFds() {
  size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  while (::readdir(d) != nullptr) ++n;
  ::closedir(d);
  return n;
}

class ControlEvtchnSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(mkdtemp(dir_), nullptr);
    path_ = std::string(dir_) + "/hv.sock";
    ASSERT_TRUE(server_.start(path_).isOk());
    auto g = hv_.createDomain(test::makeConfig("guest", kernel_.path(), 32));
    ASSERT_TRUE(g.isOk()) << g.status().toString();
    guest_ = g->domid();
  }
  void TearDown() override {
    server_.stop();
    rmdir(dir_);
  }

  EventChannelClient client() {
    auto c = EventChannelClient::connect(path_);
    EXPECT_TRUE(c.isOk()) << c.status().toString();
    return std::move(*c);
  }
  bool guestPending(uint32_t port) {
    for (const auto& p : hv_.eventChannels().listPorts(static_cast<uint16_t>(guest_))) {
      if (p.port == port) return p.pending;
    }
    return false;
  }
  void clearGuestPending(uint32_t port) {
    hv_.find(guest_)->sharedInfo().get()->evtchn_pending[port / 64] &= ~(xen_ulong_t{1} << (port % 64));
  }
  size_t dom0Ports() { return hv_.eventChannels().listPorts(0).size(); }

  char dir_[32] = "/tmp/smartvm-evtchn-XXXXXX";
  std::string path_;
  test::TempFile kernel_{test::tinyPvhKernel()};
  test::FakePlatform platform_;
  Hypervisor hv_{platform_, HypervisorOptions{}};
  ControlServer server_{hv_, "fake kvm", nullptr};
  uint32_t guest_ = 0;
};

TEST_F(ControlEvtchnSocketTest, PingPongThroughFdsAndDoorbell) {
  EventChannelClient c = client();
  auto gp = c.allocUnbound(guest_, 0);
  ASSERT_TRUE(gp.isOk()) << gp.status().toString();
  EXPECT_EQ(gp->dom, guest_);
  EXPECT_FALSE(gp->notify.valid());
  auto p = c.bindInterdomain(guest_, gp->port);
  ASSERT_TRUE(p.isOk()) << p.status().toString();
  ASSERT_TRUE(p->notify.valid());
  ASSERT_TRUE(p->doorbell.valid());
  EXPECT_EQ(p->dom, 0u);
  auto first = EventChannelClient::wait(p->notify.get(), 1s);
  ASSERT_TRUE(first.isOk()) << "a new interdomain binding starts pending";
  EXPECT_EQ(EventChannelClient::takePending(p->notify.get()).value(), 0u);

  ASSERT_TRUE(c.send(p->port).isOk());
  EXPECT_TRUE(guestPending(gp->port));
  clearGuestPending(gp->port);
  ASSERT_TRUE(EventChannelClient::ring(p->doorbell.get()).isOk());
  EXPECT_TRUE(waitUntil([&] { return guestPending(gp->port); }));

  // The guest answers (its EVTCHNOP_send, issued directly here).
  evtchn_send s{gp->port};
  ASSERT_EQ(hv_.eventChannels().send(static_cast<uint16_t>(guest_), s), 0);
  auto got = EventChannelClient::wait(p->notify.get(), 5s);
  ASSERT_TRUE(got.isOk()) << got.status().toString();
  EXPECT_EQ(*got, 1u);
  EXPECT_EQ(EventChannelClient::wait(p->notify.get(), 20ms).status().code(), ETIMEDOUT);

  auto st = c.status(guest_, gp->port);
  ASSERT_TRUE(st.isOk());
  EXPECT_EQ(st->state(), smartvm::v1::EVENT_CHANNEL_STATE_INTERDOMAIN);
  EXPECT_EQ(st->remote_port(), p->port);
  auto ports = c.list(0);
  ASSERT_TRUE(ports.isOk());
  ASSERT_EQ(ports->size(), 3u) << "reserved port 0, the guest's console back end, ours";
  EXPECT_EQ((*ports)[2].port(), p->port);
  EXPECT_EQ((*ports)[2].remote_domid(), guest_);
}

TEST_F(ControlEvtchnSocketTest, DisconnectClosesTheConnectionsPorts) {
  EventChannelClient keeper = client();
  auto kept = keeper.allocUnbound(0, guest_);
  ASSERT_TRUE(kept.isOk());
  uint32_t gp = 0;
  {
    EventChannelClient c = client();
    gp = c.allocUnbound(guest_, 0)->port;
    ASSERT_TRUE(c.bindInterdomain(guest_, gp).isOk());
    ASSERT_TRUE(c.bindVirq(VIRQ_DOM_EXC).isOk());
    EXPECT_EQ(dom0Ports(), 5u) << "reserved, the console back end, keeper's and these two";
    EXPECT_EQ(keeper.close(3).code(), ENOTCONN) << "not keeper's port";
  }  // the client goes: smartvm-hv sees the connection end
  EXPECT_TRUE(waitUntil([&] { return dom0Ports() == 3; }))
      << "reserved port 0, the guest's console back end (smartvm-hv's own) and keeper's port remain";
  EXPECT_EQ(hv_.eventChannels().listPorts(0)[2].port, kept->port);
  auto st = keeper.status(guest_, gp);
  ASSERT_TRUE(st.isOk());
  EXPECT_EQ(st->state(), smartvm::v1::EVENT_CHANNEL_STATE_UNBOUND);
  EXPECT_TRUE(keeper.bindVirq(VIRQ_DOM_EXC).isOk()) << "free to bind again";

  keeper.disconnect();
  EXPECT_FALSE(keeper.connected());
  EXPECT_EQ(keeper.send(kept->port).code(), ENOTCONN);
  EXPECT_TRUE(waitUntil([&] { return dom0Ports() == 2; }));
  EXPECT_TRUE(waitUntil([&] { return hv_.dom0EventChannels().doorbellCount() == 0; }));
}

TEST_F(ControlEvtchnSocketTest, ErrorsComeBackWithXensErrnoAndMessage) {
  EventChannelClient c = client();
  auto bad = c.bindInterdomain(999, 1);
  EXPECT_EQ(bad.status().code(), ESRCH);
  EXPECT_EQ(bad.status().message(), "no domain 999 (it has no event channels)");
  EXPECT_EQ(c.bindVirq(1000).status().code(), EINVAL);
  EXPECT_EQ(c.send(17).code(), ENOTCONN);
  EXPECT_TRUE(c.list(guest_).isOk()) << "the connection is still in step after errors";
  EXPECT_EQ(EventChannelClient::connect(std::string(dir_) + "/nothing.sock").status().code(), ECONNREFUSED);
}

TEST_F(ControlEvtchnSocketTest, DescriptorsSentToTheServerAreDropped) {
  auto raw = MessageSocket::connectUnix(path_);
  ASSERT_TRUE(raw.isOk());
  // Warm up: the connection's thread and the doorbell thread exist after this.
  control::v1::Request warm;
  warm.set_id(1);
  warm.mutable_evtchn_list()->set_dom(0);
  ASSERT_TRUE(raw->send(warm).isOk());
  control::v1::Response resp;
  ASSERT_TRUE(raw->recv(resp).isOk());
  UniqueFd e(::eventfd(0, EFD_CLOEXEC));
  const size_t before = openFds();
  const int smuggled[] = {e.get(), e.get(), e.get()};
  for (uint64_t id = 2; id < 12; ++id) {
    control::v1::Request req;
    req.set_id(id);
    req.mutable_evtchn_status()->set_dom(0);
    req.mutable_evtchn_status()->set_port(0);
    ASSERT_TRUE(raw->send(req, smuggled).isOk());
    ASSERT_TRUE(raw->recv(resp).isOk());
    EXPECT_EQ(resp.id(), id);
    EXPECT_EQ(resp.error_code(), 0);
  }
  EXPECT_EQ(openFds(), before) << "smartvm-hv keeps none of a client's descriptors";
}

TEST_F(ControlEvtchnSocketTest, GarbageEndsOnlyThatConnection) {
  auto raw = MessageSocket::connectUnix(path_);
  ASSERT_TRUE(raw.isOk());
  const char junk[] = "\x05\x00\x00\x00\xff\xff\xff\xff\xff";
  ASSERT_EQ(::write(raw->fd(), junk, 9), 9);
  control::v1::Response resp;
  EXPECT_FALSE(raw->recv(resp).isOk()) << "a malformed frame closes the connection";
  EventChannelClient c = client();
  EXPECT_TRUE(c.allocUnbound(0, guest_).isOk());
}

}  // namespace
}  // namespace smartvm::hv
