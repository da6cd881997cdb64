#include "smartvm/dom0/blkback/BlkbackDaemon.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <filesystem>

namespace smartvm::dom0::blkback {
namespace {

constexpr const char* kBackendToken = "backend";
constexpr const char* kFrontendTokenPrefix = "frontend:";

std::optional<uint32_t> number(std::string_view s) {
  uint32_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

/// `<root>/<domid>/<devid>[/...]` -> (domid, devid).
std::optional<std::pair<uint32_t, uint32_t>> keyOf(std::string_view path) {
  const std::string_view root = BlkbackDaemon::kBackendRoot;
  if (path.substr(0, root.size()) != root || path.size() <= root.size() + 1 || path[root.size()] != '/') {
    return std::nullopt;
  }
  path.remove_prefix(root.size() + 1);
  const size_t slash = path.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto domid = number(path.substr(0, slash));
  std::string_view rest = path.substr(slash + 1);
  const auto devid = number(rest.substr(0, rest.find('/')));
  if (!domid || !devid) return std::nullopt;
  return std::make_pair(*domid, *devid);
}

/// libxl's qdisk `params`: "<format>:<path>", "aio" meaning raw.
Result<std::pair<std::string, std::string>> parseParams(const std::string& params) {
  const size_t colon = params.find(':');
  if (colon == std::string::npos) return std::make_pair(std::string("raw"), params);
  const std::string fmtName = params.substr(0, colon);
  const std::string path = params.substr(colon + 1);
  if (fmtName == "aio" || fmtName == "raw") return std::make_pair(std::string("raw"), path);
  if (fmtName == "qcow2") return std::make_pair(fmtName, path);
  return error(EINVAL, fmt::format("params: format '{}' is not served (raw or qcow2)", fmtName));
}

}  // namespace

BlkbackDaemon::BlkbackDaemon(Options o) : opt_(std::move(o)) {}

BlkbackDaemon::~BlkbackDaemon() { stop(); }

std::string BlkbackDaemon::exportId(Key key) { return fmt::format("vbd{}-{}", key.first, key.second); }

Status BlkbackDaemon::start() {
  auto xs = xenstore::XenstoreClient::connect(opt_.xenstoredSocket);
  if (!xs.isOk()) return error(xs.status().code(), "xenstored: " + xs.status().message());
  xs_.emplace(std::move(*xs));
  auto grants = GrantClient::connect(opt_.hvSocket);
  if (!grants.isOk()) return error(grants.status().code(), "smartvm-hv: " + grants.status().message());
  grants_.emplace(std::move(*grants));
  auto events = EventChannelClient::connect(opt_.hvSocket);
  if (!events.isOk()) return error(events.status().code(), "smartvm-hv: " + events.status().message());
  events_.emplace(std::move(*events));
  store_ = std::make_unique<XenstoreXenbusStore>(*xs_);

  std::error_code ec;
  std::filesystem::create_directories(opt_.runDir, ec);
  if (ec) return error(ec.value(), fmt::format("cannot create {}: {}", opt_.runDir, ec.message()));
  storage_ = std::make_unique<qemu::StorageDaemon>(qemu::StorageDaemon::Options{opt_.qemuStorageDaemon, opt_.runDir});
  SMARTVM_TRY(storage_->start());
  storageRestarts_ = storage_->restarts();

  SMARTVM_TRY(xs_->watch(kBackendRoot, kBackendToken));  // fires once at once: picks up existing devices
  scanAll();
  return Status::ok();
}

void BlkbackDaemon::stop() {
  for (auto& [key, dev] : devices_) dev->disconnect();
  devices_.clear();
  if (storage_) storage_->stop();
  storage_.reset();
}

const BlkbackDevice* BlkbackDaemon::device(uint32_t domid, uint32_t devid) const {
  auto it = devices_.find({domid, devid});
  return it == devices_.end() ? nullptr : it->second.get();
}

Status BlkbackDaemon::runOnce(std::chrono::milliseconds timeout) {
  auto ev = xs_->waitEvent(timeout);
  while (ev.isOk()) {
    handleEvent(*ev);
    ev = xs_->waitEvent(std::chrono::milliseconds(0));
  }
  if (ev.status().code() != ETIMEDOUT) return error(ev.status().code(), "xenstored: " + ev.status().message());
  superviseStorage();
  return Status::ok();
}

void BlkbackDaemon::handleEvent(const xenstore::XsEvent& ev) {
  if (ev.token == kBackendToken) {
    if (ev.path == kBackendRoot) {
      scanAll();
    } else if (auto key = keyOf(ev.path)) {
      sync(*key);
    } else if (ev.path.rfind(std::string(kBackendRoot) + "/", 0) == 0) {
      scanAll();  // a whole domain's directory came or went
    }
    return;
  }
  if (ev.token.rfind(kFrontendTokenPrefix, 0) == 0) {
    const std::string_view rest = std::string_view(ev.token).substr(std::strlen(kFrontendTokenPrefix));
    const size_t colon = rest.find(':');
    const auto domid = number(rest.substr(0, colon));
    const auto devid = colon == std::string_view::npos ? std::nullopt : number(rest.substr(colon + 1));
    if (!domid || !devid) return;
    if (auto it = devices_.find({*domid, *devid}); it != devices_.end()) it->second->frontendChanged();
  }
}

void BlkbackDaemon::scanAll() {
  std::set<Key> seen;
  auto domains = xs_->directory(kBackendRoot);
  if (domains.isOk()) {
    for (const std::string& d : *domains) {
      auto devs = xs_->directory(std::string(kBackendRoot) + "/" + d);
      if (!devs.isOk()) continue;
      for (const std::string& v : *devs) {
        const auto domid = number(d);
        const auto devid = number(v);
        if (domid && devid) seen.insert({*domid, *devid});
      }
    }
  }
  for (const Key& k : seen) sync(k);
  std::vector<Key> gone;
  for (const auto& [k, dev] : devices_) {
    if (seen.count(k) == 0) gone.push_back(k);
  }
  for (const Key& k : gone) remove(k, "its backend directory was removed");
  for (auto it = refused_.begin(); it != refused_.end();) it = seen.count(*it) ? std::next(it) : refused_.erase(it);
}

void BlkbackDaemon::sync(Key key) {
  const std::string path = fmt::format("{}/{}/{}", kBackendRoot, key.first, key.second);
  auto online = xs_->read(path + "/online");
  const bool exists = online.isOk() || xs_->read(path + "/frontend").isOk();
  if (!exists) {
    refused_.erase(key);
    if (devices_.count(key)) remove(key, "its backend directory was removed");
    return;
  }
  const bool wanted = online.isOk() && *online == "1";
  if (!wanted) {
    // Detach (libxl: online 0, state Closing): answer Closed once the device is down, known to us or not.
    if (devices_.count(key)) remove(key, "the toolstack set online to 0");
    // In a transaction: the toolstack may remove the directory meanwhile, and a
    // plain write would bring a lone `state` node back.
    for (int attempt = 0; attempt < 8; ++attempt) {
      auto tx = xs_->transactionStart();
      if (!tx.isOk()) return;
      auto st = xs_->read(path + "/state", *tx);
      auto on = xs_->read(path + "/online", *tx);  // re-added meanwhile: not ours to close
      if (st.isOk() && *st != std::to_string(XenbusStateClosed) && !(on.isOk() && *on == "1")) {
        (void)xs_->write(path + "/state", std::to_string(XenbusStateClosed), *tx);
      }
      const Status end = xs_->transactionEnd(*tx, true);
      if (end.code() != EAGAIN) return;
    }
    return;
  }
  if (devices_.count(key)) return;
  if (refused_.count(key)) return;
  auto state = xs_->read(path + "/state");
  // The toolstack writes state 1 (Initialising); anything else is a device that was ours before.
  if (!state.isOk() || *state != std::to_string(XenbusStateInitialising)) return;
  if (Status s = create(key, path); !s.isOk()) refuse(key, path, s);
}

Status BlkbackDaemon::create(Key key, const std::string& backendPath) {
  SMARTVM_ASSIGN_OR_RETURN(const std::string frontend, xs_->read(backendPath + "/frontend"));
  SMARTVM_ASSIGN_OR_RETURN(const std::string frontendId, xs_->read(backendPath + "/frontend-id"));
  SMARTVM_ASSIGN_OR_RETURN(const std::string params, xs_->read(backendPath + "/params"));
  auto mode = xs_->read(backendPath + "/mode");
  const std::string expectFrontend = fmt::format("/local/domain/{}/device/vbd/{}", key.first, key.second);
  if (frontend != expectFrontend || frontendId != std::to_string(key.first)) {
    return error(EINVAL, fmt::format("frontend '{}' (id {}) does not belong to this backend (want {})", frontend,
                                     frontendId, expectFrontend));
  }
  SMARTVM_ASSIGN_OR_RETURN(const auto formatAndPath, parseParams(params));
  const bool readOnly = mode.isOk() && *mode == "r";

  const qemu::ExportSpec spec{exportId(key), formatAndPath.second, formatAndPath.first, readOnly};
  SMARTVM_TRY(qemu::StorageDaemon::validate(spec));
  SMARTVM_TRY(storage_->addExport(spec));
  auto nbd = qemu::NbdDisk::open(storage_->nbdSocket(), spec.id);
  if (!nbd.isOk()) {
    (void)storage_->removeExport(spec.id);
    return nbd.status();
  }
  auto disk = std::make_unique<NbdBlockDevice>(std::move(*nbd));
  BlkbackXenbus::Config cfg;
  cfg.backendPath = backendPath;
  cfg.frontendPath = frontend;
  cfg.sectors = disk->sizeBytes() / 512;
  cfg.readOnly = readOnly;
  cfg.discard = disk->canDiscard();
  cfg.persistentGrants = opt_.persistentGrants;
  auto dev = std::make_unique<BlkbackDevice>(BlkbackDevice::Identity{key.first, key.second, backendPath, frontend},
                                             std::move(disk), *store_, BlkbackDevice::Hv{&*grants_, &*events_}, cfg);
  if (Status s = dev->probe(); !s.isOk()) {
    dev.reset();
    (void)storage_->removeExport(spec.id);
    return s;
  }
  SMARTVM_TRY(xs_->watch(frontend + "/state", fmt::format("{}{}:{}", kFrontendTokenPrefix, key.first, key.second)));
  spdlog::info("blkback: serving {} ({}, {}) as {}", formatAndPath.second, formatAndPath.first,
               readOnly ? "read-only" : "read-write", backendPath);
  devices_[key] = std::move(dev);
  return Status::ok();
}

void BlkbackDaemon::refuse(Key key, const std::string& backendPath, const Status& why) {
  // libxl reads hotplug-error when a device does not come up; Closed ends its wait.
  spdlog::error("blkback: cannot serve {}: {}", backendPath, why.toString());
  refused_.insert(key);
  (void)xs_->write(backendPath + "/hotplug-error", why.message());
  (void)xs_->write(backendPath + "/hotplug-status", "error");
  (void)xs_->write(backendPath + "/state", std::to_string(XenbusStateClosed));
}

void BlkbackDaemon::remove(Key key, const char* why) {
  auto it = devices_.find(key);
  if (it == devices_.end()) return;
  const std::string frontend = it->second->identity().frontendPath;
  spdlog::info("blkback: {} stopped: {}", it->second->identity().backendPath, why);
  devices_.erase(it);  // disconnects: thread joined, ring unmapped, port closed
  (void)xs_->unwatch(frontend + "/state", fmt::format("{}{}:{}", kFrontendTokenPrefix, key.first, key.second));
  if (Status s = storage_->removeExport(exportId(key)); !s.isOk()) {
    spdlog::warn("blkback: removing export {}: {}", exportId(key), s.message());
  }
}

void BlkbackDaemon::superviseStorage() {
  const auto now = std::chrono::steady_clock::now();
  if (now - lastSupervise_ < kSuperviseEvery) return;
  lastSupervise_ = now;
  if (Status s = storage_->ensureRunning(); !s.isOk()) {
    spdlog::error("blkback: the storage daemon is down and did not restart: {}", s.message());
    return;
  }
  if (storage_->restarts() != storageRestarts_) {
    storageRestarts_ = storage_->restarts();
    spdlog::warn("blkback: the storage daemon was restarted ({} restarts); reconnecting {} disk(s)", storageRestarts_,
                 devices_.size());
    for (auto& [key, dev] : devices_) dev->storageRestarted();
  }
}

}  // namespace smartvm::dom0::blkback
