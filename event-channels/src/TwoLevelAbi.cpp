#include "smartvm/evtchn/TwoLevelAbi.h"

#include <atomic>
#include <utility>

namespace smartvm::evtchn {
namespace {

// Guest memory is shared with running vCPUs, so every bit is changed with a
// locked read-modify-write (seq_cst), like Xen's guest_test_and_set_bit; on
// x86 those double as the full barriers event_2l.c relies on for ordering.
bool testAndSet(xen_ulong_t* words, uint32_t bit) {
  xen_ulong_t m = xen_ulong_t{1} << (bit % TwoLevelAbi::kBitsPerWord);
  return (std::atomic_ref(words[bit / TwoLevelAbi::kBitsPerWord]).fetch_or(m) & m) != 0;
}

bool testAndClear(xen_ulong_t* words, uint32_t bit) {
  xen_ulong_t m = xen_ulong_t{1} << (bit % TwoLevelAbi::kBitsPerWord);
  return (std::atomic_ref(words[bit / TwoLevelAbi::kBitsPerWord]).fetch_and(~m) & m) != 0;
}

bool testBit(xen_ulong_t* words, uint32_t bit) {
  xen_ulong_t m = xen_ulong_t{1} << (bit % TwoLevelAbi::kBitsPerWord);
  return (std::atomic_ref(words[bit / TwoLevelAbi::kBitsPerWord]).load() & m) != 0;
}

}  // namespace

TwoLevelAbi::TwoLevelAbi(SharedInfoProvider sharedInfo) : sharedInfo_(std::move(sharedInfo)) {}

TwoLevelAbi::TwoLevelAbi(SharedInfoProvider sharedInfo, VcpuInfoProvider vcpuInfo)
    : sharedInfo_(std::move(sharedInfo)), vcpuInfo_(std::move(vcpuInfo)) {}

shared_info_t* TwoLevelAbi::sharedInfo(uint32_t port) const {
  if (port >= kMaxPorts || !sharedInfo_) return nullptr;
  return sharedInfo_();
}

vcpu_info_t* TwoLevelAbi::vcpuInfo(uint32_t vcpu) const {
  if (vcpuInfo_) return vcpuInfo_(vcpu);
  shared_info_t* si = sharedInfo_ ? sharedInfo_() : nullptr;
  if (si == nullptr || vcpu >= XEN_LEGACY_MAX_VCPUS) return nullptr;
  return &si->vcpu_info[vcpu];
}

// Selector bit, then upcall flag: the guest scans in the opposite order.
bool TwoLevelAbi::markVcpuPending(uint32_t port, uint32_t vcpu) {
  vcpu_info_t* vi = vcpuInfo(vcpu);
  if (vi == nullptr) return false;
  if (testAndSet(&vi->evtchn_pending_sel, port / kBitsPerWord)) return false;
  // vcpu_mark_events_pending: only the 0 -> 1 edge of evtchn_upcall_pending
  // needs an interrupt; the guest clears the flag before it scans.
  return (std::atomic_ref(vi->evtchn_upcall_pending).fetch_or(uint8_t{1}) & 1) == 0;
}

bool TwoLevelAbi::setPending(uint32_t port, uint32_t vcpu) {
  shared_info_t* si = sharedInfo(port);
  if (si == nullptr) return false;
  if (testAndSet(si->evtchn_pending, port)) return false;
  if (testBit(si->evtchn_mask, port)) return false;
  return markVcpuPending(port, vcpu);
}

void TwoLevelAbi::clearPending(uint32_t port) {
  shared_info_t* si = sharedInfo(port);
  if (si != nullptr) testAndClear(si->evtchn_pending, port);
}

bool TwoLevelAbi::unmask(uint32_t port, uint32_t vcpu) {
  shared_info_t* si = sharedInfo(port);
  if (si == nullptr) return false;
  // Same strict order as setPending, mirrored: clear the mask first so a
  // concurrent setPending either sees it clear or we see its pending bit.
  if (!testAndClear(si->evtchn_mask, port)) return false;
  if (!testBit(si->evtchn_pending, port)) return false;
  return markVcpuPending(port, vcpu);
}

bool TwoLevelAbi::isPending(uint32_t port) const {
  shared_info_t* si = sharedInfo(port);
  return si != nullptr && testBit(si->evtchn_pending, port);
}

bool TwoLevelAbi::isMasked(uint32_t port) const {
  shared_info_t* si = sharedInfo(port);
  return si != nullptr && testBit(si->evtchn_mask, port);
}

}  // namespace smartvm::evtchn
