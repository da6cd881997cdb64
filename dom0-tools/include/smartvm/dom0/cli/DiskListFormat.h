#pragma once
// `smartvm block-list` output: xl's columns for each domain's PV disks, then
// what xl leaves out (the backend's state, the vdev, access and image, and
// the backend's reason when it refused the disk). Pure functions.
#include <string>
#include <vector>

#include "smartvm/v1/toolstack.pb.h"

namespace smartvm::dom0 {

/// xl block-list's printf ("%-5d %-3d %-6d %-5d %-6d %-8d %-30s": Vdev = device
/// number, BE = backend domain, handle = the domain, state = the frontend's
/// XenbusState, evt-ch and ring-ref = -1 until the frontend published them,
/// BE-path), then BE-state, Dev, Mode (rw/ro), Format and Target. BE-path is
/// widened to the longest path so the extra columns line up. One row per disk,
/// domains in the order given; the header alone when there are none.
std::string formatDiskTable(const std::vector<v1::ListDisksResponse>& domains);

}  // namespace smartvm::dom0
