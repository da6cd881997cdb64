#pragma once
// A disk in memory and a grant table of pages in memory, for the backend's
// unit tests: they count what the engine asked of them.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <xen/io/blkif.h>

#include "smartvm/dom0/blkback/BlockDevice.h"
#include "smartvm/dom0/blkback/GrantIo.h"

namespace smartvm::dom0::blkback::test {

class MemDisk final : public BlockDevice {
 public:
  explicit MemDisk(uint64_t bytes, bool readOnly = false, bool discard = true)
      : data(bytes), ro(readOnly), disc(discard) {}
  uint64_t sizeBytes() const override { return data.size(); }
  bool readOnly() const override { return ro; }
  bool canDiscard() const override { return disc; }
  Status read(uint64_t off, void* buf, size_t len) override {
    std::memcpy(buf, data.data() + off, len);
    return Status::ok();
  }
  Status write(uint64_t off, const void* buf, size_t len, bool fua) override {
    std::memcpy(data.data() + off, buf, len);
    log.push_back(fua ? 'W' : 'w');
    return Status::ok();
  }
  Status flush() override {
    log.push_back('F');
    return Status::ok();
  }
  Status discard(uint64_t off, uint64_t len) override {
    std::memset(data.data() + off, 0, len);
    log.push_back('D');
    return Status::ok();
  }
  void submit(std::span<Io> ios) override {
    batches.push_back(ios.size());
    log.push_back('[');
    BlockDevice::submit(ios);
    log.push_back(']');
  }
  std::vector<uint8_t> data;
  bool ro, disc;
  std::string log;  ///< w write, W write+FUA, F flush, D discard, [...] one submit
  std::vector<size_t> batches;  ///< each submit's size
};

/// A one-page request (a flush: none) at `sector` through grant `ref`.
inline blkif_request onePage(uint8_t op, uint64_t id, uint64_t sector, grant_ref_t ref) {
  blkif_request r{};
  r.operation = op;
  r.id = id;
  r.sector_number = sector;
  r.nr_segments = op == BLKIF_OP_FLUSH_DISKCACHE ? 0 : 1;
  r.seg[0] = {ref, 0, 7};
  return r;
}

class FakeGrants final : public GrantIo {
 public:
  struct Page {
    std::vector<uint8_t> bytes = std::vector<uint8_t>(4096);
    bool readOnly = false;
  };
  Page& grant(grant_ref_t ref, bool readOnly = false) {
    Page& p = pages[ref];
    p.readOnly = readOnly;
    return p;
  }
  Status copyFromGuest(grant_ref_t ref, uint32_t off, void* dst, size_t len) override {
    auto it = pages.find(ref);
    if (it == pages.end()) return error(EINVAL, "GNTST_bad_gntref");
    if (off > 4096 || len > 4096 - off) return error(EINVAL, "GNTST_bad_copy_arg");
    std::memcpy(dst, it->second.bytes.data() + off, len);
    return Status::ok();
  }
  Status copyToGuest(grant_ref_t ref, uint32_t off, const void* src, size_t len) override {
    auto it = pages.find(ref);
    if (it == pages.end()) return error(EINVAL, "GNTST_bad_gntref");
    if (it->second.readOnly) return error(EPERM, "GNTST_permission_denied");
    if (off > 4096 || len > 4096 - off) return error(EINVAL, "GNTST_bad_copy_arg");
    std::memcpy(it->second.bytes.data() + off, src, len);
    return Status::ok();
  }
  std::map<grant_ref_t, Page> pages;
};

}  // namespace smartvm::dom0::blkback::test
