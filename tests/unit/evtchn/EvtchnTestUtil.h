#pragma once
// Shared fixture for the event channel tests: a machine of domains with
// heap-allocated shared_info pages, a notification counter, and an
// independent reference model of Xen's 2-level bit rules (event_2l.c).
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <utility>

#include "smartvm/evtchn/EventChannels.h"
#include "smartvm/evtchn/TwoLevelAbi.h"

namespace smartvm::evtchn::test {

/// Every event-delivery field of a shared_info page.
struct Bits {
  std::array<xen_ulong_t, 64> pending{};
  std::array<xen_ulong_t, 64> mask{};
  std::array<xen_ulong_t, XEN_LEGACY_MAX_VCPUS> sel{};
  std::array<uint8_t, XEN_LEGACY_MAX_VCPUS> upcall{};
  bool operator==(const Bits&) const = default;
};

inline Bits readBits(const shared_info_t& si) {
  Bits b;
  for (size_t i = 0; i < 64; ++i) {
    b.pending[i] = si.evtchn_pending[i];
    b.mask[i] = si.evtchn_mask[i];
  }
  for (size_t v = 0; v < XEN_LEGACY_MAX_VCPUS; ++v) {
    b.sel[v] = si.vcpu_info[v].evtchn_pending_sel;
    b.upcall[v] = si.vcpu_info[v].evtchn_upcall_pending;
  }
  return b;
}

inline void PrintTo(const Bits& b, std::ostream* os) {
  for (size_t i = 0; i < 64; ++i) {
    if (b.pending[i]) *os << " pending[" << i << "]=" << std::hex << b.pending[i] << std::dec;
    if (b.mask[i]) *os << " mask[" << i << "]=" << std::hex << b.mask[i] << std::dec;
  }
  for (size_t v = 0; v < XEN_LEGACY_MAX_VCPUS; ++v) {
    if (b.sel[v]) *os << " sel[" << v << "]=" << std::hex << b.sel[v] << std::dec;
    if (b.upcall[v]) *os << " upcall[" << v << "]=" << int(b.upcall[v]);
  }
}

/// Xen's 2-level rules, written plainly (no atomics) as the test oracle.
struct Model2l {
  Bits b;

  static bool get(const std::array<xen_ulong_t, 64>& a, uint32_t p) { return (a[p / 64] >> (p % 64)) & 1; }
  static void put(std::array<xen_ulong_t, 64>& a, uint32_t p, bool on) {
    xen_ulong_t m = xen_ulong_t{1} << (p % 64);
    a[p / 64] = on ? (a[p / 64] | m) : (a[p / 64] & ~m);
  }
  bool markVcpu(uint32_t port, uint32_t vcpu) {
    xen_ulong_t m = xen_ulong_t{1} << (port / 64);
    if (b.sel[vcpu] & m) return false;
    b.sel[vcpu] |= m;
    if (b.upcall[vcpu]) return false;
    b.upcall[vcpu] = 1;
    return true;
  }
  bool setPending(uint32_t port, uint32_t vcpu) {
    if (get(b.pending, port)) return false;
    put(b.pending, port, true);
    if (get(b.mask, port)) return false;
    return markVcpu(port, vcpu);
  }
  bool unmask(uint32_t port, uint32_t vcpu) {
    if (!get(b.mask, port)) return false;
    put(b.mask, port, false);
    if (!get(b.pending, port)) return false;
    return markVcpu(port, vcpu);
  }
  void clearPending(uint32_t port) { put(b.pending, port, false); }
};

inline void setBit(xen_ulong_t* words, uint32_t bit) { words[bit / 64] |= xen_ulong_t{1} << (bit % 64); }
inline bool testBit(const xen_ulong_t* words, uint32_t bit) { return (words[bit / 64] >> (bit % 64)) & 1; }

/// A machine of domains over EventChannels, counting notifications.
class EvtchnTest : public ::testing::Test {
 protected:
  static constexpr uint16_t kDom0 = 0;
  static constexpr uint32_t kVcpus = 4;

  void addDom(uint16_t domid, uint32_t maxPorts = EventChannels::kDefaultMaxPorts) {
    auto page = std::make_unique<shared_info_t>();
    std::memset(page.get(), 0, sizeof(shared_info_t));
    shared_info_t* raw = page.get();
    pages_[domid] = std::move(page);
    auto abi = std::make_unique<TwoLevelAbi>([raw] { return raw; });
    ASSERT_TRUE(ec_.addDomain(domid, std::move(abi), maxPorts).isOk());
  }
  shared_info_t& si(uint16_t domid) { return *pages_.at(domid); }
  Bits bits(uint16_t domid) { return readBits(si(domid)); }
  Model2l model(uint16_t domid) { return Model2l{bits(domid)}; }

  int notifies(uint16_t domid, uint32_t vcpu) {
    std::lock_guard lock(notifyMutex_);
    auto it = notifies_.find({domid, vcpu});
    return it == notifies_.end() ? 0 : it->second;
  }
  int totalNotifies() {
    std::lock_guard lock(notifyMutex_);
    int n = 0;
    for (auto& [key, count] : notifies_) n += count;
    return n;
  }

  /// alloc_unbound by `caller` in `dom` for `remote`; returns the port or -errno.
  int64_t allocUnbound(uint16_t caller, domid_t dom, domid_t remote) {
    evtchn_alloc_unbound op{dom, remote, 0xdead};
    int64_t rc = ec_.allocUnbound(caller, op);
    return rc < 0 ? rc : op.port;
  }
  int64_t bindInterdomain(uint16_t caller, domid_t remote, uint32_t rport) {
    evtchn_bind_interdomain op{remote, rport, 0xdead};
    int64_t rc = ec_.bindInterdomain(caller, op);
    return rc < 0 ? rc : op.local_port;
  }
  /// An interdomain channel: returns {port in a, port in b}.
  std::pair<uint32_t, uint32_t> connect(uint16_t a, uint16_t b) {
    int64_t pa = allocUnbound(a, DOMID_SELF, b);
    EXPECT_GT(pa, 0);
    int64_t pb = bindInterdomain(b, a, static_cast<uint32_t>(pa));
    EXPECT_GT(pb, 0);
    return {static_cast<uint32_t>(pa), static_cast<uint32_t>(pb)};
  }
  int64_t bindVirq(uint16_t caller, uint32_t virq, uint32_t vcpu) {
    evtchn_bind_virq op{virq, vcpu, 0xdead};
    int64_t rc = ec_.bindVirq(caller, op, kVcpus);
    return rc < 0 ? rc : op.port;
  }
  int64_t bindIpi(uint16_t caller, uint32_t vcpu) {
    evtchn_bind_ipi op{vcpu, 0xdead};
    int64_t rc = ec_.bindIpi(caller, op, kVcpus);
    return rc < 0 ? rc : op.port;
  }
  int64_t send(uint16_t caller, uint32_t port) {
    evtchn_send op{port};
    return ec_.send(caller, op);
  }
  int64_t closePort(uint16_t caller, uint32_t port) {
    evtchn_close op{port};
    return ec_.close(caller, op);
  }
  int64_t unmask(uint16_t caller, uint32_t port) {
    evtchn_unmask op{port};
    return ec_.unmask(caller, op);
  }
  int64_t bindVcpu(uint16_t caller, uint32_t port, uint32_t vcpu) {
    evtchn_bind_vcpu op{port, vcpu};
    return ec_.bindVcpu(caller, op, kVcpus);
  }
  /// EVTCHNOP_status; fills `out` and returns rc.
  int64_t status(uint16_t caller, domid_t dom, uint32_t port, evtchn_status& out) {
    out = {};
    out.dom = dom;
    out.port = port;
    return ec_.status(caller, out);
  }
  uint32_t statusOf(uint16_t domid, uint32_t port) {
    evtchn_status st;
    EXPECT_EQ(status(domid, DOMID_SELF, port, st), 0);
    return st.status;
  }
  void maskPort(uint16_t domid, uint32_t port) { setBit(si(domid).evtchn_mask, port); }

  std::mutex notifyMutex_;
  std::map<std::pair<uint16_t, uint32_t>, int> notifies_;
  std::map<uint16_t, std::unique_ptr<shared_info_t>> pages_;
  EventChannels ec_{[this](uint16_t domid, uint32_t vcpu) {
    std::lock_guard lock(notifyMutex_);
    ++notifies_[{domid, vcpu}];
  }};
};

}  // namespace smartvm::evtchn::test
