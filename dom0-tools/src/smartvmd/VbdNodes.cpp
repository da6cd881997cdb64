#include "smartvm/dom0/smartvmd/VbdNodes.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <functional>

#include "smartvm/dom0/config/XlDiskSpec.h"
#include "smartvm/dom0/xenstore/XenstoreClient.h"

namespace smartvm::dom0 {
namespace {

using xenstore::XenstoreClient;

// xen/io/xenbus.h's XenbusState values, without pulling in the Xen headers here.
constexpr int kInitialising = 1, kInitWait = 2, kClosing = 5, kClosed = 6;

int numberOr(const Result<std::string>& r, int fallback) {
  if (!r.isOk()) return fallback;
  int v = 0;
  const auto [end, ec] = std::from_chars(r->data(), r->data() + r->size(), v);
  return ec == std::errc() && end == r->data() + r->size() ? v : fallback;
}

Result<XenstoreClient> open(const std::string& socket) {
  auto xs = XenstoreClient::connect(socket);
  if (!xs.isOk()) return error(xs.status().code(), "disks need smartvm-xenstored: " + xs.status().message());
  return xs;
}

/// Runs `body` in a transaction, again from the start while it conflicts.
Status inTransaction(XenstoreClient& xs, const std::function<Status(uint32_t tx)>& body) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    SMARTVM_ASSIGN_OR_RETURN(const uint32_t tx, xs.transactionStart());
    if (Status s = body(tx); !s.isOk()) {
      (void)xs.transactionEnd(tx, false);
      return s;
    }
    Status end = xs.transactionEnd(tx, true);
    if (end.isOk() || end.code() != EAGAIN) return end;
  }
  return error(EAGAIN, "xenstore transaction kept conflicting");
}

/// Waits until `done` holds for the backend's state, re-checking on each watch event.
Status waitState(XenstoreClient& xs, const std::string& backend, std::chrono::milliseconds timeout,
                 const std::function<bool(int)>& done, int& last) {
  const std::string token = "vbd-wait";
  SMARTVM_TRY(xs.watch(backend + "/state", token));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Status result = error(ETIMEDOUT, "timed out");
  for (;;) {
    last = numberOr(xs.read(backend + "/state"), 0);
    if (done(last)) {
      result = Status::ok();
      break;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto ev = xs.waitEvent(left);
    if (!ev.isOk() && ev.status().code() != ETIMEDOUT) {
      result = ev.status();
      break;
    }
  }
  (void)xs.unwatch(backend + "/state", token);
  return result;
}

}  // namespace

std::string VbdNodes::backendPath(uint32_t domid, uint32_t devid) {
  return fmt::format("/local/domain/0/backend/vbd/{}/{}", domid, devid);
}

std::string VbdNodes::frontendPath(uint32_t domid, uint32_t devid) {
  return fmt::format("/local/domain/{}/device/vbd/{}", domid, devid);
}

Status VbdNodes::add(uint32_t domid, const v1::DiskSpec& disk) {
  SMARTVM_ASSIGN_OR_RETURN(const uint32_t devid, XlDiskSpec::deviceNumber(disk.vdev()));
  SMARTVM_ASSIGN_OR_RETURN(XenstoreClient xs, open(socket_));
  const std::string be = backendPath(domid, devid);
  const std::string fe = frontendPath(domid, devid);
  const std::string dom = std::to_string(domid);
  return inTransaction(xs, [&](uint32_t tx) -> Status {
    if (xs.read(be + "/state", tx).isOk()) {
      return error(EEXIST, fmt::format("{} is attached to domain {} already", disk.vdev(), domid));
    }
    // libxl__device_disk_add / libxl__device_generic_add, backend type qdisk.
    const std::pair<const char*, std::string> back[] = {
        {"frontend", fe},
        {"frontend-id", dom},
        {"online", "1"},
        {"removable", "1"},
        {"bootable", "1"},
        {"dev", disk.vdev()},
        {"type", "qdisk"},
        {"mode", disk.read_only() ? "r" : "w"},
        {"device-type", "disk"},
        {"discard-enable", disk.read_only() ? "0" : "1"},
        {"params", fmt::format("{}:{}", disk.format() == "qcow2" ? "qcow2" : "aio", disk.target())},
        {"state", std::to_string(kInitialising)},
    };
    const std::pair<const char*, std::string> front[] = {
        {"backend", be},
        {"backend-id", "0"},
        {"virtual-device", std::to_string(devid)},
        {"device-type", "disk"},
        {"state", std::to_string(kInitialising)},
    };
    SMARTVM_TRY(xs.mkdir(be, tx));
    // Backend: dom0's, readable by the guest. Frontend: the guest's, readable by dom0.
    SMARTVM_TRY(xs.setPerms(be, {"n0", "r" + dom}, tx));
    SMARTVM_TRY(xs.mkdir(fe, tx));
    SMARTVM_TRY(xs.setPerms(fe, {"n" + dom, "r0"}, tx));
    for (const auto& [k, v] : front) SMARTVM_TRY(xs.write(fe + "/" + k, v, tx));
    // The backend's `state` goes last: smartvm-blkback takes a device once its state reads Initialising.
    for (const auto& [k, v] : back) SMARTVM_TRY(xs.write(be + "/" + k, v, tx));
    return Status::ok();
  });
}

Status VbdNodes::waitForBackend(uint32_t domid, uint32_t devid, std::chrono::milliseconds timeout) {
  SMARTVM_ASSIGN_OR_RETURN(XenstoreClient xs, open(socket_));
  const std::string be = backendPath(domid, devid);
  int state = 0;
  const Status s = waitState(xs, be, timeout, [](int st) { return st >= kInitWait; }, state);
  if (!s.isOk()) {
    if (s.code() != ETIMEDOUT) return s;
    return error(ETIMEDOUT, fmt::format("smartvm-blkback is not answering: no block backend took {} within {} ms "
                                        "(is smartvm-blkback running?)",
                                        be, timeout.count()));
  }
  if (state >= kClosing) {
    auto why = xs.read(be + "/hotplug-error");
    // The request was sound; the disk behind it cannot be served as things
    // stand (missing image, bad format): FAILED_PRECONDITION, not INTERNAL.
    return error(ENODEV, fmt::format("the block backend refused the disk: {}",
                                  why.isOk() ? *why : std::string("it closed the device")));
  }
  return Status::ok();
}

Status VbdNodes::remove(uint32_t domid, uint32_t devid, std::chrono::milliseconds timeout) {
  SMARTVM_ASSIGN_OR_RETURN(XenstoreClient xs, open(socket_));
  const std::string be = backendPath(domid, devid);
  if (!xs.read(be + "/state").isOk()) return error(ENOENT, fmt::format("no disk {} in domain {}", devid, domid));
  // libxl__initiate_device_generic_remove: online 0 and Closing together; the backend answers Closed.
  SMARTVM_TRY(inTransaction(xs, [&](uint32_t tx) -> Status {
    SMARTVM_TRY(xs.write(be + "/online", "0", tx));
    return xs.write(be + "/state", std::to_string(kClosing), tx);
  }));
  int state = 0;
  // A backend that is gone or stuck must not keep the device forever: remove the nodes after the wait either way.
  (void)waitState(xs, be, timeout, [](int st) { return st == kClosed || st == 0; }, state);
  SMARTVM_TRY(xs.rm(be));
  const Status fe = xs.rm(frontendPath(domid, devid));
  if (!fe.isOk() && fe.code() != ENOENT) return fe;
  return Status::ok();
}

Status VbdNodes::removeAll(uint32_t domid, std::chrono::milliseconds timeout) {
  auto disks = list(domid);
  if (disks.isOk()) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (const Disk& d : *disks) {
      const auto left = std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                   deadline - std::chrono::steady_clock::now()));
      const Status s = remove(domid, d.devid, left);
      if (!s.isOk() && s.code() != ENOENT) return s;
    }
  }
  SMARTVM_ASSIGN_OR_RETURN(XenstoreClient xs, open(socket_));
  const Status s = xs.rm(fmt::format("/local/domain/0/backend/vbd/{}", domid));
  if (!s.isOk() && s.code() != ENOENT) return s;
  return Status::ok();
}

Result<std::vector<VbdNodes::Disk>> VbdNodes::list(uint32_t domid) {
  SMARTVM_ASSIGN_OR_RETURN(XenstoreClient xs, open(socket_));
  std::vector<Disk> out;
  auto devs = xs.directory(fmt::format("/local/domain/0/backend/vbd/{}", domid));
  if (!devs.isOk()) {
    if (devs.status().code() == ENOENT) return out;
    return devs.status();
  }
  for (const std::string& d : *devs) {
    Disk disk;
    if (std::from_chars(d.data(), d.data() + d.size(), disk.devid).ec != std::errc()) continue;
    disk.backendPath = backendPath(domid, disk.devid);
    const std::string fe = frontendPath(domid, disk.devid);
    disk.backendState = numberOr(xs.read(disk.backendPath + "/state"), 0);
    disk.frontendState = numberOr(xs.read(fe + "/state"), 0);
    disk.eventChannel = numberOr(xs.read(fe + "/event-channel"), -1);
    disk.ringRef = numberOr(xs.read(fe + "/ring-ref"), -1);
    if (auto e = xs.read(disk.backendPath + "/hotplug-error"); e.isOk()) disk.error = *e;
    auto params = xs.read(disk.backendPath + "/params");
    if (params.isOk()) {
      const size_t colon = params->find(':');
      const std::string fmtName = colon == std::string::npos ? "raw" : params->substr(0, colon);
      disk.spec.set_format(fmtName == "qcow2" ? "qcow2" : "raw");
      disk.spec.set_target(colon == std::string::npos ? *params : params->substr(colon + 1));
    }
    if (auto v = xs.read(disk.backendPath + "/dev"); v.isOk()) disk.spec.set_vdev(*v);
    auto mode = xs.read(disk.backendPath + "/mode");
    disk.spec.set_read_only(mode.isOk() && *mode == "r");
    out.push_back(std::move(disk));
  }
  std::sort(out.begin(), out.end(), [](const Disk& a, const Disk& b) { return a.devid < b.devid; });
  return out;
}

}  // namespace smartvm::dom0
