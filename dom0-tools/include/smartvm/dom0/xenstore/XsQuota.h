#pragma once
// Per-domain limits. They bind unprivileged domains only (dom0 is exempt, as in
// Xen); the defaults are xenstored's.
#include <cstddef>

namespace smartvm::dom0::xenstore {

struct XsQuota {
  size_t nodesPerDomain = 1000;     ///< nodes owned; ENOSPC beyond
  size_t valueSize = 2048;          ///< bytes of one value; ENOSPC beyond
  size_t watchesPerDomain = 128;    ///< E2BIG beyond
  size_t transactionsPerConn = 10;  ///< open at once; ENOSPC beyond
};

}  // namespace smartvm::dom0::xenstore
