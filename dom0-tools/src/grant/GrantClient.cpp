#include "smartvm/dom0/grant/GrantClient.h"

#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>

namespace smartvm::dom0 {
namespace {

using control::v1::Request;
using control::v1::Response;

}  // namespace

Result<GrantClient> GrantClient::connect(const std::string& socketPath) {
  SMARTVM_ASSIGN_OR_RETURN(HvConnection conn, HvConnection::connect(socketPath, "grant client"));
  return GrantClient(std::move(conn));
}

bool GrantClient::connected() const { return conn_.connected(); }

void GrantClient::disconnect() { conn_.disconnect(); }

std::string GrantClient::gntstName(int status) {
  switch (status) {
    case GNTST_okay: return "GNTST_okay";
    case GNTST_general_error: return "GNTST_general_error";
    case GNTST_bad_domain: return "GNTST_bad_domain";
    case GNTST_bad_gntref: return "GNTST_bad_gntref";
    case GNTST_bad_handle: return "GNTST_bad_handle";
    case GNTST_bad_virt_addr: return "GNTST_bad_virt_addr";
    case GNTST_bad_dev_addr: return "GNTST_bad_dev_addr";
    case GNTST_no_device_space: return "GNTST_no_device_space";
    case GNTST_permission_denied: return "GNTST_permission_denied";
    case GNTST_bad_page: return "GNTST_bad_page";
    case GNTST_bad_copy_arg: return "GNTST_bad_copy_arg";
    case GNTST_address_too_big: return "GNTST_address_too_big";
    case GNTST_eagain: return "GNTST_eagain";
#ifdef GNTST_no_space
    case GNTST_no_space: return "GNTST_no_space";
#endif
    default: return fmt::format("GNTST {}", status);
  }
}

int GrantClient::gntstErrno(int status) {
  // What Linux's gntdev makes of them: a missing domain is ESRCH, a bad
  // handle EINVAL, a transient one EAGAIN; the rest is an I/O error.
  switch (status) {
    case GNTST_bad_domain: return ESRCH;
    case GNTST_bad_handle: return EINVAL;
    case GNTST_eagain: return EAGAIN;
    case GNTST_permission_denied: return EPERM;
    default: return EIO;
  }
}

Result<GrantClient::Mapping> GrantClient::map(uint32_t domid, grant_ref_t ref, bool readonly) {
  Request r;
  r.mutable_grant_map()->set_domid(domid);
  r.mutable_grant_map()->set_ref(ref);
  r.mutable_grant_map()->set_readonly(readonly);
  std::vector<UniqueFd> fds;
  SMARTVM_ASSIGN_OR_RETURN(Response response, conn_.call(std::move(r), &fds));
  if (!response.has_grant_mapped()) return error(EPROTO, "smartvm-hv answered the map without a result");
  const auto& m = response.grant_mapped();
  if (m.status() != GNTST_okay) {
    return error(gntstErrno(m.status()),
                 fmt::format("map of grant ref {} of domain {}: {}", ref, domid, gntstName(m.status())));
  }
  auto unmapRemote = [&] {
    Request u;
    u.mutable_grant_unmap()->set_handle(m.handle());
    (void)conn_.call(std::move(u));
  };
  if (fds.size() != 1 || m.offset() % kPageSize != 0) {
    unmapRemote();
    return error(EPROTO, fmt::format("smartvm-hv answered the map with {} descriptors at offset {:#x}", fds.size(),
                                     m.offset()));
  }
  const int prot = PROT_READ | (readonly ? 0 : PROT_WRITE);
  void* page = ::mmap(nullptr, kPageSize, prot, MAP_SHARED, fds[0].get(), static_cast<off_t>(m.offset()));
  if (page == MAP_FAILED) {
    Status s = errnoStatus(fmt::format("mmap of grant ref {} of domain {}", ref, domid));
    unmapRemote();
    return s;
  }
  // The mapping keeps the granter's memory alive; the descriptor is not needed.
  return Mapping{page, m.handle(), domid};
}

Status GrantClient::unmap(const Mapping& m) {
  if (m.page != nullptr) ::munmap(m.page, kPageSize);
  Request r;
  r.mutable_grant_unmap()->set_handle(m.handle);
  SMARTVM_ASSIGN_OR_RETURN(Response response, conn_.call(std::move(r)));
  if (!response.has_grant_copied() || response.grant_copied().status_size() != 1) {
    return error(EPROTO, "smartvm-hv answered the unmap without a status");
  }
  const int st = response.grant_copied().status(0);
  if (st != GNTST_okay) {
    return error(gntstErrno(st), fmt::format("unmap of grant handle {}: {}", m.handle, gntstName(st)));
  }
  return Status::ok();
}

Result<std::vector<int16_t>> GrantClient::copy(uint32_t domid, std::span<const CopySeg> segs) {
  std::vector<int16_t> statuses(segs.size(), GNTST_general_error);
  for (const CopySeg& s : segs) {
    if (s.len > kPageSize || s.offset > kPageSize - s.len) {
      return error(EINVAL, fmt::format("copy segment of ref {} at offset {} len {} crosses the page", s.ref,
                                       s.offset, s.len));
    }
    if (s.buf == nullptr && s.len != 0) return error(EINVAL, "copy segment without a buffer");
  }
  // Split into requests within smartvm-hv's limits.
  size_t begin = 0;
  while (begin < segs.size()) {
    size_t end = begin;
    size_t bytes = 0;
    while (end < segs.size() && end - begin < kMaxCopySegs && bytes + segs[end].len <= kMaxCopyBytes) {
      bytes += segs[end].len;
      ++end;
    }
    SMARTVM_TRY(copyChunk(domid, segs.subspan(begin, end - begin), std::span(statuses).subspan(begin, end - begin)));
    begin = end;
  }
  return statuses;
}

Status GrantClient::copyChunk(uint32_t domid, std::span<const CopySeg> segs, std::span<int16_t> statuses) {
  Request r;
  auto* c = r.mutable_grant_copy();
  c->set_domid(domid);
  for (const CopySeg& s : segs) {
    auto* seg = c->add_segs();
    seg->set_ref(s.ref);
    seg->set_offset(s.offset);
    seg->set_len(s.len);
    seg->set_to_guest(s.toGuest);
    if (s.toGuest && s.len != 0) seg->set_data(s.buf, s.len);
  }
  SMARTVM_ASSIGN_OR_RETURN(Response response, conn_.call(std::move(r)));
  if (!response.has_grant_copied()) return error(EPROTO, "smartvm-hv answered the copy without a result");
  const auto& done = response.grant_copied();
  if (static_cast<size_t>(done.status_size()) != segs.size() ||
      static_cast<size_t>(done.data_size()) != segs.size()) {
    return error(EPROTO, fmt::format("smartvm-hv answered {} statuses for {} segments", done.status_size(),
                                     segs.size()));
  }
  for (size_t i = 0; i < segs.size(); ++i) {
    statuses[i] = static_cast<int16_t>(done.status(static_cast<int>(i)));
    if (statuses[i] != GNTST_okay || segs[i].toGuest) continue;
    const std::string& data = done.data(static_cast<int>(i));
    if (data.size() != segs[i].len) {
      return error(EPROTO, fmt::format("smartvm-hv answered {} bytes for a {}-byte segment", data.size(),
                                       segs[i].len));
    }
    if (!data.empty()) std::memcpy(segs[i].buf, data.data(), data.size());
  }
  return Status::ok();
}

}  // namespace smartvm::dom0
