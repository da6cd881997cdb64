#pragma once
// KVM for a guest test: the platform, or why this host cannot give it (the
// test skips with that reason).
#include <memory>
#include <string>

#include "smartvm/Result.h"
#include "smartvm/hv/kvm/KvmPlatform.h"

namespace smartvm::hv {

inline Result<std::unique_ptr<KvmPlatform>> openKvmForTest() {
  if (const std::string why = kvmUnavailableReason(); !why.empty()) return error(ENODEV, "/dev/kvm unusable: " + why);
  auto p = KvmPlatform::open();
  if (!p.isOk()) return error(p.status().code(), "KvmPlatform::open failed: " + p.status().toString());
  return std::move(p).value();
}

}  // namespace smartvm::hv
