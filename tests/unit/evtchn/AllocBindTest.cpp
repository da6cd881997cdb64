// EVTCHNOP_alloc_unbound, bind_interdomain, bind_virq, bind_ipi, bind_vcpu:
// success paths and Xen's exact error codes.
#include "EvtchnTestUtil.h"

namespace smartvm::evtchn::test {
namespace {

class AllocBindTest : public EvtchnTest {
 protected:
  void SetUp() override {
    addDom(kDom0);
    addDom(1);
    addDom(2);
  }
};

TEST_F(AllocBindTest, AddDomainRejectsBadArguments) {
  auto abi = [] { return std::make_unique<TwoLevelAbi>([] { return static_cast<shared_info_t*>(nullptr); }); };
  EXPECT_EQ(ec_.addDomain(1, abi()).code(), EEXIST);
  EXPECT_EQ(ec_.addDomain(DOMID_SELF, abi()).code(), EINVAL);
  EXPECT_EQ(ec_.addDomain(0x7fff, abi()).code(), EINVAL);
  EXPECT_EQ(ec_.addDomain(9, nullptr).code(), EINVAL);
  EXPECT_EQ(ec_.addDomain(9, abi(), 0).code(), EINVAL);
  EXPECT_TRUE(ec_.addDomain(9, abi(), 1).isOk());
  EXPECT_TRUE(ec_.hasDomain(9));
  EXPECT_EQ(allocUnbound(9, DOMID_SELF, 0), -ENOSPC);  // only the reserved port 0
}

TEST_F(AllocBindTest, AllocUnboundTakesLowestFreePort) {
  EXPECT_EQ(allocUnbound(1, DOMID_SELF, 0), 1);
  EXPECT_EQ(allocUnbound(1, 1, DOMID_SELF), 2);
  EXPECT_EQ(allocUnbound(1, DOMID_SELF, 2), 3);
  ASSERT_EQ(closePort(1, 2), 0);
  EXPECT_EQ(allocUnbound(1, DOMID_SELF, 0), 2);
  evtchn_status st;
  ASSERT_EQ(status(1, DOMID_SELF, 3, st), 0);
  EXPECT_EQ(st.status, EVTCHNSTAT_unbound);
  EXPECT_EQ(st.u.unbound.dom, 2);
  EXPECT_EQ(st.vcpu, 0u);
}

TEST_F(AllocBindTest, RemoteDomidSelfMeansTheCaller) {
  int64_t port = allocUnbound(kDom0, 2, DOMID_SELF);  // Xen: current domain, not dom
  ASSERT_GT(port, 0);
  evtchn_status st;
  ASSERT_EQ(status(kDom0, 2, static_cast<uint32_t>(port), st), 0);
  EXPECT_EQ(st.u.unbound.dom, kDom0);
}

TEST_F(AllocBindTest, AllocUnboundInAnotherDomainNeedsPrivilege) {
  EXPECT_EQ(allocUnbound(1, 2, 1), -EPERM);
  EXPECT_EQ(allocUnbound(1, kDom0, 1), -EPERM);
  EXPECT_EQ(allocUnbound(kDom0, 1, 2), 1);
  EXPECT_EQ(allocUnbound(kDom0, 77, 1), -ESRCH);
  EXPECT_EQ(allocUnbound(1, 77, 1), -ESRCH);
  EXPECT_EQ(allocUnbound(77, DOMID_SELF, 1), -ESRCH);  // unknown caller
  EXPECT_TRUE(ec_.listPorts(2).size() == 1);  // only the reserved port
}

TEST_F(AllocBindTest, FullDomainAnswersEnospcBeforeEperm) {
  addDom(3, 3);
  EXPECT_EQ(allocUnbound(3, DOMID_SELF, 0), 1);
  EXPECT_EQ(allocUnbound(3, DOMID_SELF, 0), 2);
  EXPECT_EQ(allocUnbound(3, DOMID_SELF, 0), -ENOSPC);
  EXPECT_EQ(allocUnbound(1, 3, 1), -ENOSPC);  // Xen's get_free_port runs before XSM
  EXPECT_EQ(bindIpi(3, 0), -ENOSPC);
  EXPECT_EQ(bindVirq(3, VIRQ_TIMER, 0), -ENOSPC);
}

TEST_F(AllocBindTest, MaxPortsIsClampedToTheAbi) {
  addDom(4, 100000);
  for (uint32_t i = 1; i < 4096; ++i) ASSERT_EQ(allocUnbound(4, DOMID_SELF, 0), i);
  EXPECT_EQ(allocUnbound(4, DOMID_SELF, 0), -ENOSPC);
}

TEST_F(AllocBindTest, BindInterdomainConnectsBothEnds) {
  int64_t rport = allocUnbound(1, DOMID_SELF, 2);
  ASSERT_EQ(rport, 1);
  Model2l m1 = model(1), m2 = model(2);
  int64_t lport = bindInterdomain(2, 1, 1);
  ASSERT_EQ(lport, 1);
  evtchn_status st;
  ASSERT_EQ(status(2, DOMID_SELF, 1, st), 0);
  EXPECT_EQ(st.status, EVTCHNSTAT_interdomain);
  EXPECT_EQ(st.u.interdomain.dom, 1);
  EXPECT_EQ(st.u.interdomain.port, 1u);
  ASSERT_EQ(status(1, DOMID_SELF, 1, st), 0);
  EXPECT_EQ(st.status, EVTCHNSTAT_interdomain);
  EXPECT_EQ(st.u.interdomain.dom, 2);
  // Xen conservatively marks the binder's new port pending.
  EXPECT_TRUE(m2.setPending(1, 0));
  EXPECT_EQ(bits(2), m2.b);
  EXPECT_EQ(bits(1), m1.b);
  EXPECT_EQ(notifies(2, 0), 1);
  EXPECT_EQ(totalNotifies(), 1);
}

TEST_F(AllocBindTest, BindInterdomainOnMaskedPortDoesNotNotify) {
  ASSERT_EQ(allocUnbound(1, DOMID_SELF, 2), 1);
  maskPort(2, 1);
  ASSERT_EQ(bindInterdomain(2, 1, 1), 1);
  EXPECT_TRUE(testBit(si(2).evtchn_pending, 1));
  EXPECT_EQ(totalNotifies(), 0);
}

TEST_F(AllocBindTest, BindInterdomainRefusesPortsNotOfferedToTheCaller) {
  ASSERT_EQ(allocUnbound(1, DOMID_SELF, 2), 1);       // offered to 2
  EXPECT_EQ(bindInterdomain(kDom0, 1, 1), -EINVAL);   // even dom0 may not take it
  EXPECT_EQ(bindInterdomain(1, DOMID_SELF, 1), -EINVAL);
  EXPECT_EQ(bindInterdomain(2, 1, 0), -EINVAL);        // reserved
  EXPECT_EQ(bindInterdomain(2, 1, 5), -EINVAL);        // free
  EXPECT_EQ(bindInterdomain(2, 1, 64), -EINVAL);       // past the valid bucket
  EXPECT_EQ(bindInterdomain(2, 1, 4096), -EINVAL);
  EXPECT_EQ(bindInterdomain(2, 1, 0xffffffffu), -EINVAL);
  EXPECT_EQ(bindInterdomain(2, 1, static_cast<uint32_t>(-2)), -EINVAL);
  EXPECT_EQ(bindInterdomain(2, 99, 1), -ESRCH);
  EXPECT_EQ(bindInterdomain(99, 1, 1), -ESRCH);
  ASSERT_EQ(bindInterdomain(2, 1, 1), 1);
  EXPECT_EQ(bindInterdomain(2, 1, 1), -EINVAL);        // already connected
  EXPECT_EQ(ec_.listPorts(2).size(), 2u);              // failed binds left no port behind
  EXPECT_EQ(ec_.listPorts(kDom0).size(), 1u);
}

TEST_F(AllocBindTest, BindInterdomainWithFullCallerIsEnospc) {
  addDom(3, 2);
  ASSERT_EQ(allocUnbound(3, DOMID_SELF, 0), 1);
  int64_t offered = allocUnbound(1, DOMID_SELF, 3);
  EXPECT_EQ(bindInterdomain(3, 1, static_cast<uint32_t>(offered)), -ENOSPC);
  EXPECT_EQ(bindInterdomain(3, 1, 0xffffffffu), -ENOSPC);  // Xen allocates first
}

TEST_F(AllocBindTest, LoopbackChannelWithinOneDomain) {
  ASSERT_EQ(allocUnbound(1, DOMID_SELF, DOMID_SELF), 1);
  ASSERT_EQ(bindInterdomain(1, DOMID_SELF, 1), 2);
  evtchn_status st;
  ASSERT_EQ(status(1, DOMID_SELF, 2, st), 0);
  EXPECT_EQ(st.u.interdomain.dom, 1);
  EXPECT_EQ(st.u.interdomain.port, 1u);
}

TEST_F(AllocBindTest, BindVirqPerVcpuAndGlobal) {
  EXPECT_EQ(bindVirq(1, VIRQ_TIMER, 1), 1);
  EXPECT_EQ(bindVirq(1, VIRQ_TIMER, 1), -EEXIST);
  EXPECT_EQ(bindVirq(1, VIRQ_TIMER, 0), 2);
  EXPECT_EQ(bindVirq(1, VIRQ_DEBUG, 3), 3);
  EXPECT_EQ(bindVirq(1, VIRQ_DOM_EXC, 1), -EINVAL);  // global VIRQs bind on vCPU 0
  EXPECT_EQ(bindVirq(1, VIRQ_DOM_EXC, 0), 4);
  EXPECT_EQ(bindVirq(1, VIRQ_DOM_EXC, 0), -EEXIST);
  EXPECT_EQ(bindVirq(1, VIRQ_ARCH_0, 0), 5);
  evtchn_status st;
  ASSERT_EQ(status(1, DOMID_SELF, 1, st), 0);
  EXPECT_EQ(st.status, EVTCHNSTAT_virq);
  EXPECT_EQ(st.u.virq, uint32_t{VIRQ_TIMER});
  EXPECT_EQ(st.vcpu, 1u);
}

TEST_F(AllocBindTest, BindVirqErrors) {
  EXPECT_EQ(bindVirq(1, NR_VIRQS, 0), -EINVAL);
  EXPECT_EQ(bindVirq(1, 0xffffffffu, 0), -EINVAL);
  EXPECT_EQ(bindVirq(1, 0x80000000u, 0), -EINVAL);
  EXPECT_EQ(bindVirq(1, VIRQ_TIMER, kVcpus), -ENOENT);
  EXPECT_EQ(bindVirq(1, VIRQ_TIMER, 0xffffffffu), -ENOENT);
  EXPECT_EQ(bindVirq(1, VIRQ_CONSOLE, 0xffffffffu), -EINVAL);  // global check first
  EXPECT_EQ(bindVirq(99, VIRQ_TIMER, 0), -ESRCH);
  EXPECT_EQ(ec_.listPorts(1).size(), 1u);
}

TEST_F(AllocBindTest, BindIpi) {
  EXPECT_EQ(bindIpi(1, 2), 1);
  EXPECT_EQ(bindIpi(1, 2), 2);  // several IPI ports per vCPU are fine
  EXPECT_EQ(bindIpi(1, kVcpus), -ENOENT);
  EXPECT_EQ(bindIpi(1, 0xffffffffu), -ENOENT);
  EXPECT_EQ(bindIpi(99, 0), -ESRCH);
  evtchn_status st;
  ASSERT_EQ(status(1, DOMID_SELF, 1, st), 0);
  EXPECT_EQ(st.status, EVTCHNSTAT_ipi);
  EXPECT_EQ(st.vcpu, 2u);
}

TEST_F(AllocBindTest, BindVcpuFollowsXensStateRules) {
  auto [p1, p2] = connect(1, 2);
  int64_t unbound = allocUnbound(1, DOMID_SELF, 2);
  int64_t timer = bindVirq(1, VIRQ_TIMER, 0);
  int64_t domExc = bindVirq(1, VIRQ_DOM_EXC, 0);
  int64_t ipi = bindIpi(1, 0);
  EXPECT_EQ(bindVcpu(1, p1, 3), 0);
  EXPECT_EQ(bindVcpu(1, static_cast<uint32_t>(unbound), 2), 0);
  EXPECT_EQ(bindVcpu(1, static_cast<uint32_t>(domExc), 1), 0);
  EXPECT_EQ(bindVcpu(1, static_cast<uint32_t>(timer), 1), -EINVAL);
  EXPECT_EQ(bindVcpu(1, static_cast<uint32_t>(ipi), 1), -EINVAL);
  EXPECT_EQ(bindVcpu(1, 0, 1), -EINVAL);          // reserved
  EXPECT_EQ(bindVcpu(1, 40, 1), -EINVAL);         // free
  EXPECT_EQ(bindVcpu(1, 64, 1), -EINVAL);         // not valid
  EXPECT_EQ(bindVcpu(1, 0xffffffffu, 1), -EINVAL);
  EXPECT_EQ(bindVcpu(1, 0xffffffffu, kVcpus), -ENOENT);  // vCPU checked first
  EXPECT_EQ(bindVcpu(1, p1, 0xffffffffu), -ENOENT);
  EXPECT_EQ(bindVcpu(99, p1, 0), -ESRCH);
  evtchn_status st;
  ASSERT_EQ(status(1, DOMID_SELF, p1, st), 0);
  EXPECT_EQ(st.vcpu, 3u);
  ASSERT_EQ(status(1, DOMID_SELF, static_cast<uint32_t>(domExc), st), 0);
  EXPECT_EQ(st.vcpu, 1u);
  (void)p2;
}

}  // namespace
}  // namespace smartvm::evtchn::test
