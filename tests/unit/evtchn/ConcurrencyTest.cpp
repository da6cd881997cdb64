// Thread-safety smoke test: senders race a thread that binds and closes.
#include <atomic>
#include <thread>

#include "EvtchnTestUtil.h"
#include "GuestConsumer.h"

namespace smartvm::evtchn::test {
namespace {

TEST_F(EvtchnTest, SendersRaceBindAndClose) {
  addDom(kDom0);
  addDom(1);
  addDom(2);
  auto [a1, a2] = connect(1, 2);
  auto [b0, b1] = connect(kDom0, 1);
  std::atomic<bool> stop{false};
  // Each sender plays the receiving guest too, from its own thread.
  auto sender = [&](uint16_t dom, uint32_t port, uint16_t receiver) {
    while (!stop.load()) {
      ASSERT_EQ(send(dom, port), 0);
      consumeEvents(si(receiver), 0);
    }
  };
  std::thread t1(sender, 1, a1, 2);
  std::thread t2(sender, kDom0, b0, 1);
  for (int i = 0; i < 3000; ++i) {
    auto [c1, c2] = connect(2, 1);
    ASSERT_EQ(send(1, c2), 0);
    ASSERT_EQ(closePort(i % 2 ? 1 : 2, i % 2 ? c2 : c1), 0);
    ASSERT_EQ(closePort(i % 2 ? 2 : 1, i % 2 ? c1 : c2), 0);
    int64_t ipi = bindIpi(2, static_cast<uint32_t>(i) % kVcpus);
    ASSERT_EQ(send(2, static_cast<uint32_t>(ipi)), 0);
    ASSERT_EQ(closePort(2, static_cast<uint32_t>(ipi)), 0);
  }
  stop = true;
  t1.join();
  t2.join();
  EXPECT_EQ(statusOf(1, a1), uint32_t{EVTCHNSTAT_interdomain});
  EXPECT_EQ(statusOf(1, b1), uint32_t{EVTCHNSTAT_interdomain});
  EXPECT_EQ(ec_.listPorts(2).size(), 2u);
  EXPECT_GT(totalNotifies(), 0);
}

TEST_F(EvtchnTest, NotifyMayCallBackIn) {
  addDom(1);
  std::vector<PortInfo> seen;
  EventChannels* self = nullptr;
  EventChannels ec{[&](uint16_t domid, uint32_t) { seen = self->listPorts(domid); }};
  self = &ec;
  shared_info_t* page = &si(1);
  ASSERT_TRUE(ec.addDomain(1, std::make_unique<TwoLevelAbi>([page] { return page; })).isOk());
  evtchn_bind_ipi ipi{0, 0};
  ASSERT_EQ(ec.bindIpi(1, ipi, 1), 0);
  evtchn_send op{ipi.port};
  ASSERT_EQ(ec.send(1, op), 0);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[1].pending);
}

}  // namespace
}  // namespace smartvm::evtchn::test
