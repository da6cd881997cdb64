// event_channel_op through the real dispatch path: guest structs in and out of
// guest memory, the machine's EventChannels, and upcall delivery as an MSI.
#include <cstdint>  // before Xen headers
#include <gtest/gtest.h>
#include <xen/event_channel.h>
#include <xen/hvm/params.h>

#include "FakeBackend.h"
#include "HvTestUtil.h"
#include "smartvm/evtchn/TwoLevelAbi.h"

namespace smartvm::hv {
namespace {

using test::DomainHarness;

constexpr uint64_t kArg = 0x400000;
constexpr uint64_t kVector = (uint64_t{HVM_PARAM_CALLBACK_TYPE_VECTOR} << 56) | 0xf3;

class EventChannelOp : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(h.bootAndStart());
    std::memset(h.gpa(kArg, 4096), 0, 4096);
  }
  int64_t op(int cmd) { return h.hypercall(__HYPERVISOR_event_channel_op, cmd, kArg); }
  size_t msis() {
    auto rec = h.platform().vms().back();
    std::lock_guard lk(rec->m);
    return rec->msis.size();
  }
  shared_info_t* si() { return h.domain().sharedInfo().get(); }

  std::vector<std::pair<uint16_t, uint32_t>> notified;
  evtchn::EventChannels ec{[this](uint16_t domid, uint32_t vcpu) {
    notified.emplace_back(domid, vcpu);
    (void)h.domain().raiseUpcall(vcpu);
  }};
  DomainHarness h{"evtchn", 64, 1, 7, &ec};
};

TEST_F(EventChannelOp, BindIpiSendDeliversAnUpcall) {
  h.domain().setHvmParam(HVM_PARAM_CALLBACK_IRQ, kVector);
  evtchn_bind_ipi_t ipi{};
  ipi.vcpu = 0;
  h.put(kArg, ipi);
  ASSERT_EQ(op(EVTCHNOP_bind_ipi), 0);
  const auto bound = h.get<evtchn_bind_ipi_t>(kArg);
  ASSERT_GT(bound.port, 0u) << "port 0 is reserved";

  si()->vcpu_info[0].evtchn_upcall_mask = 0;
  evtchn_send_t send{bound.port};
  h.put(kArg, send);
  ASSERT_EQ(op(EVTCHNOP_send), 0);
  EXPECT_TRUE(si()->evtchn_pending[bound.port / 64] & (xen_ulong_t{1} << (bound.port % 64)));
  EXPECT_EQ(si()->vcpu_info[0].evtchn_upcall_pending, 1);
  EXPECT_EQ(notified, (std::vector<std::pair<uint16_t, uint32_t>>{{7, 0}}));
  EXPECT_EQ(msis(), 1u) << "one MSI to the callback vector";

  ASSERT_EQ(op(EVTCHNOP_send), 0);  // already pending: no second upcall
  EXPECT_EQ(msis(), 1u);
}

TEST_F(EventChannelOp, AllocUnboundWritesThePortBackAndStatusReadsIt) {
  evtchn_alloc_unbound_t a{};
  a.dom = DOMID_SELF;
  a.remote_dom = 0;
  h.put(kArg, a);
  ASSERT_EQ(op(EVTCHNOP_alloc_unbound), 0);
  const uint32_t port = h.get<evtchn_alloc_unbound_t>(kArg).port;
  ASSERT_GT(port, 0u);

  evtchn_status_t st{};
  st.dom = DOMID_SELF;
  st.port = port;
  h.put(kArg, st);
  ASSERT_EQ(op(EVTCHNOP_status), 0);
  const auto out = h.get<evtchn_status_t>(kArg);
  EXPECT_EQ(out.status, EVTCHNSTAT_unbound);
  EXPECT_EQ(out.u.unbound.dom, 0);
}

TEST_F(EventChannelOp, HostileArgumentsGetXenErrors) {
  EXPECT_EQ(h.hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_send, 0xdead000000000ull), -EFAULT);
  evtchn_send_t send{0xffffffffu};
  h.put(kArg, send);
  EXPECT_EQ(op(EVTCHNOP_send), -EINVAL);
  evtchn_alloc_unbound_t a{};
  a.dom = 3;  // no such domain: Xen looks it up before checking privilege
  h.put(kArg, a);
  EXPECT_EQ(op(EVTCHNOP_alloc_unbound), -ESRCH);
  auto other = std::make_unique<shared_info_t>();
  ASSERT_TRUE(ec.addDomain(3, std::make_unique<evtchn::TwoLevelAbi>([p = other.get()] { return p; })).isOk());
  h.put(kArg, a);
  EXPECT_EQ(op(EVTCHNOP_alloc_unbound), -EPERM) << "a domU may not allocate in another domain";
  ec.removeDomain(3);
  EXPECT_EQ(op(EVTCHNOP_init_control), -ENOSYS) << "FIFO ABI not offered";
  EXPECT_EQ(op(1000), -ENOSYS);
  EXPECT_EQ(msis(), 0u);
}

TEST_F(EventChannelOp, TeardownUnregistersTheDomain) {
  EXPECT_TRUE(ec.hasDomain(7));
  h.domain().teardown();
  EXPECT_FALSE(ec.hasDomain(7));
}

}  // namespace
}  // namespace smartvm::hv
