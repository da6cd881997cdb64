#include "smartvm/dom0/xenstore/XsWatches.h"

#include <algorithm>

#include "smartvm/dom0/xenstore/XsPath.h"

namespace smartvm::dom0::xenstore {

Status XsWatches::add(XsWatch watch) {
  const bool dup = std::any_of(watches_.begin(), watches_.end(), [&](const XsWatch& w) {
    return w.connId == watch.connId && w.path == watch.path && w.token == watch.token;
  });
  if (dup) return error(EEXIST, "watch on " + watch.path + " with this token exists");
  if (watch.domid != 0 && countForDomain(watch.domid) >= quota_) return error(E2BIG, "watch quota exceeded");
  watches_.push_back(std::move(watch));
  return Status::ok();
}

Status XsWatches::remove(uint64_t connId, std::string_view path, std::string_view token) {
  auto it = std::find_if(watches_.begin(), watches_.end(),
                         [&](const XsWatch& w) { return w.connId == connId && w.path == path && w.token == token; });
  if (it == watches_.end()) return error(ENOENT, "no such watch");
  watches_.erase(it);
  return Status::ok();
}

void XsWatches::removeConnection(uint64_t connId) {
  std::erase_if(watches_, [connId](const XsWatch& w) { return w.connId == connId; });
}

std::vector<XsWatchEvent> XsWatches::match(const XsChange& change) const {
  std::vector<XsWatchEvent> out;
  for (const auto& w : watches_) {
    const bool hit =
        change.exact ? w.path == change.path
                     : XsPath::isChildOrSelf(change.path, w.path) || (change.path[0] == '@' && w.path == change.path);
    if (!hit || !change.readableBy(w.domid)) continue;
    out.push_back({w.connId, eventPath(w, change.path), w.token});
  }
  return out;
}

XsWatchEvent XsWatches::registrationEvent(const XsWatch& w) {
  return {w.connId, w.path.substr(w.relativePrefix), w.token};
}

size_t XsWatches::countForDomain(uint32_t domid) const {
  return static_cast<size_t>(
      std::count_if(watches_.begin(), watches_.end(), [domid](const XsWatch& w) { return w.domid == domid; }));
}

std::string XsWatches::eventPath(const XsWatch& w, const std::string& changed) {
  // A relative watch hears relative paths (Xen's get_watch_path); every path
  // it fires for lies below the home prefix it was resolved against.
  if (w.relativePrefix == 0 || changed.size() < w.relativePrefix) return changed;
  return changed.substr(w.relativePrefix);
}

}  // namespace smartvm::dom0::xenstore
