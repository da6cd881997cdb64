// `smartvm evtchn-list`'s table and the VIRQ names.
#include <gtest/gtest.h>

#include "smartvm/dom0/cli/EventChannelFormat.h"

namespace smartvm::dom0 {
namespace {

v1::EventChannel port(uint32_t n, v1::EventChannelState state) {
  v1::EventChannel p;
  p.set_port(n);
  p.set_state(state);
  return p;
}

TEST(EventChannelFormat, OneRowPerPortWithTargetByState) {
  std::vector<v1::EventChannel> ports;
  ports.push_back(port(0, v1::EVENT_CHANNEL_STATE_RESERVED));
  auto& inter = ports.emplace_back(port(1, v1::EVENT_CHANNEL_STATE_INTERDOMAIN));
  inter.set_remote_domid(0);
  inter.set_remote_port(5);
  inter.set_pending(true);
  auto& unbound = ports.emplace_back(port(2, v1::EVENT_CHANNEL_STATE_UNBOUND));
  unbound.set_remote_domid(3);
  auto& virq = ports.emplace_back(port(3, v1::EVENT_CHANNEL_STATE_VIRQ));
  virq.set_virq(1);
  virq.set_notify_vcpu(2);
  virq.set_masked(true);
  auto& ipi = ports.emplace_back(port(4095, v1::EVENT_CHANNEL_STATE_IPI));
  ipi.set_notify_vcpu(1);
  EXPECT_EQ(formatEventChannels(ports),
            " Port  State        Target                   vCPU  Pending  Masked\n"
            "    0  reserved     -                           0        0       0\n"
            "    1  interdomain  dom 0 port 5                0        1       0\n"
            "    2  unbound      dom 3                       0        0       0\n"
            "    3  virq         VIRQ_DEBUG (1)              2        0       1\n"
            " 4095  ipi          -                           1        0       0\n");
}

TEST(EventChannelFormat, EmptyListIsTheHeaderOnly) {
  EXPECT_EQ(formatEventChannels({}), " Port  State        Target                   vCPU  Pending  Masked\n");
}

TEST(EventChannelFormat, VirqNamesFollowXen) {
  EXPECT_EQ(virqName(0), "VIRQ_TIMER");
  EXPECT_EQ(virqName(3), "VIRQ_DOM_EXC");
  EXPECT_EQ(virqName(13), "VIRQ_XENPMU");
  EXPECT_EQ(virqName(16), "VIRQ_MCA");
  EXPECT_EQ(virqName(5), "VIRQ 5");
  EXPECT_EQ(virqName(4000000000u), "VIRQ 4000000000");
  EXPECT_EQ(eventChannelStateName(v1::EVENT_CHANNEL_STATE_UNSPECIFIED), "unknown");
  EXPECT_EQ(eventChannelStateName(v1::EVENT_CHANNEL_STATE_CLOSED), "closed");
}

}  // namespace
}  // namespace smartvm::dom0
