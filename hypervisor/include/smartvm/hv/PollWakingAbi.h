#pragma once
// Wraps a domain's port ABI to report every port that goes pending, masked
// or not: Xen's evtchn_check_pollers, which ends a SCHEDOP_poll waiting for it.
#include <functional>
#include <memory>

#include "smartvm/evtchn/PortAbi.h"

namespace smartvm::hv {

class PollWakingAbi final : public evtchn::PortAbi {
 public:
  /// `onPending` runs under the event channel lock: it may only wake threads.
  PollWakingAbi(std::unique_ptr<evtchn::PortAbi> inner, std::function<void(uint32_t port)> onPending)
      : inner_(std::move(inner)), onPending_(std::move(onPending)) {}

  [[nodiscard]] uint32_t maxPorts() const override { return inner_->maxPorts(); }
  [[nodiscard]] bool setPending(uint32_t port, uint32_t vcpu) override {
    const bool upcall = inner_->setPending(port, vcpu);
    onPending_(port);
    return upcall;
  }
  void clearPending(uint32_t port) override { inner_->clearPending(port); }
  [[nodiscard]] bool unmask(uint32_t port, uint32_t vcpu) override { return inner_->unmask(port, vcpu); }
  [[nodiscard]] bool isPending(uint32_t port) const override { return inner_->isPending(port); }
  [[nodiscard]] bool isMasked(uint32_t port) const override { return inner_->isMasked(port); }
  void reset() override { inner_->reset(); }
  void portFreed(uint32_t port) override { inner_->portFreed(port); }

 private:
  std::unique_ptr<evtchn::PortAbi> inner_;
  std::function<void(uint32_t)> onPending_;
};

}  // namespace smartvm::hv
