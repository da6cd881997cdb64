// console_io: the guest's early console, kept in the domain's console history.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <xen/xen.h>

#include "smartvm/hv/Domain.h"
#include "smartvm/hv/hypercalls/HypercallTable.h"

namespace smartvm::hv {

int64_t doConsoleIo(HypercallContext& ctx, const HypercallArgs& a) {
  const uint32_t count = static_cast<uint32_t>(a[1]);  // Xen's count is an unsigned int
  const uint64_t buffer = a[2];
  switch (a[0]) {
    case CONSOLEIO_write: {
      char chunk[512];
      for (uint32_t done = 0; done < count;) {
        const uint32_t n = std::min<uint32_t>(count - done, sizeof(chunk));
        if (!ctx.mem.read(buffer + done, chunk, n).isOk()) return -EFAULT;
        ctx.domain.console().append(chunk, n);
        done += n;
      }
      return 0;
    }
    case CONSOLEIO_read: return 0;  // no hypervisor console input for guests
    default: return -ENOSYS;
  }
}

}  // namespace smartvm::hv
