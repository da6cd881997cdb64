#include "smartvm/hv/HypercallPage.h"

#include <cstring>

namespace smartvm::hv {

void fillHypercallPage(uint8_t* page) {
  std::memset(page, 0xcc, 4096);  // int3 between stubs, as Xen pads its own
  for (unsigned nr = 0; nr < 4096 / kHypercallStubSize; ++nr) {
    uint8_t* s = page + nr * kHypercallStubSize;
    s[0] = 0xb8;  // mov $nr, %eax
    std::memcpy(s + 1, &nr, 4);
    s[5] = 0xe7;  // out %eax, $imm8
    s[6] = static_cast<uint8_t>(kHypercallPort);
    s[7] = 0xc3;  // ret
  }
}

}  // namespace smartvm::hv
