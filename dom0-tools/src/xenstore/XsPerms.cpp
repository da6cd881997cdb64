#include "smartvm/dom0/xenstore/XsPerms.h"

#include <charconv>

namespace smartvm::dom0::xenstore {
namespace {

Result<XsPermEntry> parseEntry(const std::string& s) {
  if (s.size() < 2) return error(EINVAL, "permission '" + s + "' is too short");
  XsPermEntry e;
  switch (s[0]) {
    case 'n': e.access = kXsNone; break;
    case 'r': e.access = kXsRead; break;
    case 'w': e.access = kXsWrite; break;
    case 'b': e.access = kXsBoth; break;
    default: return error(EINVAL, "permission '" + s + "' has an unknown access letter");
  }
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data() + 1, end, e.domid);
  if (ec != std::errc() || ptr != end) return error(EINVAL, "permission '" + s + "' has a bad domid");
  return e;
}

}  // namespace

Result<XsPerms> XsPerms::parse(const std::vector<std::string>& strings) {
  if (strings.empty()) return error(EINVAL, "empty permission list");
  std::vector<XsPermEntry> entries;
  for (const auto& s : strings) {
    auto e = parseEntry(s);
    if (!e) return e.status();
    entries.push_back(*e);
  }
  return XsPerms(std::move(entries));
}

std::vector<std::string> XsPerms::toStrings() const {
  static constexpr char kLetters[] = {'n', 'r', 'w', 'b'};
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(kLetters[e.access & kXsBoth] + std::to_string(e.domid));
  return out;
}

uint8_t XsPerms::accessFor(uint32_t domid) const {
  if (domid == 0 || domid == owner()) return kXsBoth;
  for (size_t i = 1; i < entries_.size(); ++i) {
    if (entries_[i].domid == domid) return entries_[i].access;
  }
  return entries_.front().access;
}

}  // namespace smartvm::dom0::xenstore
