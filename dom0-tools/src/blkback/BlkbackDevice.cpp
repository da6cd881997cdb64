#include "smartvm/dom0/blkback/BlkbackDevice.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace smartvm::dom0::blkback {
namespace {

/// How often the I/O thread looks up from the event channel to check for a stop.
constexpr std::chrono::milliseconds kWakeEvery{200};

}  // namespace

BlkbackDevice::BlkbackDevice(Identity id, std::unique_ptr<NbdBlockDevice> disk, XenbusStore& store, Hv hv,
                             BlkbackXenbus::Config xenbus)
    : id_(std::move(id)),
      disk_(std::move(disk)),
      hv_(hv),
      grantIo_(*hv.grants, id_.domid),
      mapper_(*hv.grants, id_.domid),
      engine_(*disk_, grantIo_, BlkbackLimits{xenbus.maxIndirectSegments}),
      xenbus_(store, *this, std::move(xenbus)) {}

BlkbackDevice::~BlkbackDevice() { disconnect(); }

Status BlkbackDevice::connectRing(const RingParams& p) {
  disconnect();
  if (p.ringRefs.size() != 1) {
    return error(EINVAL, fmt::format("{} ring pages offered; this backend serves one", p.ringRefs.size()));
  }
  auto page = hv_.grants->map(id_.domid, p.ringRefs[0], /*readonly=*/false);
  if (!page.isOk()) {
    return error(page.status().code(),
                 fmt::format("cannot map ring-ref {}: {}", p.ringRefs[0], page.status().message()));
  }
  auto port = hv_.events->bindInterdomain(id_.domid, p.eventChannel);
  if (!port.isOk()) {
    (void)hv_.grants->unmap(*page);
    return error(port.status().code(),
                 fmt::format("cannot bind event-channel {}: {}", p.eventChannel, port.status().message()));
  }
  ringPage_ = *page;
  port_ = std::move(*port);
  ring_ = std::make_unique<BlkbackRing>(static_cast<blkif_sring*>(ringPage_->page), GrantClient::kPageSize);
  ringBroken_ = false;
  // The grant I/O is chosen per connection: mapped once and kept when both
  // ends offered feature-persistent, copied through smartvm-hv otherwise.
  if (p.persistent) {
    persistent_ = std::make_unique<PersistentGrantIo>(mapper_, grantIo_);
    engine_.setGrants(*persistent_);
  } else {
    engine_.setGrants(grantIo_);
  }
  persistentOn_ = p.persistent;
  persistentMaps_ = 0;
  stop_ = false;
  thread_ = std::thread([this] { serveLoop(); });
  spdlog::info("blkback: {} connected (ring-ref {}, port {} -> dom0 port {}, {})", id_.backendPath, p.ringRefs[0],
               p.eventChannel, port_->port, p.persistent ? "persistent grants" : "grant copies");
  return Status::ok();
}

void BlkbackDevice::disconnect() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ring_.reset();
  // Every persistent mapping goes with the connection (disconnect, close,
  // removal, domain death all come here).
  engine_.setGrants(grantIo_);
  if (persistent_) {
    const size_t n = persistent_->cached();
    persistent_.reset();  // unmaps all
    if (n > 0) spdlog::info("blkback: {}: unmapped {} persistent grants", id_.backendPath, n);
  }
  persistentLive_ = 0;
  if (port_) {
    if (auto s = hv_.events->close(port_->port); !s) {
      spdlog::warn("blkback: {}: closing dom0 port {}: {}", id_.backendPath, port_->port, s.message());
    }
    port_.reset();
  }
  if (ringPage_) {
    if (auto s = hv_.grants->unmap(*ringPage_); !s) {
      spdlog::warn("blkback: {}: unmapping the ring: {}", id_.backendPath, s.message());
    }
    ringPage_.reset();
  }
}

void BlkbackDevice::reconnectDiskIfNeeded() {
  const uint64_t gen = storageGeneration_.load();
  if (gen == diskGeneration_) return;
  if (auto s = disk_->nbd().reconnect(); !s) {
    // Requests fail with BLKIF_RSP_ERROR until a later restart succeeds.
    spdlog::warn("blkback: {}: reconnecting to the storage daemon: {}", id_.backendPath, s.message());
    return;
  }
  diskGeneration_ = gen;
  spdlog::info("blkback: {}: disk reconnected after a storage daemon restart", id_.backendPath);
}

void BlkbackDevice::serveLoop() {
  // The frontend may have queued requests before we bound: serve once up front.
  bool pending = true;
  while (!stop_.load()) {
    if (!pending) {
      auto woke = EventChannelClient::wait(port_->notify.get(), kWakeEvery);
      if (!woke.isOk()) {
        if (woke.status().code() == ETIMEDOUT) continue;
        spdlog::error("blkback: {}: waiting for the frontend: {}", id_.backendPath, woke.status().message());
        return;
      }
    }
    pending = false;
    reconnectDiskIfNeeded();
    const BlkbackRing::Round round = ring_->serve(engine_);
    served_.fetch_add(round.served);
    if (persistent_) {
      persistentMaps_ = persistent_->stats().maps;
      persistentLive_ = persistent_->cached();
    }
    if (round.notify) {
      if (auto s = EventChannelClient::ring(port_->doorbell.get()); !s) {
        spdlog::warn("blkback: {}: notifying the frontend: {}", id_.backendPath, s.message());
      }
    }
    if (ring_->broken()) {
      ringBroken_ = true;
      spdlog::warn("blkback: {}: the frontend broke its ring; not served until it reconnects", id_.backendPath);
      return;
    }
  }
}

}  // namespace smartvm::dom0::blkback
