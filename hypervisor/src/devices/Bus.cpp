#include "smartvm/hv/devices/Bus.h"

namespace smartvm::hv {

Status Bus::insert(std::shared_ptr<BusDevice> dev, uint64_t base, uint64_t len) {
  if (len == 0 || base + len < base) return error(EINVAL, "empty or wrapping bus range for " + dev->name());
  auto next = ranges_.lower_bound(base);
  if (next != ranges_.end() && next->first < base + len) {
    return error(EEXIST, dev->name() + " overlaps " + next->second.dev->name());
  }
  if (next != ranges_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second.len > base) return error(EEXIST, dev->name() + " overlaps " + prev->second.dev->name());
  }
  ranges_.emplace(base, Range{len, std::move(dev)});
  return Status::ok();
}

Bus::Hit Bus::find(uint64_t addr) const {
  auto it = ranges_.upper_bound(addr);
  if (it == ranges_.begin()) return {nullptr, 0};
  --it;
  if (addr - it->first >= it->second.len) return {nullptr, 0};
  return {it->second.dev.get(), addr - it->first};
}

}  // namespace smartvm::hv
