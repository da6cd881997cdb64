// xen_version: what Xen a guest is running on, and its feature bits.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/features.h>
#include <xen/version.h>

#include <cstring>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/XenCpuid.h"
#include "smartvm/hv/hypercalls/HypercallTable.h"

namespace smartvm::hv {
namespace {


template <size_t N>
int64_t copyString(HypercallContext& ctx, uint64_t gva, const char* text) {
  char buf[N] = {};
  std::strncpy(buf, text, N - 1);
  return ctx.mem.write(gva, buf, N).isOk() ? 0 : -EFAULT;
}

// The features Xen gives an HVM/PVH domU that Smart-VM actually implements.
uint32_t featureSubmap0() {
  return (1u << XENFEAT_writable_page_tables) | (1u << XENFEAT_auto_translated_physmap) |
         (1u << XENFEAT_hvm_callback_vector) | (1u << XENFEAT_hvm_safe_pvclock);
}

}  // namespace

int64_t doXenVersion(HypercallContext& ctx, const HypercallArgs& a) {
  const uint64_t arg = a[1];
  switch (a[0]) {
    case XENVER_version: return static_cast<int64_t>((kXenMajor << 16) | kXenMinor);
    case XENVER_extraversion: return copyString<sizeof(xen_extraversion_t)>(ctx, arg, kXenExtraVersion);
    case XENVER_capabilities: return copyString<sizeof(xen_capabilities_info_t)>(ctx, arg, kXenCapabilities);
    case XENVER_changeset: return copyString<sizeof(xen_changeset_info_t)>(ctx, arg, kHvVersion);
    case XENVER_compile_info: {
      xen_compile_info_t info{};
      std::strncpy(info.compiler, "g++ " __VERSION__, sizeof(info.compiler) - 1);
      std::strncpy(info.compile_by, "smartvm", sizeof(info.compile_by) - 1);
      std::strncpy(info.compile_domain, "smartvm", sizeof(info.compile_domain) - 1);
      std::strncpy(info.compile_date, __DATE__, sizeof(info.compile_date) - 1);
      return ctx.mem.writeObj(arg, info).isOk() ? 0 : -EFAULT;
    }
    case XENVER_platform_parameters: {
      // Release Xen gives HVM guests an impossible virt_start: there is none.
      xen_platform_parameters_t p{};
      p.virt_start = ~static_cast<xen_ulong_t>(0);
      return ctx.mem.writeObj(arg, p).isOk() ? 0 : -EFAULT;
    }
    case XENVER_get_features: {
      xen_feature_info_t fi{};
      if (!ctx.mem.readObj(arg, fi).isOk()) return -EFAULT;
      if (fi.submap_idx != 0) return -EINVAL;
      fi.submap = featureSubmap0();
      return ctx.mem.writeObj(arg, fi).isOk() ? 0 : -EFAULT;
    }
    case XENVER_pagesize: return 4096;
    case XENVER_guest_handle: return ctx.mem.write(arg, ctx.domain.handle(), 16).isOk() ? 0 : -EFAULT;
    case XENVER_commandline:
    case XENVER_build_id: return -EPERM;  // control-domain only on Xen
    default: return -ENOSYS;
  }
}

}  // namespace smartvm::hv
