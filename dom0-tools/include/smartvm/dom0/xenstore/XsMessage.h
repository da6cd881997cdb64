#pragma once
// One xenstore wire message (struct xsd_sockmsg + payload) and the helpers
// that build replies and split NUL-separated arguments the way xenstored does.
#include <cerrno>
#include <cstdint>
// xs_wire.h needs uint32_t and the errno names before it is included.
#include <xen/io/xs_wire.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smartvm::dom0::xenstore {

struct XsMessage {
  xsd_sockmsg hdr{};
  std::string payload;
  /// Set by the frame reader when hdr.len exceeded XENSTORE_PAYLOAD_MAX (payload is then empty).
  bool oversized = false;

  /// The header followed by the payload, as they go on the wire.
  static std::string encode(uint32_t type, uint32_t reqId, uint32_t txId, std::string_view payload);
};

/// Xen's error string for an errno value ("EINVAL"); unknown values map to
/// "EINVAL", as xenstored's send_error does.
const char* xsErrorString(int code);

/// The errno value for one of Xen's error strings; EINVAL for names not in the table.
int xsErrorCode(std::string_view name);

/// Splits a payload of NUL-terminated strings. nullopt when bytes follow the
/// last NUL (a missing terminator); an empty payload yields no strings.
std::optional<std::vector<std::string>> xsSplitStrings(std::string_view payload);

/// The one NUL-terminated argument of a payload (Xen's onearg), or nullopt.
std::optional<std::string> xsOneArg(std::string_view payload);

/// NUL-terminates each string and concatenates them (DIRECTORY, GET_PERMS replies).
std::string xsJoinStrings(const std::vector<std::string>& strings);

}  // namespace smartvm::dom0::xenstore
