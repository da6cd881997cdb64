#include "smartvm/dom0/smartvmd/XenstoreDomains.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <random>
#include <vector>

namespace smartvm::dom0 {
namespace {

using xenstore::XenstoreClient;

/// One node: path relative to the domain's directory (or absolute), value, guest-writable.
struct Node {
  std::string path;
  std::string value;
  bool guestWritable = false;
};

/// A random (version 4) UUID for /vm/<uuid>: domains have no UUID of their own yet.
std::string newUuid() {
  uint8_t b[16];
  std::ifstream rnd("/dev/urandom", std::ios::binary);
  if (!rnd.read(reinterpret_cast<char*>(b), sizeof b)) {
    std::random_device dev;
    for (auto& x : b) x = static_cast<uint8_t>(dev());
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  return fmt::format("{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                     b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                     b[15]);
}

/// What libxl__domain_make and libxl__build_post write for a PVH guest.
std::vector<Node> domainNodes(const v1::DomainInfo& info, const std::string& vmPath) {
  const uint32_t domid = info.domid();
  const uint64_t memKb = info.memory_mib() * 1024;
  std::vector<Node> n = {
      {"", ""},
      {"vm", vmPath},
      {"name", info.name()},
      {"domid", std::to_string(domid)},
      {"device", ""},
      {"device/suspend", ""},
      {"device/suspend/event-channel", "", true},
      {"control", ""},
      {"control/shutdown", "", true},
      {"control/feature-poweroff", "", true},
      {"control/feature-reboot", "", true},
      {"control/feature-suspend", "", true},
      {"control/sysrq", "", true},
      {"control/platform-feature-multiprocessor-suspend", "1"},
      {"control/platform-feature-xs_reset_watches", "1"},
      {"data", "", true},
      {"drivers", "", true},
      {"feature", "", true},
      {"attr", "", true},
      {"error", "", true},
      {"memory", ""},
      {"memory/static-max", std::to_string(memKb)},
      {"memory/target", std::to_string(memKb)},
      {"cpu", ""},
  };
  const uint32_t vcpus = info.vcpus() != 0 ? info.vcpus() : 1;
  for (uint32_t i = 0; i < vcpus; ++i) n.push_back({fmt::format("cpu/{}/availability", i), "online"});
  if (info.store_gfn() != 0) {
    n.push_back({"store", ""});
    n.push_back({"store/port", std::to_string(info.store_port())});
    n.push_back({"store/ring-ref", std::to_string(info.store_gfn())});
  }
  if (info.console_gfn() != 0) {
    // The primary console's frontend, as libxl__device_console_add writes it for xenconsoled.
    n.push_back({"console", ""});
    n.push_back({"console/port", std::to_string(info.console_port())});
    n.push_back({"console/ring-ref", std::to_string(info.console_gfn())});
    n.push_back({"console/limit", std::to_string(XenstoreDomains::kConsoleLimit)});
    n.push_back({"console/type", "xenconsoled"});
    n.push_back({"console/output", "pty"});
  }
  n.push_back({vmPath, ""});
  n.push_back({vmPath + "/uuid", vmPath.substr(vmPath.rfind('/') + 1)});
  n.push_back({vmPath + "/name", info.name()});
  n.push_back({vmPath + "/start_time", fmt::format("{}.{:02}", info.created_unix_ms() / 1000,
                                                   (info.created_unix_ms() % 1000) / 10)});
  return n;
}

Status writeAll(XenstoreClient& xs, const v1::DomainInfo& info, const std::string& vmPath, uint32_t tx) {
  const uint32_t domid = info.domid();
  const std::string dom = XenstoreDomains::domainPath(domid);
  // libxl's roperm (dom0 owns, the guest reads) and rwperm (the guest owns).
  const std::vector<std::string> ro = {"n0", fmt::format("r{}", domid)};
  const std::vector<std::string> rw = {fmt::format("n{}", domid)};
  // A domid used before (smartvmd or xenstored restarted, a domain that went on its own): start clean.
  if (auto old = xs.read(dom + "/vm", tx); old.isOk() && old->rfind("/vm/", 0) == 0 && old->size() > 4) {
    if (Status s = xs.rm(*old, tx); !s.isOk() && s.code() != ENOENT) return s;
  }
  if (Status s = xs.rm(dom, tx); !s.isOk() && s.code() != ENOENT) return s;
  for (const Node& node : domainNodes(info, vmPath)) {
    const std::string path = node.path.rfind('/', 0) == 0 ? node.path : node.path.empty() ? dom : dom + "/" + node.path;
    SMARTVM_TRY(xs.write(path, node.value, tx));
    SMARTVM_TRY(xs.setPerms(path, node.guestWritable ? rw : ro, tx));
  }
  return Status::ok();
}

}  // namespace

Result<XenstoreClient> XenstoreDomains::connect() {
  auto xs = XenstoreClient::connect(socket_);
  if (!xs) {
    if (!warned_.exchange(true)) {
      spdlog::warn("{}: domains run without xenstore nodes until it is (start smartvm-xenstored, or set "
                   "--xenstored-socket)",
                   xs.status().message());
    }
    return xs.status();
  }
  if (warned_.exchange(false)) spdlog::info("xenstored is reachable again at {}", socket_);
  return xs;
}

Status XenstoreDomains::writeNodes(const v1::DomainInfo& info) {
  SMARTVM_ASSIGN_OR_RETURN(XenstoreClient xs, connect());
  const std::string vmPath = "/vm/" + newUuid();
  // libxl retries its transaction while it conflicts with another writer.
  for (int attempt = 0;; ++attempt) {
    SMARTVM_ASSIGN_OR_RETURN(const uint32_t tx, xs.transactionStart());
    if (Status s = writeAll(xs, info, vmPath, tx); !s.isOk()) {
      (void)xs.transactionEnd(tx, false);
      return s;
    }
    Status s = xs.transactionEnd(tx, true);
    if (s.isOk()) return s;
    if (s.code() != EAGAIN || attempt >= 4) return s;
  }
}

Status XenstoreDomains::introduce(const v1::DomainInfo& info) {
  if (info.store_gfn() == 0) return error(ENODATA, "no xenstore ring");
  SMARTVM_ASSIGN_OR_RETURN(XenstoreClient xs, connect());
  return xs.introduce(info.domid(), info.store_gfn(), info.store_port());
}

Status XenstoreDomains::removeDomain(uint32_t domid) {
  SMARTVM_ASSIGN_OR_RETURN(XenstoreClient xs, connect());
  if (Status s = xs.release(domid); !s.isOk() && s.code() != ENOENT) {
    spdlog::warn("xenstore: RELEASE of domain {}: {}", domid, s.toString());
  }
  const std::string dom = domainPath(domid);
  auto vm = xs.read(dom + "/vm");
  if (vm.isOk() && vm->rfind("/vm/", 0) == 0 && vm->size() > 4) {
    if (Status s = xs.rm(*vm); !s.isOk() && s.code() != ENOENT) return s;
  }
  if (Status s = xs.rm(dom); !s.isOk() && s.code() != ENOENT) return s;
  return Status::ok();
}

void XenstoreDomains::onCreated(const v1::DomainInfo& info) {
  if (Status s = writeNodes(info); !s.isOk()) {
    if (s.code() != ECONNREFUSED) spdlog::warn("xenstore: nodes of domain {}: {}", info.domid(), s.toString());
    return;
  }
  Status s = introduce(info);
  if (s.code() == ENODATA) {
    spdlog::info("domain {} (id {}) has no xenstore ring (store_gfn 0): not introduced to xenstored", info.name(),
                 info.domid());
  } else if (!s.isOk()) {
    spdlog::warn("xenstore: INTRODUCE of domain {} (id {}, gfn {:#x}, port {}) failed: {}", info.name(),
                 info.domid(), info.store_gfn(), info.store_port(), s.toString());
  } else {
    spdlog::info("domain {} (id {}) introduced to xenstored (store gfn {:#x}, port {})", info.name(), info.domid(),
                 info.store_gfn(), info.store_port());
  }
}

void XenstoreDomains::onRestarted(const v1::DomainInfo& info) {
  // As xl on reboot: the old domain's nodes and connection go, the new ones come (here with the same domid).
  onDestroyed(info.domid());
  onCreated(info);
}

void XenstoreDomains::onDestroyed(uint32_t domid) {
  if (Status s = removeDomain(domid); !s.isOk() && s.code() != ECONNREFUSED) {
    spdlog::warn("xenstore: removing domain {}: {}", domid, s.toString());
  }
}

}  // namespace smartvm::dom0
