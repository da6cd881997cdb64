#pragma once
// dom0's grant device, the Smart-VM stand-in for /dev/xen/gntdev plus
// gntalloc's copy ioctl: a persistent connection to smartvm-hv's control
// socket over which a dom0 backend maps pages that guests granted it
// (GNTTABOP_map_grant_ref as domain 0) and copies to and from them in batches
// (GNTTABOP_copy). A mapping arrives as a descriptor of the granter's memory
// and an offset; the client mmaps that one page MAP_SHARED and keeps no fd.
#include <cstddef>
#include <cstdint>
#include <cstring>  // Xen's headers use these without including them

#include <xen/grant_table.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "smartvm/MessageSocket.h"
#include "smartvm/Result.h"
#include "smartvm/Status.h"
#include "smartvm/UniqueFd.h"
#include "smartvm/control/v1/control.pb.h"
#include "smartvm/dom0/HvConnection.h"

namespace smartvm::dom0 {

// dom0's grant device (the Smart-VM stand-in for /dev/xen/gntdev + gntalloc's copy ioctl):
// a persistent connection to smartvm-hv's control socket. Mappings belong to the
// connection and are dropped by smartvm-hv when it closes. Thread-safe.
class GrantClient {
 public:
  static constexpr const char* kDefaultSocket = "/run/smartvm/hv.sock";
  /// How long smartvm-hv may take to answer a request.
  static constexpr std::chrono::seconds kAnswerTimeout = HvConnection::kAnswerTimeout;
  /// Most segments and bytes (both directions together) one copy() request may
  /// carry; smartvm-hv refuses more with EINVAL. copy() splits bigger batches.
  static constexpr size_t kMaxCopySegs = 256;
  static constexpr size_t kMaxCopyBytes = 1u << 20;
  static constexpr size_t kPageSize = 4096;

  [[nodiscard]] static Result<GrantClient> connect(const std::string& socketPath = kDefaultSocket);
  GrantClient(GrantClient&&) noexcept = default;
  GrantClient& operator=(GrantClient&&) noexcept = default;
  ~GrantClient() = default;

  struct Mapping {
    void* page = nullptr;
    uint32_t handle = 0;
    uint32_t domid = 0;
  };  // one 4 KiB page, MAP_SHARED

  /// GNTTABOP_map_grant_ref of domid's `ref` into this process. Errors: the GNTST code's name in the message, EIO-ish errno.
  [[nodiscard]] Result<Mapping> map(uint32_t domid, grant_ref_t ref, bool readonly);
  /// munmap + GNTTABOP_unmap_grant_ref.
  [[nodiscard]] Status unmap(const Mapping& m);

  struct CopySeg {
    grant_ref_t ref = 0;
    uint32_t offset = 0;
    uint32_t len = 0;
    bool toGuest = false;
    void* buf = nullptr;
  };  // buf: source when toGuest, destination otherwise

  /// Batched GNTTABOP_copy with `domid`'s granted pages; one GNTST_* per segment.
  [[nodiscard]] Result<std::vector<int16_t>> copy(uint32_t domid, std::span<const CopySeg> segs);
  /// Closes the connection; smartvm-hv unmaps this client's mappings (the
  /// pages this process still has mmapped stay readable, as with gntdev).
  void disconnect();
  [[nodiscard]] bool connected() const;

  /// "GNTST_bad_gntref" for a GNTST_* code, or the number as text.
  [[nodiscard]] static std::string gntstName(int status);
  /// The errno a failed GNTST_* code maps to (EIO unless a better one exists).
  [[nodiscard]] static int gntstErrno(int status);

 private:
  explicit GrantClient(HvConnection conn) : conn_(std::move(conn)) {}
  /// One request's worth of segments (within the limits above).
  Status copyChunk(uint32_t domid, std::span<const CopySeg> segs, std::span<int16_t> statuses);

  HvConnection conn_;
};

}  // namespace smartvm::dom0
