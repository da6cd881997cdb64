// EVTCHNOP_close and EVTCHNOP_status, including hostile port numbers.
#include "EvtchnTestUtil.h"

namespace smartvm::evtchn::test {
namespace {

class CloseStatusTest : public EvtchnTest {
 protected:
  void SetUp() override {
    addDom(kDom0);
    addDom(1);
    addDom(2);
  }
};

TEST_F(CloseStatusTest, StatusOfReservedAndFreePortsIsClosed) {
  EXPECT_EQ(statusOf(1, 0), uint32_t{EVTCHNSTAT_closed});
  EXPECT_EQ(statusOf(1, 63), uint32_t{EVTCHNSTAT_closed});
}

TEST_F(CloseStatusTest, StatusOfPortsOutsideValidBucketsIsEinval) {
  evtchn_status st;
  for (uint32_t port : {64u, 4095u, 4096u, 0x7fffffffu, 0xffffffffu}) {
    EXPECT_EQ(status(1, DOMID_SELF, port, st), -EINVAL) << port;
  }
}

TEST_F(CloseStatusTest, StatusOfAnotherDomainNeedsPrivilege) {
  auto [p1, p2] = connect(1, 2);
  evtchn_status st;
  EXPECT_EQ(status(2, 1, p1, st), -EPERM);
  EXPECT_EQ(status(2, 99, p1, st), -ESRCH);
  EXPECT_EQ(status(99, 1, p1, st), -ESRCH);
  ASSERT_EQ(status(kDom0, 1, p1, st), 0);
  EXPECT_EQ(st.status, EVTCHNSTAT_interdomain);
  EXPECT_EQ(st.u.interdomain.port, p2);
}

TEST_F(CloseStatusTest, ValidPortsGrowByBucketsOf64) {
  for (int i = 1; i < 64; ++i) ASSERT_EQ(allocUnbound(1, DOMID_SELF, 0), i);
  evtchn_status st;
  EXPECT_EQ(status(1, DOMID_SELF, 64, st), -EINVAL);
  EXPECT_EQ(allocUnbound(1, DOMID_SELF, 0), 64);
  EXPECT_EQ(statusOf(1, 127), uint32_t{EVTCHNSTAT_closed});
  EXPECT_EQ(status(1, DOMID_SELF, 128, st), -EINVAL);
  // Valid ports never shrink, as in Xen.
  ASSERT_EQ(closePort(1, 64), 0);
  EXPECT_EQ(statusOf(1, 100), uint32_t{EVTCHNSTAT_closed});
}

TEST_F(CloseStatusTest, CloseRejectsReservedFreeAndHostilePorts) {
  EXPECT_EQ(closePort(1, 0), -EINVAL);
  EXPECT_EQ(closePort(1, 1), -EINVAL);
  EXPECT_EQ(closePort(1, 64), -EINVAL);
  EXPECT_EQ(closePort(1, 0xffffffffu), -EINVAL);
  EXPECT_EQ(closePort(1, static_cast<uint32_t>(-1)), -EINVAL);
  EXPECT_EQ(closePort(99, 1), -ESRCH);
}

TEST_F(CloseStatusTest, DoubleCloseIsEinval) {
  ASSERT_EQ(allocUnbound(1, DOMID_SELF, 2), 1);
  EXPECT_EQ(closePort(1, 1), 0);
  EXPECT_EQ(closePort(1, 1), -EINVAL);
  EXPECT_EQ(statusOf(1, 1), uint32_t{EVTCHNSTAT_closed});
}

TEST_F(CloseStatusTest, ClosingOneEndLeavesThePeerUnboundForTheCloser) {
  auto [p1, p2] = connect(1, 2);
  ASSERT_EQ(closePort(2, p2), 0);
  evtchn_status st;
  ASSERT_EQ(status(1, DOMID_SELF, p1, st), 0);
  EXPECT_EQ(st.status, EVTCHNSTAT_unbound);
  EXPECT_EQ(st.u.unbound.dom, 2);
  // The closer may reconnect to the same port.
  EXPECT_EQ(bindInterdomain(2, 1, p1), p2);
  // A port cannot be closed by the other domain.
  EXPECT_EQ(closePort(2, 5), -EINVAL);
}

TEST_F(CloseStatusTest, CloseClearsPendingButNotMask) {
  int64_t ipi = bindIpi(1, 0);
  maskPort(1, static_cast<uint32_t>(ipi));
  ASSERT_EQ(send(1, static_cast<uint32_t>(ipi)), 0);
  Model2l m = model(1);
  ASSERT_EQ(closePort(1, static_cast<uint32_t>(ipi)), 0);
  m.clearPending(static_cast<uint32_t>(ipi));
  EXPECT_EQ(bits(1), m.b);
  EXPECT_TRUE(testBit(si(1).evtchn_mask, static_cast<uint32_t>(ipi)));
}

TEST_F(CloseStatusTest, ClosingAVirqFreesItsSlot) {
  int64_t timer = bindVirq(1, VIRQ_TIMER, 2);
  int64_t domExc = bindVirq(1, VIRQ_DOM_EXC, 0);
  ASSERT_EQ(bindVcpu(1, static_cast<uint32_t>(domExc), 3), 0);
  ASSERT_EQ(closePort(1, static_cast<uint32_t>(timer)), 0);
  ASSERT_EQ(closePort(1, static_cast<uint32_t>(domExc)), 0);
  ec_.raiseVirq(1, VIRQ_TIMER, 2);
  ec_.raiseVirq(1, VIRQ_DOM_EXC, 0);
  EXPECT_EQ(bits(1), Bits{});
  EXPECT_EQ(bindVirq(1, VIRQ_TIMER, 2), timer);
  EXPECT_EQ(bindVirq(1, VIRQ_DOM_EXC, 0), domExc);
  EXPECT_EQ(statusOf(1, static_cast<uint32_t>(domExc)), uint32_t{EVTCHNSTAT_virq});
}

TEST_F(CloseStatusTest, ListPortsShowsEveryBoundPort) {
  auto [p1, p2] = connect(1, 2);
  int64_t timer = bindVirq(1, VIRQ_TIMER, 1);
  maskPort(1, static_cast<uint32_t>(timer));
  auto ports = ec_.listPorts(1);
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0].state, PortState::Reserved);
  EXPECT_EQ(ports[1].port, p1);
  EXPECT_EQ(ports[1].state, PortState::Interdomain);
  EXPECT_EQ(ports[1].remoteDom, 2);
  EXPECT_EQ(ports[1].remotePort, p2);
  EXPECT_EQ(ports[2].state, PortState::Virq);
  EXPECT_EQ(ports[2].virq, uint32_t{VIRQ_TIMER});
  EXPECT_EQ(ports[2].vcpu, 1u);
  EXPECT_TRUE(ports[2].masked);
  EXPECT_FALSE(ports[2].pending);
  EXPECT_TRUE(ec_.listPorts(99).empty());
  EXPECT_STREQ(toString(ports[1].state), "interdomain");
}

}  // namespace
}  // namespace smartvm::evtchn::test
