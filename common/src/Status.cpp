#include "smartvm/Status.h"

#include <cstring>
#include <string>

namespace smartvm {

const char* errnoName(int code) {
  switch (code) {
    case 0: return "OK";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EIO: return "EIO";
    case E2BIG: return "E2BIG";
    case ENOEXEC: return "ENOEXEC";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    case ENOSYS: return "ENOSYS";
    case ENOTCONN: return "ENOTCONN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EPROTO: return "EPROTO";
    case EMSGSIZE: return "EMSGSIZE";
    case EALREADY: return "EALREADY";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ECANCELED: return "ECANCELED";
    case ECONNRESET: return "ECONNRESET";
    case EPIPE: return "EPIPE";
    case EFBIG: return "EFBIG";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EOVERFLOW: return "EOVERFLOW";
    default: return "E?";
  }
}

std::string Status::toString() const {
  if (isOk()) return "OK";
  return message_ + " (" + errnoName(code_) + ")";
}

Status errnoStatus(const std::string& what) {
  const int e = errno;
  return Status(e, what + ": " + std::strerror(e));
}

}  // namespace smartvm
