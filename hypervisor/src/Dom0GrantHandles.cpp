#include "smartvm/hv/Dom0GrantHandles.h"

#include <spdlog/spdlog.h>

namespace smartvm::hv {

void Dom0GrantHandles::add(uint32_t handle, const Unmapper& unmapper) {
  std::lock_guard lk(m_);
  if (!unmap_) unmap_ = unmapper;
  handles_.insert(handle);
}

bool Dom0GrantHandles::owns(uint32_t handle) const {
  std::lock_guard lk(m_);
  return handles_.contains(handle);
}

void Dom0GrantHandles::remove(uint32_t handle) {
  std::lock_guard lk(m_);
  handles_.erase(handle);
}

size_t Dom0GrantHandles::count() const {
  std::lock_guard lk(m_);
  return handles_.size();
}

void Dom0GrantHandles::releaseAll() {
  std::unordered_set<uint32_t> handles;
  Unmapper unmap;
  {
    std::lock_guard lk(m_);
    handles.swap(handles_);
    unmap = unmap_;
  }
  if (handles.empty() || !unmap) return;
  spdlog::debug("dom0 grants: unmapping {} mapping(s) of a closed connection", handles.size());
  for (uint32_t h : handles) unmap(h);
}

}  // namespace smartvm::hv
