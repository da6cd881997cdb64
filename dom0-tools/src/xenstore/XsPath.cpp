#include "smartvm/dom0/xenstore/XsPath.h"

#include <xen/io/xs_wire.h>

#include <algorithm>
#include <cstdint>

namespace smartvm::dom0::xenstore {
namespace {

bool validChars(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '/' ||
           ch == '_' || ch == '@';
  });
}

// Length of "/local/domain/<id>/" when `abs` lies below a domain's home, else 0:
// Xen's path quota counts only the part a domain chose itself.
size_t localPrefix(std::string_view abs) {
  constexpr std::string_view kLocal = "/local/domain/";
  if (abs.substr(0, kLocal.size()) != kLocal) return 0;
  const size_t slash = abs.find('/', kLocal.size());
  return slash == std::string_view::npos ? 0 : slash + 1;
}

}  // namespace

std::string XsPath::domainPath(uint32_t domid) { return "/local/domain/" + std::to_string(domid); }

Result<XsName> XsPath::resolve(uint32_t domid, std::string_view raw, bool allowSpecial) {
  XsName name;
  if (!raw.empty() && raw[0] == '@') {
    if (!allowSpecial) return error(EINVAL, "special name not allowed here");
    name.abs = raw;
  } else if (!raw.empty() && raw[0] == '/') {
    name.abs = raw;
  } else {
    name.abs = domainPath(domid) + "/" + std::string(raw);
    name.relativePrefix = name.abs.size() - raw.size();
  }
  const std::string& a = name.abs;
  if (a.size() > 1 && a.back() == '/') return error(EINVAL, "path ends in '/'");
  if (a.find("//") != std::string::npos) return error(EINVAL, "path contains '//'");
  if (!validChars(a)) return error(EINVAL, "path contains characters xenstore does not allow");
  if (a.size() > XENSTORE_ABS_PATH_MAX) return error(EINVAL, "path is longer than XENSTORE_ABS_PATH_MAX");
  if (domid != 0 && a.size() - localPrefix(a) > XENSTORE_REL_PATH_MAX) {
    return error(EINVAL, "path is longer than XENSTORE_REL_PATH_MAX");
  }
  return name;
}

bool XsPath::isChildOrSelf(std::string_view child, std::string_view parent) {
  if (parent == "/") return !child.empty() && child[0] == '/';
  if (child.substr(0, parent.size()) != parent) return false;
  return child.size() == parent.size() || child[parent.size()] == '/';
}

std::string XsPath::parent(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return std::string(path.substr(0, slash));
}

std::string XsPath::basename(std::string_view path) { return std::string(path.substr(path.rfind('/') + 1)); }

std::string XsPath::join(std::string_view parent, std::string_view name) {
  return parent == "/" ? "/" + std::string(name) : std::string(parent) + "/" + std::string(name);
}

}  // namespace smartvm::dom0::xenstore
