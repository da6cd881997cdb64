// Building blkif requests (xen/io/blkif.h) the way xen-blkfront fills its
// ring slots: one segment per granted 4 KiB page, first_sect/last_sect in
// 512-byte units. Pure logic, unit tested on the host.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/blkif.h>

namespace blkif {

/// blkif counts in 512-byte sectors whatever the disk's sector-size.
constexpr uint32_t kSectorBytes = 512;
constexpr uint32_t kPageBytes = 4096;
constexpr uint32_t kSectorsPerPage = kPageBytes / kSectorBytes;
/// The largest transfer one direct request carries.
constexpr uint32_t kMaxSectors = BLKIF_MAX_SEGMENTS_PER_REQUEST * kSectorsPerPage;

/// Pages (= segments) a transfer of `sectors` sectors needs.
constexpr uint32_t pagesFor(uint32_t sectors) { return (sectors + kSectorsPerPage - 1) / kSectorsPerPage; }

/// Fills req for BLKIF_OP_READ or BLKIF_OP_WRITE of `sectors` sectors from
/// `sector`, the data in the pages granted as refs[0..pagesFor(sectors)):
/// full pages, the last one possibly partial. False (req untouched) for 0
/// sectors, more than kMaxSectors, too few refs or another operation.
bool buildReadWrite(blkif_request& req, uint8_t op, uint64_t id, blkif_sector_t sector, uint32_t sectors,
                    const grant_ref_t* refs, uint32_t nrefs);

/// Fills req for a data-less BLKIF_OP_FLUSH_DISKCACHE or BLKIF_OP_WRITE_BARRIER.
bool buildFlush(blkif_request& req, uint8_t op, uint64_t id);

/// Sectors a request built here moves (sum over its segments); 0 for flushes
/// and for segments whose sector numbers are out of order.
uint32_t sectorsOf(const blkif_request& req);

/// "okay", "error", "eopnotsupp" or "unknown": a response status for messages.
const char* statusName(int16_t status);

/// "read", "write", "flush", "barrier" or "op?".
const char* opName(uint8_t op);

}  // namespace blkif
