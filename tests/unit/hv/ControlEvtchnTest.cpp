// The control protocol's event channel operations (dom0 as an event channel
// peer) through ControlServer::handle: success paths, hostile values, port
// ownership per connection, VIRQ_DOM_EXC and debug key 'q'.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>
#include <xen/sched.h>

#include "HvTestUtil.h"
#include "smartvm/hv/ControlServer.h"

namespace smartvm::hv {
namespace {

namespace pb = smartvm::control::v1;
using smartvm::v1::EventChannel;
using test::waitUntil;

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

uint64_t take(int fd) {
  uint64_t v = 0;
  return ::read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

void ring(int fd) {
  const uint64_t one = 1;
  ASSERT_EQ(::write(fd, &one, sizeof(one)), 8);
}

class ControlEvtchnTest : public ::testing::Test {
 protected:
  uint32_t createGuest(const std::string& name, uint32_t vcpus = 1) {
    auto r = hv.createDomain(test::makeConfig(name, kernel.path(), 32, vcpus));
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    return r.isOk() ? r->domid() : 0;
  }

  /// Runs `req` as `owner`'s connection; the answer's fds land in `fds`.
  pb::Response call(pb::Request req, Dom0PortOwner& owner) {
    req.set_id(++id_);
    fds.clear();
    pb::Response r = server.handle(req, owner, fds);
    EXPECT_EQ(r.id(), id_);
    EXPECT_EQ(r.fd_count(), fds.size());
    return r;
  }
  pb::Response call(pb::Request req) { return call(std::move(req), conn); }

  static pb::Request allocUnbound(uint32_t dom, uint32_t remote) {
    pb::Request r;
    r.mutable_evtchn_alloc_unbound()->set_dom(dom);
    r.mutable_evtchn_alloc_unbound()->set_remote_dom(remote);
    return r;
  }
  static pb::Request bindInterdomain(uint32_t remote, uint32_t port) {
    pb::Request r;
    r.mutable_evtchn_bind_interdomain()->set_remote_dom(remote);
    r.mutable_evtchn_bind_interdomain()->set_remote_port(port);
    return r;
  }
  static pb::Request bindVirq(uint32_t virq) {
    pb::Request r;
    r.mutable_evtchn_bind_virq()->set_virq(virq);
    return r;
  }
  static pb::Request send(uint32_t port) {
    pb::Request r;
    r.mutable_evtchn_send()->set_port(port);
    return r;
  }
  static pb::Request close(uint32_t port) {
    pb::Request r;
    r.mutable_evtchn_close()->set_port(port);
    return r;
  }
  static pb::Request status(uint32_t dom, uint32_t port) {
    pb::Request r;
    r.mutable_evtchn_status()->set_dom(dom);
    r.mutable_evtchn_status()->set_port(port);
    return r;
  }
  static pb::Request list(uint32_t dom) {
    pb::Request r;
    r.mutable_evtchn_list()->set_dom(dom);
    return r;
  }
  static pb::Request debugKeys(const std::string& keys) {
    pb::Request r;
    r.mutable_debug_keys()->set_keys(keys);
    return r;
  }

  /// The guest-side state of `port`, from the listing (nullopt = closed).
  std::optional<EventChannel> guestPort(uint32_t dom, uint32_t port) {
    pb::Response r = call(list(dom));
    for (const EventChannel& p : r.evtchn_ports().ports()) {
      if (p.port() == port) return p;
    }
    return std::nullopt;
  }

  /// Sets up xl-style: dom0 makes the guest's port for dom0, then binds it.
  /// Returns {guest port, dom0 port}; the dom0 port's fds stay in `fds`.
  std::pair<uint32_t, uint32_t> channelTo(uint32_t guest) {
    pb::Response a = call(allocUnbound(guest, 0));
    EXPECT_EQ(a.error_code(), 0) << a.error();
    const uint32_t gp = a.evtchn_bound().port();
    pb::Response b = call(bindInterdomain(guest, gp));
    EXPECT_EQ(b.error_code(), 0) << b.error();
    return {gp, b.evtchn_bound().port()};
  }

  void expectError(const pb::Response& r, int code, const std::string& fragment) {
    EXPECT_EQ(r.error_code(), code) << r.error();
    EXPECT_NE(r.error().find(fragment), std::string::npos) << r.error();
    EXPECT_EQ(r.fd_count(), 0u);
    EXPECT_TRUE(fds.empty());
  }

  test::TempFile kernel{test::tinyPvhKernel()};
  test::FakePlatform platform;
  Hypervisor hv{platform, HypervisorOptions{}};
  ControlServer server{hv, "fake kvm", nullptr};
  Dom0PortOwner conn{hv.dom0EventChannels()};
  std::vector<UniqueFd> fds;
  uint64_t id_ = 0;
};

TEST_F(ControlEvtchnTest, Dom0AllocUnboundHandsOutNotifyAndDoorbell) {
  const uint32_t g = createGuest("g");
  pb::Response r = call(allocUnbound(0, g));
  ASSERT_EQ(r.error_code(), 0) << r.error();
  EXPECT_EQ(r.evtchn_bound().port(), 2u) << "dom0 port 1 is g's console back end, served by smartvm-hv";
  EXPECT_EQ(r.evtchn_bound().dom(), 0u);
  EXPECT_TRUE(r.evtchn_bound().has_fds());
  ASSERT_EQ(r.fd_count(), 2u);
  EXPECT_EQ(conn.portCount(), 1u);
  const auto p = guestPort(0, 2);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->state(), smartvm::v1::EVENT_CHANNEL_STATE_UNBOUND);
  EXPECT_EQ(p->remote_domid(), g);
  EXPECT_FALSE(readable(fds[0].get())) << "nothing pending yet";

  pb::Response second = call(allocUnbound(DOMID_SELF, g));
  ASSERT_EQ(second.error_code(), 0) << second.error();
  EXPECT_EQ(second.evtchn_bound().port(), 3u);
  EXPECT_EQ(conn.portCount(), 2u);
}

TEST_F(ControlEvtchnTest, GuestSendFiresTheDom0Eventfd) {
  const uint32_t g = createGuest("g");
  pb::Response r = call(allocUnbound(0, g));
  ASSERT_EQ(r.error_code(), 0);
  UniqueFd notify = std::move(fds[0]);
  evtchn_bind_interdomain bind{0, r.evtchn_bound().port(), 0};
  ASSERT_EQ(hv.eventChannels().bindInterdomain(static_cast<uint16_t>(g), bind), 0);
  EXPECT_FALSE(readable(notify.get()));
  evtchn_send s{bind.local_port};
  ASSERT_EQ(hv.eventChannels().send(static_cast<uint16_t>(g), s), 0);
  EXPECT_EQ(take(notify.get()), 1u);
}

TEST_F(ControlEvtchnTest, XlStyleChannelSendAndDoorbell) {
  const uint32_t g = createGuest("g");
  const auto [gp, dp] = channelTo(g);
  ASSERT_EQ(fds.size(), 2u);
  UniqueFd notify = std::move(fds[0]), doorbell = std::move(fds[1]);
  EXPECT_EQ(take(notify.get()), 1u) << "a new interdomain binding starts pending, as in Xen";

  auto gst = guestPort(g, gp);
  ASSERT_TRUE(gst);
  EXPECT_EQ(gst->state(), smartvm::v1::EVENT_CHANNEL_STATE_INTERDOMAIN);
  EXPECT_EQ(gst->remote_domid(), 0u);
  EXPECT_EQ(gst->remote_port(), dp);
  EXPECT_FALSE(gst->pending());

  pb::Response s = call(send(dp));
  ASSERT_EQ(s.error_code(), 0) << s.error();
  EXPECT_TRUE(guestPort(g, gp)->pending());

  // Clear the guest's pending bit, then ring the doorbell instead of asking.
  hv.find(g)->sharedInfo().get()->evtchn_pending[gp / 64] &= ~(xen_ulong_t{1} << (gp % 64));
  EXPECT_FALSE(guestPort(g, gp)->pending());
  ring(doorbell.get());
  EXPECT_TRUE(waitUntil([&] { return guestPort(g, gp)->pending(); })) << "the doorbell thread sends";

  pb::Response st = call(status(0, dp));
  ASSERT_EQ(st.error_code(), 0) << st.error();
  EXPECT_EQ(st.evtchn_status().state(), smartvm::v1::EVENT_CHANNEL_STATE_INTERDOMAIN);
  EXPECT_EQ(st.evtchn_status().remote_domid(), g);
  EXPECT_EQ(st.evtchn_status().remote_port(), gp);
  EXPECT_FALSE(st.evtchn_status().masked());
}

TEST_F(ControlEvtchnTest, CloseFreesThePortAndItsDoorbell) {
  const uint32_t g = createGuest("g");
  const auto [gp, dp] = channelTo(g);
  UniqueFd doorbell = std::move(fds[1]);
  EXPECT_EQ(hv.dom0EventChannels().doorbellCount(), 1u);
  ASSERT_EQ(call(close(dp)).error_code(), 0);
  EXPECT_EQ(conn.portCount(), 0u);
  EXPECT_EQ(hv.dom0EventChannels().doorbellCount(), 0u);
  EXPECT_EQ(guestPort(g, gp)->state(), smartvm::v1::EVENT_CHANNEL_STATE_UNBOUND)
      << "the guest end waits for a new peer";
  EXPECT_FALSE(guestPort(0, dp)) << "closed ports are not listed";
  ring(doorbell.get());  // a stale doorbell rings nothing
  expectError(call(close(dp)), ENOTCONN, "not a dom0 port bound by this connection");
  expectError(call(send(dp)), ENOTCONN, "not a dom0 port bound by this connection");
}

TEST_F(ControlEvtchnTest, PortsBelongToTheirConnection) {
  const uint32_t g = createGuest("g");
  const auto [gp, dp] = channelTo(g);
  {
    Dom0PortOwner other(hv.dom0EventChannels());
    expectError(call(send(dp), other), ENOTCONN, "not a dom0 port bound by this connection");
    expectError(call(close(dp), other), ENOTCONN, "not a dom0 port bound by this connection");
    pb::Response mine = call(allocUnbound(0, g), other);
    ASSERT_EQ(mine.error_code(), 0);
    EXPECT_EQ(other.portCount(), 1u);
    EXPECT_TRUE(guestPort(0, mine.evtchn_bound().port()));
  }  // the other connection closes: its port goes, ours stays
  EXPECT_EQ(conn.portCount(), 1u);
  pb::Response l = call(list(0));
  ASSERT_EQ(l.evtchn_ports().ports_size(), 3) << "reserved port 0, g's console back end and our port";
  EXPECT_EQ(l.evtchn_ports().ports(2).port(), dp);
  (void)gp;
}

TEST_F(ControlEvtchnTest, ConnectionCloseClosesItsPorts) {
  const uint32_t g = createGuest("g");
  uint32_t gp = 0;
  {
    Dom0PortOwner temp(hv.dom0EventChannels());
    gp = call(allocUnbound(g, 0), temp).evtchn_bound().port();
    ASSERT_EQ(call(bindInterdomain(g, gp), temp).error_code(), 0);
    ASSERT_EQ(call(bindVirq(VIRQ_DOM_EXC), temp).error_code(), 0);
    ASSERT_EQ(call(allocUnbound(0, g), temp).error_code(), 0);
    EXPECT_EQ(temp.portCount(), 3u);
    EXPECT_EQ(hv.dom0EventChannels().doorbellCount(), 3u);
  }
  EXPECT_EQ(hv.dom0EventChannels().doorbellCount(), 0u);
  pb::Response l = call(list(0));
  ASSERT_EQ(l.evtchn_ports().ports_size(), 2) << "only the reserved port and g's console back end are left";
  EXPECT_EQ(guestPort(g, gp)->state(), smartvm::v1::EVENT_CHANNEL_STATE_UNBOUND);
  EXPECT_EQ(call(bindVirq(VIRQ_DOM_EXC)).error_code(), 0) << "the VIRQ is free again";
}

TEST_F(ControlEvtchnTest, GuestAllocUnboundOnItsBehalfHasNoFdsAndNoOwner) {
  const uint32_t g = createGuest("g");
  const uint32_t h = createGuest("h");
  pb::Response r = call(allocUnbound(g, h));
  ASSERT_EQ(r.error_code(), 0) << r.error();
  EXPECT_EQ(r.evtchn_bound().dom(), g);
  EXPECT_FALSE(r.evtchn_bound().has_fds());
  EXPECT_EQ(r.fd_count(), 0u);
  EXPECT_EQ(conn.portCount(), 0u);
  auto p = guestPort(g, r.evtchn_bound().port());
  ASSERT_TRUE(p);
  EXPECT_EQ(p->remote_domid(), h);
  // The other guest may now bind it, as xl's console/xenstore set-up relies on.
  evtchn_bind_interdomain bind{static_cast<domid_t>(g), r.evtchn_bound().port(), 0};
  EXPECT_EQ(hv.eventChannels().bindInterdomain(static_cast<uint16_t>(h), bind), 0);
  expectError(call(send(r.evtchn_bound().port())), ENOTCONN, "not a dom0 port");
}

TEST_F(ControlEvtchnTest, HostileValuesGetXensErrno) {
  const uint32_t g = createGuest("g");
  expectError(call(allocUnbound(70000, 0)), EINVAL, "dom 70000 is not a domain id");
  expectError(call(allocUnbound(0, 0xffffffffu)), EINVAL, "remote_dom 4294967295 is not a domain id");
  expectError(call(allocUnbound(77, 0)), ESRCH, "no domain 77");
  expectError(call(allocUnbound(DOMID_IO, 0)), ESRCH, "no domain");
  expectError(call(bindInterdomain(77, 1)), ESRCH, "no domain 77");
  expectError(call(bindInterdomain(g, 0xffffffffu)), EINVAL, "domain " + std::to_string(g) + " has no port 4294967295");
  expectError(call(bindInterdomain(g, 0)), EINVAL, "is closed, not unbound");
  const uint32_t h = createGuest("h");
  const uint32_t forH = call(allocUnbound(g, h)).evtchn_bound().port();
  expectError(call(bindInterdomain(g, forH)), EINVAL, "offered to domain " + std::to_string(h) + ", not to domain 0");
  expectError(call(bindInterdomain(0, 0)), EINVAL, "");
  expectError(call(bindVirq(NR_VIRQS)), EINVAL, "VIRQ 24 does not exist");
  expectError(call(bindVirq(0xffffffffu)), EINVAL, "does not exist");
  expectError(call(send(0xffffffffu)), EINVAL, "out of range");
  expectError(call(close(4096)), EINVAL, "out of range");
  expectError(call(close(0)), ENOTCONN, "");
  expectError(call(status(77, 1)), ESRCH, "no domain 77");
  expectError(call(status(g, 1u << 31)), EINVAL, "has no port");
  expectError(call(status(1u << 20, 0)), EINVAL, "not a domain id");
  expectError(call(list(77)), ESRCH, "no domain 77");
  expectError(call(list(65536)), EINVAL, "not a domain id");
  EXPECT_EQ(conn.portCount(), 0u) << "no failed call left a port behind";
  pb::Response l = call(list(0));
  EXPECT_EQ(l.evtchn_ports().ports_size(), 3) << "reserved port 0 and the console back ends of g and h";
}

TEST_F(ControlEvtchnTest, StatusOfClosedAndReservedPorts) {
  const uint32_t g = createGuest("g");
  pb::Response r0 = call(status(g, 0));
  ASSERT_EQ(r0.error_code(), 0) << r0.error();
  EXPECT_EQ(r0.evtchn_status().state(), smartvm::v1::EVENT_CHANNEL_STATE_RESERVED);
  pb::Response r5 = call(status(g, 5));
  ASSERT_EQ(r5.error_code(), 0) << "inside the first bucket a free port reads closed, as in Xen";
  EXPECT_EQ(r5.evtchn_status().state(), smartvm::v1::EVENT_CHANNEL_STATE_CLOSED);
  pb::Response self = call(list(DOMID_SELF));
  ASSERT_EQ(self.error_code(), 0);
  EXPECT_EQ(self.evtchn_ports().dom(), 0u);
}

TEST_F(ControlEvtchnTest, VirqBindingIsOncePerDom0AndSendOnItIsEinval) {
  pb::Response v = call(bindVirq(VIRQ_DOM_EXC));
  ASSERT_EQ(v.error_code(), 0) << v.error();
  const uint32_t port = v.evtchn_bound().port();
  auto p = guestPort(0, port);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->state(), smartvm::v1::EVENT_CHANNEL_STATE_VIRQ);
  EXPECT_EQ(p->virq(), static_cast<uint32_t>(VIRQ_DOM_EXC));
  expectError(call(bindVirq(VIRQ_DOM_EXC)), EEXIST,
              "VIRQ 3 is already bound in domain 0 (port " + std::to_string(port));
  Dom0PortOwner other(hv.dom0EventChannels());
  expectError(call(bindVirq(VIRQ_DOM_EXC), other), EEXIST, "already bound");
  expectError(call(send(port)), EINVAL, "bound to a VIRQ");
}

TEST_F(ControlEvtchnTest, DomExcFiresOnShutdownAndDestroy) {
  pb::Response v = call(bindVirq(VIRQ_DOM_EXC));
  ASSERT_EQ(v.error_code(), 0);
  UniqueFd notify = std::move(fds[0]);
  const uint32_t g = createGuest("g");
  EXPECT_FALSE(readable(notify.get())) << "creating a domain is not an exception";
  ASSERT_TRUE(hv.shutdown(g, SHUTDOWN_poweroff, true).isOk());
  EXPECT_TRUE(waitUntil([&] { return readable(notify.get()); })) << "domain_shutdown raises VIRQ_DOM_EXC";
  // Default on_poweroff destroys: a second one follows, raised just after the
  // domain leaves the table, so wait for the count rather than for find().
  uint64_t seen = 0;
  EXPECT_TRUE(waitUntil([&] {
    seen += take(notify.get());
    return seen >= 2;
  })) << "shutdown and the reaper's destroy each raise it; saw " << seen;
  EXPECT_EQ(hv.find(g), nullptr);

  const uint32_t h = createGuest("h");
  EXPECT_FALSE(readable(notify.get()));
  ASSERT_TRUE(hv.destroy(h).isOk());
  EXPECT_EQ(take(notify.get()), 1u) << "domain_kill raises it for a destroy";
}

TEST_F(ControlEvtchnTest, DestroyedPeerLeavesTheDom0PortUnbound) {
  const uint32_t g = createGuest("g");
  const auto [gp, dp] = channelTo(g);
  ASSERT_TRUE(hv.destroy(g).isOk());
  pb::Response st = call(status(0, dp));
  ASSERT_EQ(st.error_code(), 0);
  EXPECT_EQ(st.evtchn_status().state(), smartvm::v1::EVENT_CHANNEL_STATE_UNBOUND);
  EXPECT_EQ(st.evtchn_status().remote_domid(), g);
  EXPECT_EQ(call(send(dp)).error_code(), 0) << "dropped silently, as Xen does for an unbound port";
  expectError(call(list(g)), ESRCH, "no domain");
  (void)gp;
}

TEST_F(ControlEvtchnTest, DebugKeyQSendsVirqDebugToEveryVcpu) {
  const uint32_t g = createGuest("g", 2);
  // The guest binds VIRQ_DEBUG on both vCPUs (its hypercalls, done directly).
  std::vector<uint32_t> ports;
  for (uint32_t v = 0; v < 2; ++v) {
    evtchn_bind_virq op{VIRQ_DEBUG, v, 0};
    ASSERT_EQ(hv.eventChannels().bindVirq(static_cast<uint16_t>(g), op, 2), 0);
    ports.push_back(op.port);
  }
  pb::Response r = call(debugKeys("q"));
  ASSERT_EQ(r.error_code(), 0) << r.error();
  EXPECT_NE(r.text().find("domain " + std::to_string(g) + " 'g': 2 vCPU(s) sent VIRQ_DEBUG"), std::string::npos)
      << r.text();
  for (uint32_t port : ports) EXPECT_TRUE(guestPort(g, port)->pending()) << "port " << port;

  expectError(call(debugKeys("qx")), EINVAL, "unknown debug key 'x' (supported: q)");
  expectError(call(debugKeys(std::string(1, '\x01'))), EINVAL, "0x01");
  expectError(call(debugKeys(std::string(65, 'q'))), EINVAL, "more than 64");
  EXPECT_EQ(call(debugKeys("")).error_code(), 0);
}

TEST_F(ControlEvtchnTest, HandleWithoutAConnectionClosesWhatItBinds) {
  pb::Request req = bindVirq(VIRQ_DOM_EXC);
  req.set_id(5);
  pb::Response r = server.handle(req);
  ASSERT_EQ(r.error_code(), 0) << r.error();
  EXPECT_EQ(r.id(), 5u);
  EXPECT_EQ(call(list(0)).evtchn_ports().ports_size(), 1) << "the one-call connection's port is gone";
}

}  // namespace
}  // namespace smartvm::hv
