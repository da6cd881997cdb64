// The xenstore and console rings a domain gets at build (Domain::setUpXenRings):
// special pages at libxc's gfns, reserved in the memory map, HVM params, the
// reserved grant entries, and the console ring served by smartvm-hv through an
// internal dom0 port (XenConsole), down to ControlServer's console_write.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <xen/grant_table.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>
#include <xen/sched.h>

#include <atomic>
#include <cstring>
#include <string>

#include "HvTestUtil.h"
#include "smartvm/evtchn/HostPortAbi.h"
#include "smartvm/hv/ControlServer.h"
#include "smartvm/hv/Dom0EventChannels.h"
#include "smartvm/hv/devices/XenConsole.h"

namespace smartvm::hv {
namespace {

namespace pb = smartvm::control::v1;
using test::DomainHarness;
using test::waitUntil;

constexpr uint16_t kGuest = 7;
constexpr uint64_t kArg = 0x400000;  // guest-virtual == guest-physical under the harness
constexpr uint64_t kBuf = 0x401000;
constexpr uint64_t kStoreGfn = 0xff000 - 8 + 4;    // libxc special_pfn(SPECIALPAGE_XENSTORE)
constexpr uint64_t kConsoleGfn = 0xff000 - 8 + 7;  // libxc special_pfn(SPECIALPAGE_CONSOLE)

struct E820 {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
} __attribute__((packed));

/// What a guest's console driver does: bytes into `out`, then the producer index.
void guestWrites(xencons_interface* c, const std::string& s) {
  uint32_t prod = c->out_prod;
  for (char ch : s) c->out[MASK_XENCONS_IDX(prod++, c->out)] = ch;
  __atomic_store_n(&c->out_prod, prod, __ATOMIC_RELEASE);
}

std::string guestReads(xencons_interface* c) {
  std::string s;
  uint32_t cons = c->in_cons;
  const uint32_t prod = __atomic_load_n(&c->in_prod, __ATOMIC_ACQUIRE);
  while (cons != prod) s.push_back(c->in[MASK_XENCONS_IDX(cons++, c->in)]);
  c->in_cons = cons;
  return s;
}

class DomainRings : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(h.bootAndStart()); }

  uint64_t getParam(uint32_t index) {
    xen_hvm_param_t p{};
    p.domid = DOMID_SELF;
    p.index = index;
    p.value = 0xdead;
    h.put(kArg, p);
    EXPECT_EQ(h.hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param, kArg), 0) << index;
    return h.get<xen_hvm_param_t>(kArg).value;
  }
  xencons_interface* consolePage() {
    return reinterpret_cast<xencons_interface*>(h.domain().ram().specialPage(GuestRam::kConsolePage));
  }
  /// The guest's EVTCHNOP_send on its console port.
  void guestNotifies() {
    evtchn_send s{h.domain().xenRings().consolePort};
    ASSERT_EQ(ec.send(kGuest, s), 0);
  }
  evtchn::PortInfo port(uint16_t dom, uint32_t p) {
    for (const auto& i : ec.listPorts(dom)) {
      if (i.port == p) return i;
    }
    return {};
  }
  void clearGuestPending(uint32_t p) {
    h.domain().sharedInfo().get()->evtchn_pending[p / 64] &= ~(xen_ulong_t{1} << (p % 64));
  }
  bool historyHas(const std::string& s) { return h.domain().console().snapshot().find(s) != std::string::npos; }

  std::atomic<int> upcalls{0};
  evtchn::EventChannels ec{[this](uint16_t, uint32_t) { upcalls.fetch_add(1); }};
  Dom0EventChannels dom0{ec};
  DomainHarness h{"rings", 64, 1, kGuest, &ec, nullptr, &dom0};  // last: goes before ec and dom0
};

TEST_F(DomainRings, ParamsReadBackEqualDomainInfoAndLibxcFrames) {
  const smartvm::v1::DomainInfo info = h.domain().info();
  EXPECT_EQ(info.store_gfn(), kStoreGfn);
  EXPECT_EQ(info.console_gfn(), kConsoleGfn);
  EXPECT_NE(info.store_port(), 0u);
  EXPECT_NE(info.console_port(), 0u);
  EXPECT_NE(info.store_port(), info.console_port());
  EXPECT_EQ(getParam(HVM_PARAM_STORE_PFN), info.store_gfn());
  EXPECT_EQ(getParam(HVM_PARAM_STORE_EVTCHN), info.store_port());
  EXPECT_EQ(getParam(HVM_PARAM_CONSOLE_PFN), info.console_gfn());
  EXPECT_EQ(getParam(HVM_PARAM_CONSOLE_EVTCHN), info.console_port());

  // xl's ports: the store port unbound and offered to dom0 (xenstored binds
  // it), the console port already bound by dom0 (here: smartvm-hv itself).
  const evtchn::PortInfo store = port(kGuest, info.store_port());
  EXPECT_EQ(store.state, evtchn::PortState::Unbound);
  EXPECT_EQ(store.remoteDom, 0u);
  const evtchn::PortInfo cons = port(kGuest, info.console_port());
  EXPECT_EQ(cons.state, evtchn::PortState::Interdomain);
  EXPECT_EQ(cons.remoteDom, 0u);
  const evtchn::PortInfo back = port(0, cons.remotePort);
  EXPECT_EQ(back.state, evtchn::PortState::Interdomain);
  EXPECT_EQ(back.remoteDom, kGuest);
  EXPECT_EQ(back.remotePort, info.console_port());
  EXPECT_EQ(dom0.doorbellCount(), 0u) << "the internal port is no client doorbell";
}

TEST_F(DomainRings, PagesAreMappedInTheReservedSpecialRegionNotRam) {
  GuestRam& ram = h.domain().ram();
  EXPECT_EQ(ram.specialPageGpa(GuestRam::kStorePage), kStoreGfn << 12);
  EXPECT_EQ(ram.specialPageGpa(GuestRam::kConsolePage), kConsoleGfn << 12);
  EXPECT_FALSE(ram.isRam(kStoreGfn << 12, 4096));
  EXPECT_EQ(ram.framePtr(kConsoleGfn << 12), ram.specialPage(GuestRam::kConsolePage));
  auto vm = h.platform().vms().at(0);
  ASSERT_EQ(vm->slots.count(2 + GuestRam::kConsolePage), 1u);
  EXPECT_EQ(vm->slots[2 + GuestRam::kConsolePage].gpa, kConsoleGfn << 12);
  EXPECT_EQ(vm->slots[2 + GuestRam::kStorePage].gpa, kStoreGfn << 12);

  // XENMEM_memory_map, as libxl builds it for PVH: RAM, then the 8 special pages reserved.
  xen_memory_map_t m{};
  m.nr_entries = 8;
  set_xen_guest_handle(m.buffer, reinterpret_cast<void*>(kBuf));
  h.put(kArg, m);
  ASSERT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_memory_map, kArg), 0);
  ASSERT_EQ(h.get<xen_memory_map_t>(kArg).nr_entries, 2u);
  const E820 ramEntry = h.get<E820>(kBuf);
  const E820 reserved = h.get<E820>(kBuf + sizeof(E820));
  EXPECT_EQ(ramEntry.type, 1u);
  EXPECT_EQ(ramEntry.size, 64 * test::kMiB);
  EXPECT_EQ(reserved.addr, 0xfeff8000u);
  EXPECT_EQ(reserved.size, 8u * 4096);
  EXPECT_EQ(reserved.type, 2u) << "E820_RESERVED";
  EXPECT_LE(reserved.addr, kStoreGfn << 12);
  EXPECT_GE(reserved.addr + reserved.size, (kConsoleGfn + 1) << 12);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_maximum_ram_page), 16383) << "reserved is not RAM";

  // Nothing else may be placed over a ring page.
  xen_add_to_physmap_t x{};
  x.domid = DOMID_SELF;
  x.space = XENMAPSPACE_shared_info;
  x.gpfn = kConsoleGfn;
  h.put(kArg, x);
  EXPECT_EQ(h.hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, kArg), -EINVAL);
  EXPECT_EQ(ram.specialPageGpa(GuestRam::kConsolePage), kConsoleGfn << 12);
}

TEST_F(DomainRings, ReservedGrantEntriesGrantTheRingsToDom0) {
  GrantTable& gt = *h.domain().grantTable();
  const grant_entry_v1_t* cons = gt.entry(GNTTAB_RESERVED_CONSOLE);
  const grant_entry_v1_t* store = gt.entry(GNTTAB_RESERVED_XENSTORE);
  ASSERT_NE(cons, nullptr);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(cons->flags, GTF_permit_access);
  EXPECT_EQ(cons->domid, 0u);
  EXPECT_EQ(cons->frame, kConsoleGfn);
  EXPECT_EQ(store->flags, GTF_permit_access);
  EXPECT_EQ(store->domid, 0u);
  EXPECT_EQ(store->frame, kStoreGfn);
  EXPECT_EQ(gt.entry(2)->flags, 0u) << "nothing else seeded";

  // xenstored's map of grant ref 1 reaches the xenstore page.
  uint64_t gfn = 0;
  ASSERT_EQ(gt.acquire(GNTTAB_RESERVED_XENSTORE, 0, false, true, gfn), GNTST_okay);
  EXPECT_EQ(gfn, kStoreGfn);
  EXPECT_EQ(gt.ramFrame(gfn), h.domain().ram().specialPage(GuestRam::kStorePage));
  gt.release(GNTTAB_RESERVED_XENSTORE, false);
  EXPECT_EQ(store->flags, GTF_permit_access) << "pin flags cleared again";
}

TEST_F(DomainRings, GuestOutputReachesTheConsoleHistory) {
  const uint32_t p = h.domain().xenRings().consolePort;
  clearGuestPending(p);
  guestWrites(consolePage(), "hello from the ring\n");
  guestNotifies();
  ASSERT_TRUE(waitUntil([&] { return historyHas("hello from the ring\n"); })) << h.domain().console().snapshot();
  EXPECT_EQ(consolePage()->out_cons, consolePage()->out_prod) << "consumed";
  EXPECT_TRUE(waitUntil([&] { return ec.pollPending(kGuest, p) == 1; })) << "the guest is told its output was taken";

  // Across the ring's wrap, and console_io output shares the same history.
  std::string big(3000, 'x');
  for (size_t done = 0; done < big.size(); done += 1000) {
    guestWrites(consolePage(), big.substr(done, 1000));
    guestNotifies();
    ASSERT_TRUE(waitUntil([&] { return consolePage()->out_cons == consolePage()->out_prod; }));
  }
  EXPECT_TRUE(historyHas("hello from the ring\n" + big));
}

TEST_F(DomainRings, ConsoleInputLandsInTheInHalfAndNotifiesTheGuest) {
  const uint32_t p = h.domain().xenRings().consolePort;
  clearGuestPending(p);
  ASSERT_EQ(ec.pollPending(kGuest, p), 0);
  auto n = h.domain().consoleInput("ls -l\n");
  ASSERT_TRUE(n.isOk()) << n.status().toString();
  EXPECT_EQ(*n, 6u);
  EXPECT_EQ(consolePage()->in_prod, 6u);
  EXPECT_EQ(ec.pollPending(kGuest, p), 1);
  EXPECT_EQ(guestReads(consolePage()), "ls -l\n");

  clearGuestPending(p);
  const std::string big(1500, 'k');
  n = h.domain().consoleInput(big);
  ASSERT_TRUE(n.isOk());
  EXPECT_EQ(*n, 1024u) << "as much as the in ring holds";
  n = h.domain().consoleInput("more");
  ASSERT_TRUE(n.isOk());
  EXPECT_EQ(*n, 0u) << "full";
  EXPECT_EQ(guestReads(consolePage()), std::string(1024, 'k'));
}

TEST_F(DomainRings, HostileIndexesAreIgnored) {
  xencons_interface* c = consolePage();
  const std::string before = h.domain().console().snapshot();
  c->out_cons = 100;
  c->out_prod = 100 + 5000;  // more than the 2048-byte ring
  std::memset(c->out, '!', sizeof(c->out));
  guestNotifies();
  c->in_prod = 7;
  c->in_cons = 7 + 4096;  // "consumed" past what was produced
  auto n = h.domain().consoleInput("abc");
  ASSERT_TRUE(n.isOk());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(c->in_prod, 7u) << "nothing written";

  // The guest repairs its indexes: the ring works again; the bogus bytes never showed.
  c->in_cons = 7;
  n = h.domain().consoleInput("abc");
  ASSERT_TRUE(n.isOk());
  EXPECT_EQ(*n, 3u);
  c->out_prod = 100;  // empty again, then real output
  guestWrites(c, "recovered\n");
  guestNotifies();
  ASSERT_TRUE(waitUntil([&] { return historyHas("recovered\n"); }));
  EXPECT_EQ(h.domain().console().snapshot().find('!'), std::string::npos);
  EXPECT_EQ(c->out_cons, 100u + 10u);
}

TEST_F(DomainRings, ShutdownTakesTheGuestsLastWordsFirst) {
  guestWrites(consolePage(), "last words\n");  // and no notification: the guest died at once
  h.domain().shutdown(SHUTDOWN_crash);
  EXPECT_TRUE(historyHas("last words\n")) << "in the history as the shutdown is reported";
}

TEST_F(DomainRings, RestartRecreatesPagesPortsParamsAndGrants) {
  const XenRings first = h.domain().xenRings();
  // Leftovers the restart must wipe (bytes only: out_prod stays, so nothing drains them).
  std::memset(consolePage()->out, 'j', sizeof(consolePage()->out));
  consolePage()->in_cons = 12345;
  h.domain().shutdown(SHUTDOWN_reboot);
  ASSERT_TRUE(h.domain().restart().isOk());
  ASSERT_TRUE(waitUntil([&] { return h.domain().vcpu(0)->runState() == VcpuRunState::Parked; }));
  h.setLongMode();

  const smartvm::v1::DomainInfo info = h.domain().info();
  EXPECT_EQ(info.restarts(), 1u);
  EXPECT_EQ(info.store_gfn(), kStoreGfn);
  EXPECT_EQ(info.console_gfn(), kConsoleGfn);
  EXPECT_EQ(getParam(HVM_PARAM_STORE_PFN), kStoreGfn);
  EXPECT_EQ(getParam(HVM_PARAM_STORE_EVTCHN), info.store_port());
  EXPECT_EQ(getParam(HVM_PARAM_CONSOLE_EVTCHN), info.console_port());
  EXPECT_EQ(port(kGuest, info.store_port()).state, evtchn::PortState::Unbound);
  EXPECT_EQ(port(kGuest, info.console_port()).state, evtchn::PortState::Interdomain);
  size_t dom0Bound = 0;
  for (const auto& i : ec.listPorts(0)) dom0Bound += i.state == evtchn::PortState::Interdomain;
  EXPECT_EQ(dom0Bound, 1u) << "the old internal dom0 port was closed, one new one";
  EXPECT_EQ(first.consoleGfn, info.console_gfn());
  EXPECT_EQ(h.domain().ram().specialPageGpa(GuestRam::kStorePage), kStoreGfn << 12);
  EXPECT_EQ(consolePage()->out[0], 0) << "a fresh page";
  EXPECT_EQ(consolePage()->in_cons, 0u);
  const grant_entry_v1_t* store = h.domain().grantTable()->entry(GNTTAB_RESERVED_XENSTORE);
  EXPECT_EQ(store->flags, GTF_permit_access);
  EXPECT_EQ(store->frame, kStoreGfn);

  guestWrites(consolePage(), "after restart\n");
  guestNotifies();
  ASSERT_TRUE(waitUntil([&] { return historyHas("after restart\n"); }));
  EXPECT_FALSE(historyHas("jjjj"));
  auto n = h.domain().consoleInput("x");
  ASSERT_TRUE(n.isOk());
  EXPECT_EQ(*n, 1u);
}

TEST(XenRingsWithoutDom0, ConsolePortIsOfferedButNotServed) {
  evtchn::EventChannels ec{[](uint16_t, uint32_t) {}};
  DomainHarness h("plain", 64, 1, kGuest, &ec);
  ASSERT_TRUE(h.bootAndStart());
  const XenRings r = h.domain().xenRings();
  EXPECT_EQ(r.consoleGfn, kConsoleGfn);
  EXPECT_NE(r.consolePort, 0u);
  bool unbound = false;
  for (const auto& p : ec.listPorts(kGuest)) {
    unbound |= p.port == r.consolePort && p.state == evtchn::PortState::Unbound;
  }
  EXPECT_TRUE(unbound) << "left for a dom0 console daemon to bind";
  auto n = h.domain().consoleInput("x");
  ASSERT_FALSE(n.isOk());
  EXPECT_EQ(n.status().code(), ENODEV);
}

// XenConsole alone, against a guest whose ports are eventfds (HostPortAbi).
TEST(XenConsoleTest, CountsBogusIndexesAndClosesItsPort) {
  evtchn::EventChannels ec{[](uint16_t, uint32_t) {}};
  Dom0EventChannels dom0{ec};
  ASSERT_TRUE(ec.addDomain(9, std::make_unique<evtchn::HostPortAbi>()).isOk());
  evtchn_alloc_unbound a{DOMID_SELF, 0, 0};
  ASSERT_EQ(ec.allocUnbound(9, a), 0);
  xencons_interface page{};
  auto history = std::make_shared<ConsoleBuffer>();
  auto c = XenConsole::attach(dom0, 9, a.port, &page, history, *spdlog::default_logger());
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  page.out_prod = 3000;  // out_cons 0: more than a ring ahead
  evtchn_send s{a.port};
  ASSERT_EQ(ec.send(9, s), 0);
  // >= 1: the notification Xen raises on binding may drain (and count) once more.
  ASSERT_TRUE(waitUntil([&] { return (*c)->bogusIndexes() >= 1; }));
  EXPECT_EQ(page.out_cons, 0u);
  EXPECT_EQ(history->endOffset(), 0u);

  const uint32_t dom0Port = (*c)->dom0Port();
  EXPECT_EQ(ec.pollPending(0, dom0Port), 0) << "the watcher read the notification";
  c->reset();
  evtchn_status st{};
  st.dom = 0;
  st.port = dom0Port;
  ASSERT_EQ(ec.status(0, st), 0);
  EXPECT_EQ(st.status, EVTCHNSTAT_closed);
  EXPECT_EQ(ec.send(9, s), 0) << "the guest's end is unbound again; sending is a no-op";
  EXPECT_EQ(dom0.sendInternal(dom0Port).code(), ENOTCONN);
}

// console_write over the control protocol, on a Hypervisor-built domain.
TEST(XenRingsControl, ConsoleWriteAndDomainInfo) {
  test::TempFile kernel{test::tinyPvhKernel()};
  test::FakePlatform platform;
  Hypervisor hv{platform, HypervisorOptions{}};
  ControlServer server{hv, "fake kvm", nullptr};
  auto cfg = test::makeConfig("cons", kernel.path(), 32);
  cfg.set_start_paused(true);
  auto created = hv.createDomain(cfg);
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  const uint32_t domid = created->domid();
  EXPECT_EQ(created->console_gfn(), kConsoleGfn);
  EXPECT_EQ(created->store_gfn(), kStoreGfn);
  auto d = hv.find(domid);
  EXPECT_EQ(created->console_port(), d->hvmParam(HVM_PARAM_CONSOLE_EVTCHN));
  EXPECT_EQ(created->store_port(), d->hvmParam(HVM_PARAM_STORE_EVTCHN));

  pb::Request req;
  req.set_id(5);
  req.mutable_console_write()->set_domid(domid);
  req.mutable_console_write()->set_data("root\n");
  pb::Response r = server.handle(req);
  ASSERT_EQ(r.error_code(), 0) << r.error();
  EXPECT_EQ(r.console_written().written(), 5u);
  auto* page = reinterpret_cast<xencons_interface*>(d->ram().specialPage(GuestRam::kConsolePage));
  EXPECT_EQ(guestReads(page), "root\n");
  EXPECT_EQ(hv.eventChannels().pollPending(static_cast<uint16_t>(domid), created->console_port()), 1);

  req.mutable_console_write()->set_domid(999);
  r = server.handle(req);
  EXPECT_EQ(r.error_code(), ESRCH);
  req.mutable_console_write()->set_domid(0);
  r = server.handle(req);
  EXPECT_EQ(r.error_code(), ESRCH) << "domain 0 has no console ring here";

  // The ring's output shows in the console history ReadConsole serves.
  guestWrites(page, "login: ");
  evtchn_send s{created->console_port()};
  ASSERT_EQ(hv.eventChannels().send(static_cast<uint16_t>(domid), s), 0);
  ASSERT_TRUE(waitUntil([&] { return d->console().snapshot().find("login: ") != std::string::npos; }));
  pb::Request read;
  read.mutable_console_read()->set_domid(domid);
  r = server.handle(read);
  ASSERT_EQ(r.error_code(), 0) << r.error();
  EXPECT_NE(r.console().data().find("login: "), std::string::npos);
  ASSERT_TRUE(hv.destroy(domid).isOk());
}

}  // namespace
}  // namespace smartvm::hv
