#pragma once
// The grant mappings one control connection made as dom0, like the maps of an
// open /dev/xen/gntdev: a connection may only unmap its own handles (every
// dom0 connection is grantee 0 to GrantOps, so GrantOps alone cannot tell
// them apart), and whatever it still holds is unmapped when it goes.
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_set>

namespace smartvm::hv {

class Dom0GrantHandles {
 public:
  /// Unmaps one handle with the granter pinned (ControlServerGrant.cpp).
  using Unmapper = std::function<void(uint32_t handle)>;

  Dom0GrantHandles() = default;
  /// Unmaps every handle still held.
  ~Dom0GrantHandles() { releaseAll(); }
  Dom0GrantHandles(const Dom0GrantHandles&) = delete;
  Dom0GrantHandles& operator=(const Dom0GrantHandles&) = delete;

  /// Records `handle`; the first call also sets how handles are unmapped later.
  void add(uint32_t handle, const Unmapper& unmapper);
  [[nodiscard]] bool owns(uint32_t handle) const;
  /// Forgets `handle` (after the caller unmapped it).
  void remove(uint32_t handle);
  [[nodiscard]] size_t count() const;
  /// Unmaps and forgets every handle.
  void releaseAll();

 private:
  mutable std::mutex m_;  // never held while unmapping
  std::unordered_set<uint32_t> handles_;
  Unmapper unmap_;
};

}  // namespace smartvm::hv
