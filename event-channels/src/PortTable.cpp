#include "PortTable.h"

#include <algorithm>
#include <utility>

namespace smartvm::evtchn {

PortTable::PortTable(uint16_t domid, std::unique_ptr<PortAbi> abi, uint32_t maxPorts)
    : domid_(domid), abi_(std::move(abi)), maxPorts_(maxPorts) {
  channels_.resize(std::min(kPortsPerBucket, abi_->maxPorts()));
  channels_[0].state = PortState::Reserved;
}

std::optional<uint32_t> PortTable::findFreePort() {
  uint32_t port = 0;
  for (; port < channels_.size(); ++port) {
    if (port >= maxPorts_) return std::nullopt;
    if (channels_[port].state == PortState::Free) return port;
  }
  if (port >= maxPorts_ || port >= abi_->maxPorts()) return std::nullopt;
  channels_.resize(std::min<size_t>(channels_.size() + kPortsPerBucket, abi_->maxPorts()));
  return port;
}

void PortTable::freePort(uint32_t port) {
  abi_->clearPending(port);
  abi_->portFreed(port);
  channels_[port] = Channel{};
}

uint32_t PortTable::virqPort(uint32_t vcpu, uint32_t virq) const {
  if (vcpu >= virqToPort_.size() || virq >= kNrVirqs) return 0;
  return virqToPort_[vcpu][virq];
}

void PortTable::setVirqPort(uint32_t vcpu, uint32_t virq, uint32_t port) {
  if (vcpu >= virqToPort_.size()) virqToPort_.resize(vcpu + 1, std::array<uint32_t, kNrVirqs>{});
  virqToPort_[vcpu][virq] = port;
}

void PortTable::forgetVirqPort(uint32_t virq, uint32_t port) {
  if (virq >= kNrVirqs) return;
  for (auto& table : virqToPort_) {
    if (table[virq] == port) table[virq] = 0;
  }
}

}  // namespace smartvm::evtchn
