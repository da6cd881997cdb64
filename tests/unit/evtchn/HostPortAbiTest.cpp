// HostPortAbi: domain 0 on the host, its pending state in eventfds, with
// Xen's permission rules between it and guests.
#include <poll.h>
#include <unistd.h>

#include "EvtchnTestUtil.h"
#include "smartvm/evtchn/HostPortAbi.h"

namespace smartvm::evtchn::test {
namespace {

class HostPortAbiTest : public EvtchnTest {
 protected:
  void SetUp() override {
    auto abi = std::make_unique<HostPortAbi>();
    host_ = abi.get();
    ASSERT_TRUE(ec_.addDomain(kDom0, std::move(abi)).isOk());
    addDom(1);
    addDom(2);
  }

  UniqueFd fdOf(uint32_t port) {
    auto fd = host_->eventFd(port);
    EXPECT_TRUE(fd.isOk()) << fd.status().toString();
    return fd.isOk() ? std::move(*fd) : UniqueFd();
  }
  static bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }
  /// Reads the counter (0 if nothing is pending).
  static uint64_t take(int fd) {
    uint64_t v = 0;
    return ::read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
  }
  bool listedPending(uint16_t dom, uint32_t port) {
    for (const PortInfo& p : ec_.listPorts(dom)) {
      if (p.port == port) return p.pending;
    }
    return false;
  }

  HostPortAbi* host_ = nullptr;
};

TEST_F(HostPortAbiTest, GuestSendReachesTheDom0Eventfd) {
  const int64_t p0 = allocUnbound(kDom0, DOMID_SELF, 1);
  ASSERT_GT(p0, 0);
  UniqueFd fd = fdOf(static_cast<uint32_t>(p0));
  const int64_t p1 = bindInterdomain(1, kDom0, static_cast<uint32_t>(p0));
  ASSERT_GT(p1, 0);
  EXPECT_FALSE(readable(fd.get())) << "binding marks only the binder's port pending";
  ASSERT_EQ(send(1, static_cast<uint32_t>(p1)), 0);
  ASSERT_EQ(send(1, static_cast<uint32_t>(p1)), 0);
  EXPECT_TRUE(readable(fd.get()));
  EXPECT_TRUE(listedPending(kDom0, static_cast<uint32_t>(p0)));
  EXPECT_EQ(ec_.pollPending(kDom0, static_cast<uint32_t>(p0)), 1);
  EXPECT_EQ(take(fd.get()), 2u) << "two sends before the read coalesce into one wake-up of count 2";
  EXPECT_FALSE(listedPending(kDom0, static_cast<uint32_t>(p0))) << "reading the eventfd clears pending";
  EXPECT_EQ(totalNotifies(), 1) << "only the guest's own bind made an upcall; dom0 gets none";
}

TEST_F(HostPortAbiTest, Dom0SendSetsTheGuestBits) {
  const int64_t p1 = allocUnbound(1, DOMID_SELF, kDom0);
  ASSERT_GT(p1, 0);
  const int64_t p0 = bindInterdomain(kDom0, 1, static_cast<uint32_t>(p1));
  ASSERT_GT(p0, 0);
  UniqueFd fd = fdOf(static_cast<uint32_t>(p0));
  EXPECT_EQ(take(fd.get()), 1u) << "Xen marks the binder's new port pending, dom0's included";
  ASSERT_EQ(send(kDom0, static_cast<uint32_t>(p0)), 0);
  EXPECT_TRUE(testBit(si(1).evtchn_pending, static_cast<uint32_t>(p1)));
  EXPECT_EQ(notifies(1, 0), 1);
  EXPECT_FALSE(readable(fd.get()));
}

TEST_F(HostPortAbiTest, PrivilegedAllocUnboundOnAGuestsBehalf) {
  // xl's console/xenstore set-up: dom0 makes the guest's port, offered to dom0.
  const int64_t gp = allocUnbound(kDom0, 1, kDom0);
  ASSERT_GT(gp, 0);
  evtchn_status st;
  ASSERT_EQ(status(kDom0, 1, static_cast<uint32_t>(gp), st), 0);
  EXPECT_EQ(st.status, EVTCHNSTAT_unbound);
  EXPECT_EQ(st.u.unbound.dom, kDom0);
  const int64_t p0 = bindInterdomain(kDom0, 1, static_cast<uint32_t>(gp));
  ASSERT_GT(p0, 0);
  EXPECT_EQ(statusOf(1, static_cast<uint32_t>(gp)), static_cast<uint32_t>(EVTCHNSTAT_interdomain));
}

TEST_F(HostPortAbiTest, GuestsGetXensPermissionErrors) {
  EXPECT_EQ(allocUnbound(1, kDom0, 1), -EPERM) << "a guest cannot make dom0 ports";
  evtchn_status st;
  EXPECT_EQ(status(1, kDom0, 0, st), -EPERM);
  const int64_t forTwo = allocUnbound(kDom0, DOMID_SELF, 2);
  ASSERT_GT(forTwo, 0);
  EXPECT_EQ(bindInterdomain(1, kDom0, static_cast<uint32_t>(forTwo)), -EINVAL) << "offered to domain 2, not 1";
  EXPECT_GT(bindInterdomain(2, kDom0, static_cast<uint32_t>(forTwo)), 0);
  evtchn_reset reset{kDom0};
  EXPECT_EQ(ec_.reset(1, reset), -EPERM);
}

TEST_F(HostPortAbiTest, PendingBeforeTheFdIsAskedForIsKept) {
  const int64_t p0 = allocUnbound(kDom0, DOMID_SELF, 1);
  const int64_t p1 = bindInterdomain(1, kDom0, static_cast<uint32_t>(p0));
  ASSERT_EQ(send(1, static_cast<uint32_t>(p1)), 0);
  UniqueFd fd = fdOf(static_cast<uint32_t>(p0));
  EXPECT_EQ(take(fd.get()), 1u);
}

TEST_F(HostPortAbiTest, ClosedPortNumberGetsAFreshEventfd) {
  const int64_t p0 = allocUnbound(kDom0, DOMID_SELF, 1);
  UniqueFd old = fdOf(static_cast<uint32_t>(p0));
  ASSERT_EQ(closePort(kDom0, static_cast<uint32_t>(p0)), 0);
  const int64_t again = allocUnbound(kDom0, DOMID_SELF, 1);
  ASSERT_EQ(again, p0) << "lowest free port is reused";
  UniqueFd fresh = fdOf(static_cast<uint32_t>(again));
  const int64_t p1 = bindInterdomain(1, kDom0, static_cast<uint32_t>(again));
  ASSERT_EQ(send(1, static_cast<uint32_t>(p1)), 0);
  EXPECT_TRUE(readable(fresh.get()));
  EXPECT_FALSE(readable(old.get())) << "the old holder never sees the new binding";
}

TEST_F(HostPortAbiTest, CloseDrainsAPendingCount) {
  const int64_t p1 = allocUnbound(1, DOMID_SELF, kDom0);
  const int64_t p0 = bindInterdomain(kDom0, 1, static_cast<uint32_t>(p1));
  UniqueFd fd = fdOf(static_cast<uint32_t>(p0));
  ASSERT_TRUE(readable(fd.get()));
  ASSERT_EQ(closePort(kDom0, static_cast<uint32_t>(p0)), 0);
  EXPECT_FALSE(readable(fd.get()));
  EXPECT_EQ(statusOf(1, static_cast<uint32_t>(p1)), static_cast<uint32_t>(EVTCHNSTAT_unbound));
}

TEST_F(HostPortAbiTest, GlobalVirqFiresTheEventfd) {
  evtchn_bind_virq op{VIRQ_DOM_EXC, 0, 0};
  ASSERT_EQ(ec_.bindVirq(kDom0, op, 1), 0);
  UniqueFd fd = fdOf(op.port);
  ec_.raiseVirq(kDom0, VIRQ_DOM_EXC, 0);
  EXPECT_EQ(take(fd.get()), 1u);
  evtchn_bind_virq twice{VIRQ_DOM_EXC, 0, 0};
  EXPECT_EQ(ec_.bindVirq(kDom0, twice, 1), -EEXIST);
}

TEST_F(HostPortAbiTest, NeverMaskedAndUnmaskIsHarmless) {
  const int64_t p0 = allocUnbound(kDom0, DOMID_SELF, 1);
  EXPECT_EQ(unmask(kDom0, static_cast<uint32_t>(p0)), 0);
  for (const PortInfo& p : ec_.listPorts(kDom0)) EXPECT_FALSE(p.masked);
  EXPECT_FALSE(host_->isMasked(static_cast<uint32_t>(p0)));
}

TEST_F(HostPortAbiTest, PeerDeathLeavesTheDom0PortUnbound) {
  const int64_t p1 = allocUnbound(1, DOMID_SELF, kDom0);
  const int64_t p0 = bindInterdomain(kDom0, 1, static_cast<uint32_t>(p1));
  ec_.removeDomain(1);
  evtchn_status st;
  ASSERT_EQ(status(kDom0, DOMID_SELF, static_cast<uint32_t>(p0), st), 0);
  EXPECT_EQ(st.status, EVTCHNSTAT_unbound);
  EXPECT_EQ(st.u.unbound.dom, 1);
  EXPECT_EQ(send(kDom0, static_cast<uint32_t>(p0)), 0) << "sending to an unbound port is dropped silently";
}

TEST_F(HostPortAbiTest, LimitsAndBadPorts) {
  HostPortAbi small(3);
  EXPECT_EQ(small.maxPorts(), 3u);
  EXPECT_EQ(small.eventFd(3).status().code(), EINVAL);
  EXPECT_FALSE(small.setPending(99, 0));
  EXPECT_FALSE(small.isPending(99));
  EXPECT_EQ(HostPortAbi(0).maxPorts(), 1u);
  EXPECT_EQ(HostPortAbi(1u << 30).maxPorts(), static_cast<uint32_t>(EVTCHN_2L_NR_CHANNELS));
  EXPECT_EQ(send(kDom0, 1u << 31), -EINVAL);
  EXPECT_EQ(closePort(kDom0, 0xffffffffu), -EINVAL);
}

}  // namespace
}  // namespace smartvm::evtchn::test
