// removeDomain and EVTCHNOP_reset while channels are bound.
#include "EvtchnTestUtil.h"

namespace smartvm::evtchn::test {
namespace {

class LifecycleTest : public EvtchnTest {
 protected:
  void SetUp() override {
    addDom(kDom0);
    addDom(1);
    addDom(2);
  }
};

TEST_F(LifecycleTest, RemoveDomainLeavesPeerPortsUnboundForIt) {
  auto [p0, p1] = connect(kDom0, 1);
  int64_t offeredTo1 = allocUnbound(2, DOMID_SELF, 1);
  ec_.removeDomain(1);
  EXPECT_FALSE(ec_.hasDomain(1));
  evtchn_status st;
  ASSERT_EQ(status(kDom0, DOMID_SELF, p0, st), 0);
  EXPECT_EQ(st.status, EVTCHNSTAT_unbound);
  EXPECT_EQ(st.u.unbound.dom, 1);
  ASSERT_EQ(status(2, DOMID_SELF, static_cast<uint32_t>(offeredTo1), st), 0);
  EXPECT_EQ(st.status, EVTCHNSTAT_unbound);  // untouched, as in Xen
  EXPECT_EQ(send(kDom0, p0), 0);              // now a silent drop
  EXPECT_EQ(send(1, p1), -ESRCH);
  EXPECT_EQ(allocUnbound(1, DOMID_SELF, 0), -ESRCH);
  EXPECT_EQ(allocUnbound(kDom0, 1, 0), -ESRCH);
  ec_.removeDomain(1);  // twice is harmless
  ec_.removeDomain(99);
  // A domain rebuilt with the same domid can reconnect to the waiting port.
  addDom(1);
  EXPECT_EQ(bindInterdomain(1, kDom0, p0), 1);
  EXPECT_EQ(ec_.listPorts(kDom0)[1].state, PortState::Interdomain);
}

TEST_F(LifecycleTest, RemoveDomainWithLoopbackAndVirqs) {
  ASSERT_EQ(allocUnbound(1, DOMID_SELF, DOMID_SELF), 1);
  ASSERT_EQ(bindInterdomain(1, DOMID_SELF, 1), 2);
  ASSERT_GT(bindVirq(1, VIRQ_TIMER, 0), 0);
  ASSERT_EQ(totalNotifies(), 1);  // the bind's conservative event
  ec_.removeDomain(1);
  ec_.raiseVirq(1, VIRQ_TIMER, 0);
  EXPECT_TRUE(ec_.listPorts(1).empty());
  EXPECT_EQ(totalNotifies(), 1);
}

TEST_F(LifecycleTest, ResetClosesEveryBoundPort) {
  auto [p1, p2] = connect(1, 2);
  int64_t timer = bindVirq(1, VIRQ_TIMER, 1);
  int64_t ipi = bindIpi(1, 0);
  ASSERT_GT(allocUnbound(1, DOMID_SELF, 2), 0);
  maskPort(1, static_cast<uint32_t>(ipi));
  ASSERT_EQ(send(1, static_cast<uint32_t>(ipi)), 0);
  evtchn_reset op{DOMID_SELF};
  ASSERT_EQ(ec_.reset(1, op), 0);
  auto ports = ec_.listPorts(1);
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].state, PortState::Reserved);
  EXPECT_EQ(statusOf(2, p2), uint32_t{EVTCHNSTAT_unbound});
  EXPECT_FALSE(testBit(si(1).evtchn_pending, static_cast<uint32_t>(ipi)));
  EXPECT_TRUE(testBit(si(1).evtchn_mask, static_cast<uint32_t>(ipi)));  // masks stay
  EXPECT_EQ(bindVirq(1, VIRQ_TIMER, 1), 1);  // the slot is free again
  EXPECT_EQ(bindInterdomain(1, 2, p2), 2);
  (void)timer;
  (void)p1;
}

TEST_F(LifecycleTest, ResetOfAnotherDomainNeedsPrivilege) {
  ASSERT_GT(allocUnbound(2, DOMID_SELF, 1), 0);
  evtchn_reset op{2};
  EXPECT_EQ(ec_.reset(1, op), -EPERM);
  EXPECT_EQ(ec_.listPorts(2).size(), 2u);
  EXPECT_EQ(ec_.reset(kDom0, op), 0);
  EXPECT_EQ(ec_.listPorts(2).size(), 1u);
  evtchn_reset unknown{99};
  EXPECT_EQ(ec_.reset(kDom0, unknown), -ESRCH);
  EXPECT_EQ(ec_.reset(99, op), -ESRCH);
  evtchn_reset empty{DOMID_SELF};
  EXPECT_EQ(ec_.reset(1, empty), 0);  // nothing bound: still fine
}

}  // namespace
}  // namespace smartvm::evtchn::test
