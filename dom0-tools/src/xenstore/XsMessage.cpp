#include "smartvm/dom0/xenstore/XsMessage.h"

#include <cstring>
#include <iterator>

namespace smartvm::dom0::xenstore {

std::string XsMessage::encode(uint32_t type, uint32_t reqId, uint32_t txId, std::string_view payload) {
  xsd_sockmsg hdr{type, reqId, txId, static_cast<uint32_t>(payload.size())};
  std::string out(sizeof hdr + payload.size(), '\0');
  std::memcpy(out.data(), &hdr, sizeof hdr);
  std::memcpy(out.data() + sizeof hdr, payload.data(), payload.size());
  return out;
}

const char* xsErrorString(int code) {
  for (const auto& e : xsd_errors) {
    if (e.errnum == code) return e.errstring;
  }
  return xsd_errors[0].errstring;  // EINVAL, as xenstored does for untranslatable errors
}

int xsErrorCode(std::string_view name) {
  for (const auto& e : xsd_errors) {
    if (name == e.errstring) return e.errnum;
  }
  return EINVAL;
}

std::optional<std::vector<std::string>> xsSplitStrings(std::string_view payload) {
  std::vector<std::string> out;
  if (payload.empty()) return out;
  if (payload.back() != '\0') return std::nullopt;
  size_t start = 0;
  while (start < payload.size()) {
    const size_t nul = payload.find('\0', start);
    out.emplace_back(payload.substr(start, nul - start));
    start = nul + 1;
  }
  return out;
}

std::optional<std::string> xsOneArg(std::string_view payload) {
  auto parts = xsSplitStrings(payload);
  if (!parts || parts->size() != 1) return std::nullopt;
  return std::move(parts->front());
}

std::string xsJoinStrings(const std::vector<std::string>& strings) {
  std::string out;
  for (const auto& s : strings) {
    out += s;
    out.push_back('\0');
  }
  return out;
}

}  // namespace smartvm::dom0::xenstore
