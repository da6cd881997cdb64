#pragma once
// Xen's 2-level event channel ABI (xen/common/event_2l.c): one pending and one
// mask bitmap in shared_info, a per-vCPU selector word and upcall flag.
#include <functional>

#include "smartvm/evtchn/PortAbi.h"
#include "smartvm/evtchn/XenEvtchnAbi.h"

namespace smartvm::evtchn {

class TwoLevelAbi final : public PortAbi {
 public:
  /// Returns the domain's shared_info, or nullptr while it is not placed.
  /// Asked on every operation because the guest may move the frame.
  using SharedInfoProvider = std::function<shared_info_t*()>;
  /// Returns vCPU `vcpu`'s vcpu_info, or nullptr if it has none.
  using VcpuInfoProvider = std::function<vcpu_info_t*(uint32_t vcpu)>;

  /// Ports per domain: EVTCHN_2L_NR_CHANNELS (4096 on x86-64).
  static constexpr uint32_t kMaxPorts = EVTCHN_2L_NR_CHANNELS;
  /// Bits per evtchn_pending_sel word (Xen's BITS_PER_EVTCHN_WORD).
  static constexpr uint32_t kBitsPerWord = sizeof(xen_ulong_t) * 8;

  /// vcpu_info comes from shared_info's legacy array (vCPUs 0..31 only).
  explicit TwoLevelAbi(SharedInfoProvider sharedInfo);
  /// vcpu_info comes from `vcpuInfo`, for guests that registered their own
  /// (VCPUOP_register_vcpu_info); it may return nullptr for "none".
  TwoLevelAbi(SharedInfoProvider sharedInfo, VcpuInfoProvider vcpuInfo);

  [[nodiscard]] uint32_t maxPorts() const override { return kMaxPorts; }
  [[nodiscard]] bool setPending(uint32_t port, uint32_t vcpu) override;
  void clearPending(uint32_t port) override;
  [[nodiscard]] bool unmask(uint32_t port, uint32_t vcpu) override;
  [[nodiscard]] bool isPending(uint32_t port) const override;
  [[nodiscard]] bool isMasked(uint32_t port) const override;
  /// Nothing to do: the bitmaps live in guest memory and Xen leaves them.
  void reset() override {}

 private:
  shared_info_t* sharedInfo(uint32_t port) const;
  vcpu_info_t* vcpuInfo(uint32_t vcpu) const;
  bool markVcpuPending(uint32_t port, uint32_t vcpu);

  SharedInfoProvider sharedInfo_;
  VcpuInfoProvider vcpuInfo_;
};

}  // namespace smartvm::evtchn
