#include "smartvm/dom0/blkback/BlkbackXenbus.h"

#include <xen/io/blkif.h>
#include <xen/io/protocols.h>

#include "smartvm/Log.h"

namespace smartvm::dom0::blkback {

namespace {

/// A decimal number and nothing else, within [0, max]: what xenbus_scanf
/// with "%u" would accept, minus its leniency (signs, trailing junk).
Result<uint64_t> parseNumber(const std::string& text, uint64_t max) {
  if (text.empty() || text.size() > 20) return error(EINVAL, "'" + text.substr(0, 40) + "' is not a number");
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return error(EINVAL, "'" + text.substr(0, 40) + "' is not a number");
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return error(ERANGE, "'" + text.substr(0, 40) + "' is larger than " + std::to_string(max));
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

BlkbackXenbus::BlkbackXenbus(XenbusStore& store, BlkbackConnector& connector, Config c)
    : store_(store), connector_(connector), cfg_(std::move(c)) {}

std::string BlkbackXenbus::errorPath() const {
  const std::string home = "/local/domain/0/";
  std::string rel = cfg_.backendPath.rfind(home, 0) == 0 ? cfg_.backendPath.substr(home.size()) : cfg_.backendPath;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  return home + "error/" + rel + "/error";
}

Status BlkbackXenbus::switchState(XenbusState s) {
  SMARTVM_TRY(store_.write(cfg_.backendPath + "/state", std::to_string(static_cast<int>(s))));
  state_ = s;
  return Status::ok();
}

void BlkbackXenbus::fatal(const Status& why) {
  lastError_ = why.message();
  spdlog::warn("blkback {}: {}", cfg_.backendPath, why.toString());
  (void)store_.write(errorPath(), std::to_string(-why.code()) + " " + why.message());
  connector_.disconnect();
  (void)switchState(XenbusStateClosing);
}

Status BlkbackXenbus::probe() {
  const std::string& b = cfg_.backendPath;
  auto put = [&](const char* key, const std::string& v) { return store_.write(b + "/" + key, v); };
  SMARTVM_TRY(put("feature-flush-cache", "1"));
  SMARTVM_TRY(put("feature-barrier", "1"));
  SMARTVM_TRY(put("feature-persistent", cfg_.persistentGrants ? "1" : "0"));
  SMARTVM_TRY(put("feature-max-indirect-segments", std::to_string(cfg_.maxIndirectSegments)));
  SMARTVM_TRY(put("max-ring-page-order", std::to_string(cfg_.maxRingPageOrder)));
  if (cfg_.discard && !cfg_.readOnly) {
    SMARTVM_TRY(put("feature-discard", "1"));
    SMARTVM_TRY(put("discard-granularity", "4096"));
    SMARTVM_TRY(put("discard-alignment", "0"));
    SMARTVM_TRY(put("discard-secure", "0"));
  }
  return switchState(XenbusStateInitWait);
}

Result<uint64_t> BlkbackXenbus::readNumber(const std::string& key, uint64_t max, bool required, uint64_t fallback) {
  auto v = store_.read(cfg_.frontendPath + "/" + key);
  if (!v.isOk()) {
    if (v.status().code() == ENOENT && !required) return fallback;
    return error(v.status().code(), "reading " + cfg_.frontendPath + "/" + key + ": " + v.status().message());
  }
  auto n = parseNumber(*v, max);
  if (!n.isOk()) return error(n.status().code(), cfg_.frontendPath + "/" + key + ": " + n.status().message());
  return n;
}

Result<RingParams> BlkbackXenbus::readRing() {
  RingParams p;
  SMARTVM_ASSIGN_OR_RETURN(uint64_t order, readNumber("ring-page-order", UINT32_MAX, false, 0));
  if (order > cfg_.maxRingPageOrder)
    return error(EINVAL, "ring-page-order " + std::to_string(order) + " above the offered " +
                             std::to_string(cfg_.maxRingPageOrder));
  p.pageOrder = static_cast<unsigned>(order);
  if (order == 0 && store_.read(cfg_.frontendPath + "/ring-ref").isOk()) {
    SMARTVM_ASSIGN_OR_RETURN(uint64_t ref, readNumber("ring-ref", UINT32_MAX, true));
    p.ringRefs.push_back(static_cast<grant_ref_t>(ref));
  } else {
    for (unsigned i = 0; i < (1u << order); ++i) {
      SMARTVM_ASSIGN_OR_RETURN(uint64_t ref, readNumber("ring-ref" + std::to_string(i), UINT32_MAX, true));
      p.ringRefs.push_back(static_cast<grant_ref_t>(ref));
    }
  }
  SMARTVM_ASSIGN_OR_RETURN(uint64_t port, readNumber("event-channel", UINT32_MAX, true));
  p.eventChannel = static_cast<evtchn_port_t>(port);
  // As xenbus_read_unsigned(otherend, "feature-persistent", 0): absent or
  // malformed is 0, any other number is on.
  if (cfg_.persistentGrants) {
    auto pers = readNumber("feature-persistent", UINT64_MAX, false, 0);
    p.persistent = pers.isOk() && *pers != 0;
  }
  auto proto = store_.read(cfg_.frontendPath + "/protocol");
  if (proto.isOk() && *proto != XEN_IO_PROTO_ABI_NATIVE)
    return error(ENOSYS, "protocol '" + proto->substr(0, 40) + "' is not supported (only " +
                             XEN_IO_PROTO_ABI_NATIVE + ")");
  return p;
}

Status BlkbackXenbus::connect() {
  SMARTVM_ASSIGN_OR_RETURN(RingParams p, readRing());
  if (Status s = connector_.connectRing(p); !s.isOk())
    return error(s.code(), "mapping ring " + std::to_string(p.ringRefs.front()) + " port " +
                               std::to_string(p.eventChannel) + ": " + s.message());
  const std::string& b = cfg_.backendPath;
  SMARTVM_TRY(store_.write(b + "/sectors", std::to_string(cfg_.sectors)));
  SMARTVM_TRY(store_.write(b + "/sector-size", "512"));
  SMARTVM_TRY(store_.write(b + "/physical-sector-size", "512"));
  SMARTVM_TRY(store_.write(b + "/info", std::to_string(cfg_.readOnly ? VDISK_READONLY : 0)));
  return switchState(XenbusStateConnected);
}

void BlkbackXenbus::frontendChanged() {
  auto st = store_.read(cfg_.frontendPath + "/state");
  // A frontend directory that is gone reads as Unknown, as xenbus_read_driver_state does.
  uint64_t fe = XenbusStateUnknown;
  if (st.isOk()) {
    auto n = parseNumber(*st, 255);
    if (!n.isOk()) {
      fatal(error(EINVAL, "frontend state " + n.status().message()));
      return;
    }
    fe = *n;
  }
  switch (fe) {
    case XenbusStateInitialising:
      if (state_ == XenbusStateClosed) (void)switchState(XenbusStateInitWait);  // prepare for reconnect
      return;
    case XenbusStateInitialised:
    case XenbusStateConnected:
      if (state_ == XenbusStateConnected) return;
      connector_.disconnect();  // idempotent: nothing left from an earlier connection
      if (Status s = connect(); !s.isOk()) fatal(s);
      return;
    case XenbusStateClosing:
      (void)switchState(XenbusStateClosing);
      return;
    case XenbusStateClosed:
    case XenbusStateUnknown:
      connector_.disconnect();
      (void)switchState(XenbusStateClosed);
      return;
    case XenbusStateInitWait:
      return;  // a frontend never waits; harmless
    default:
      fatal(error(EINVAL, "saw state " + std::to_string(fe) + " at frontend"));
  }
}

}  // namespace smartvm::dom0::blkback
