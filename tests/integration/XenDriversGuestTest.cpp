// The in-tree guest's split-driver frontends on a real hypervisor: console
// output and input through the Xen console ring smartvm-hv serves, the
// xenbus client against an in-process xenstored attached to the guest's
// store ring, and clean FAIL lines (never hangs) when xenstore or a block
// backend is missing. Skips with the reason when /dev/kvm is unusable.
#include <gtest/gtest.h>

#include <xen/io/xs_wire.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "KvmGuestTest.h"
#include "XsTestClient.h"
#include "lib/DiskPattern.h"
#include "smartvm/dom0/blkback/BlkbackEngine.h"
#include "smartvm/dom0/blkback/BlkbackRing.h"
#include "smartvm/dom0/blkback/BlkbackXenbus.h"
#include "smartvm/dom0/xenstore/XsRingConnection.h"
#include "smartvm/hv/Domain.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/kvm/KvmPlatform.h"

namespace smartvm::hv {
namespace {

using namespace std::chrono_literals;
using smartvm::v1::DomainConfig;
using smartvm::v1::DomainInfo;
namespace xs = smartvm::dom0::xenstore;
namespace bb = smartvm::dom0::blkback;

/// A disk in memory; `failReads` makes every read fail (BLKIF_RSP_ERROR).
class MemDisk final : public bb::BlockDevice {
 public:
  explicit MemDisk(uint64_t bytes) : data(bytes) {}
  uint64_t sizeBytes() const override { return data.size(); }
  bool readOnly() const override { return false; }
  bool canDiscard() const override { return false; }
  Status read(uint64_t off, void* buf, size_t len) override {
    if (failReads) return error(EIO, "injected read error");
    std::memcpy(buf, data.data() + off, len);
    return Status::ok();
  }
  Status write(uint64_t off, const void* buf, size_t len, bool) override {
    std::memcpy(data.data() + off, buf, len);
    return Status::ok();
  }
  Status flush() override {
    ++flushes;
    return Status::ok();
  }
  Status discard(uint64_t, uint64_t) override { return error(EOPNOTSUPP, "no discard"); }
  std::vector<uint8_t> data;
  bool failReads = false;
  int flushes = 0;
};

/// The backend's view of the guest's pages: each copy maps the grant through
/// the hypervisor's GrantOps (which sets and clears GTF_reading/GTF_writing
/// in the guest's entry, as Xen's map does) and unmaps it again.
class MappedGrantIo final : public bb::GrantIo {
 public:
  MappedGrantIo(Hypervisor& hv, std::shared_ptr<Domain> guest) : hv_(hv), guest_(std::move(guest)) {}
  Status copyFromGuest(grant_ref_t ref, uint32_t off, void* dst, size_t len) override {
    return withPage(ref, true, off, len, [&](uint8_t* page) { std::memcpy(dst, page + off, len); });
  }
  Status copyToGuest(grant_ref_t ref, uint32_t off, const void* src, size_t len) override {
    return withPage(ref, false, off, len, [&](uint8_t* page) { std::memcpy(page + off, src, len); });
  }

 private:
  template <typename F>
  Status withPage(grant_ref_t ref, bool readonly, uint32_t off, size_t len, F f) {
    if (off > 4096 || len > 4096 - off) return error(EINVAL, "copy beyond the page");
    auto pin = guest_->pinMemory();
    const auto domid = static_cast<domid_t>(guest_->domid());
    const GrantOps::Mapping m = hv_.grantOps().map(0, domid, ref, readonly);
    if (m.status != GNTST_okay) return error(EINVAL, "map of ref " + std::to_string(ref) + ": " + std::to_string(m.status));
    f(m.host);
    (void)hv_.grantOps().unmap(0, m.handle);
    return Status::ok();
  }
  Hypervisor& hv_;
  std::shared_ptr<Domain> guest_;
};

constexpr auto kHang = 60s;

class XenDriversGuestTest : public KvmGuestTest {
 protected:
  void TearDown() override {
    detachXenstore();
    KvmGuestTest::TearDown();
  }

  static DomainConfig config(const std::string& name, const std::string& cmdline, bool paused = false) {
    return guestConfig(name, cmdline, 64, 1, paused);
  }

  std::string runToEnd(uint32_t domid) {
    const Status s = hv_->waitForShutdown(domid, kHang);
    EXPECT_TRUE(s.isOk()) << s.toString();
    return console(domid);
  }

  /// The line of out that starts with prefix (for the log), or "".
  static std::string lineOf(const std::string& out, const std::string& prefix) {
    const size_t at = out.find(prefix);
    return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
  }

  static uint64_t count(const DomainInfo& i, const std::string& hypercall) {
    auto it = i.hypercall_counts().find(hypercall);
    return it == i.hypercall_counts().end() ? 0 : it->second;
  }

  /// Serves the guest's store ring from an in-process xenstored, as
  /// smartvm-xenstored does after INTRODUCE: the ring page mapped, its
  /// port bound in dom0, requests handled on each notification.
  void attachXenstore(uint32_t domid) {
    std::shared_ptr<Domain> d = hv_->find(domid);
    ASSERT_TRUE(d) << "no domain " << domid;
    const XenRings rings = d->xenRings();
    ASSERT_NE(rings.storeGfn, 0u);
    ASSERT_NE(rings.storePort, 0u);
    {
      std::lock_guard lk(coreM_);
      xs::test::XsTestClient dom0(core_, 0);
      const std::string home = "/local/domain/" + std::to_string(domid);
      ASSERT_EQ(dom0.op(XS_MKDIR, xs::test::z(home)), std::string("OK\0", 3));
      ASSERT_EQ(dom0.op(XS_SET_PERMS, xs::test::z(home) + xs::test::z("n" + std::to_string(domid))),
                std::string("OK\0", 3));
      ASSERT_EQ(dom0.op(XS_MKDIR, xs::test::z(home + "/data")), std::string("OK\0", 3));
      ring_ = std::make_unique<xs::XsRingConnection>(core_, domid, d->ram().specialPage(GuestRam::kStorePage),
                                                     [this] { (void)hv_->dom0EventChannels().sendInternal(dom0Port_); });
    }
    auto port = hv_->dom0EventChannels().bindInternal(domid, rings.storePort, [this] {
      std::lock_guard lk(coreM_);
      if (ring_) ring_->onGuestNotify();
    });
    ASSERT_TRUE(port.isOk()) << port.status().toString();
    dom0Port_ = *port;
    bound_ = true;
  }

  void detachXenstore() {
    if (bound_) hv_->dom0EventChannels().closeInternal(dom0Port_);
    bound_ = false;
    std::lock_guard lk(coreM_);
    ring_.reset();
  }

  /// xenbus as the backend sees it: dom0's client of the in-process core.
  class Store final : public bb::XenbusStore {
   public:
    explicit Store(xs::XsServerCore& core) : dom0_(core, 0) {}
    Result<std::string> read(const std::string& path) override {
      const std::string r = dom0_.read(path);
      if (r.rfind("E:", 0) == 0) return error(r == "E:ENOENT" ? ENOENT : EIO, r);
      return r;
    }
    Status write(const std::string& path, const std::string& value) override {
      const std::string r = dom0_.write(path, value);
      return r == xs::test::kOk ? Status::ok() : error(EIO, r);
    }
    xs::test::XsTestClient dom0_;
  };

  /// A block backend for device 51712 of `domid`, as the toolstack and
  /// blkback set it up: the xenstore nodes of both ends, then the backend in
  /// InitWait. Its ring is served on the doorbell thread when the guest notifies.
  class Backend final : public bb::BlkbackConnector {
   public:
    Backend(XenDriversGuestTest& t, uint32_t domid, MemDisk& disk)
        : t_(t), domid_(domid), guest_(t.hv_->find(domid)), grants_(*t.hv_, guest_), engine_(disk, grants_) {}
    ~Backend() override { disconnect(); }

    std::string frontPath() const { return "/local/domain/" + std::to_string(domid_) + "/device/vbd/51712"; }
    std::string backPath() const { return "/local/domain/0/backend/vbd/" + std::to_string(domid_) + "/51712"; }

    void setUp(uint64_t sectors) {
      std::lock_guard lk(t_.coreM_);
      store_ = std::make_unique<Store>(t_.core_);
      auto& c = store_->dom0_;
      const std::string d = std::to_string(domid_);
      ASSERT_EQ(c.write(frontPath() + "/backend", backPath()), xs::test::kOk);
      ASSERT_EQ(c.write(frontPath() + "/backend-id", "0"), xs::test::kOk);
      ASSERT_EQ(c.write(frontPath() + "/state", "1"), xs::test::kOk);
      for (const std::string& p : {"/local/domain/" + d + "/device", "/local/domain/" + d + "/device/vbd", frontPath(),
                                  frontPath() + "/backend", frontPath() + "/backend-id", frontPath() + "/state"}) {
        ASSERT_EQ(c.setPerms(p, xs::test::z("n" + d) + xs::test::z("r0")), xs::test::kOk) << p;
      }
      ASSERT_EQ(c.write(backPath() + "/frontend", frontPath()), xs::test::kOk);
      ASSERT_EQ(c.write(backPath() + "/frontend-id", d), xs::test::kOk);
      ASSERT_EQ(c.setPerms(backPath(), xs::test::z("n0") + xs::test::z("r" + d)), xs::test::kOk);
      bb::BlkbackXenbus::Config cfg;
      cfg.backendPath = backPath();
      cfg.frontendPath = frontPath();
      cfg.sectors = sectors;
      xenbus_ = std::make_unique<bb::BlkbackXenbus>(*store_, *this, cfg);
      ASSERT_TRUE(xenbus_->probe().isOk());
    }

    /// Follows the frontend's state node, as blkback's watch on it does.
    void poll() {
      std::lock_guard lk(t_.coreM_);
      const std::string st = store_->dom0_.read(frontPath() + "/state");
      if (st == lastFront_) return;
      lastFront_ = st;
      xenbus_->frontendChanged();
    }

    Status connectRing(const bb::RingParams& p) override {
      if (p.ringRefs.size() != 1) return error(EINVAL, "one ring page expected");
      {
        auto pin = guest_->pinMemory();
        ringMap_ = t_.hv_->grantOps().map(0, static_cast<domid_t>(domid_), p.ringRefs[0], false);
      }
      if (ringMap_.status != GNTST_okay) return error(EINVAL, "ring map " + std::to_string(ringMap_.status));
      {
        std::lock_guard lk(m_);
        ring_ = std::make_unique<bb::BlkbackRing>(reinterpret_cast<blkif_sring*>(ringMap_.host), 4096);
      }
      auto port = t_.hv_->dom0EventChannels().bindInternal(domid_, p.eventChannel, [this] { serve(); });
      if (!port.isOk()) return port.status();
      port_ = *port;
      bound_ = true;
      return Status::ok();
    }
    void disconnect() override {
      if (bound_) t_.hv_->dom0EventChannels().closeInternal(port_);  // not under m_: it waits for serve()
      bound_ = false;
      std::lock_guard lk(m_);
      ring_.reset();
      if (ringMap_.status == GNTST_okay) (void)t_.hv_->grantOps().unmap(0, ringMap_.handle);
      ringMap_ = {};
    }
    const bb::BlkbackStats& stats() const { return engine_.stats(); }
    XenbusState state() const { return xenbus_->state(); }

   private:
    void serve() {
      std::lock_guard lk(m_);
      if (!ring_) return;
      const bb::BlkbackRing::Round r = ring_->serve(engine_);
      if (r.notify) (void)t_.hv_->dom0EventChannels().sendInternal(port_);
    }
    XenDriversGuestTest& t_;
    uint32_t domid_;
    std::shared_ptr<Domain> guest_;
    MappedGrantIo grants_;
    bb::BlkbackEngine engine_;
    std::unique_ptr<Store> store_;
    std::unique_ptr<bb::BlkbackXenbus> xenbus_;
    std::string lastFront_;
    std::mutex m_;
    std::unique_ptr<bb::BlkbackRing> ring_;
    GrantOps::Mapping ringMap_{};
    uint32_t port_ = 0;
    bool bound_ = false;
  };

  /// Runs a paused guest with xenstored and `backend` until it shuts down.
  std::string runWithBackend(uint32_t id, Backend& backend) {
    EXPECT_TRUE(hv_->unpause(id).isOk());
    const auto end = std::chrono::steady_clock::now() + kHang;
    while (std::chrono::steady_clock::now() < end) {
      backend.poll();
      if (hv_->waitForShutdown(id, 2ms).isOk()) break;
    }
    backend.poll();
    return console(id);
  }

  std::mutex coreM_;  // the core is single-threaded; notifications come on the doorbell thread
  xs::XsServerCore core_;
  std::unique_ptr<xs::XsRingConnection> ring_;
  uint32_t dom0Port_ = 0;
  bool bound_ = false;
};

TEST_F(XenDriversGuestTest, ConsoleOutputGoesThroughTheRing) {
  const uint32_t id = create(config("ringcons", "workload=pi steps=1000"));
  ASSERT_NE(id, 0u);
  const std::string out = runToEnd(id);
  EXPECT_EQ(out.rfind("Smart-VM guest", 0), 0u) << out;
  EXPECT_NE(out.find("RESULT pi value="), std::string::npos) << out;
  const DomainInfo i = info(id);
  EXPECT_EQ(i.shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_POWEROFF);
  if (i.console_gfn() == 0) GTEST_SKIP() << "the hypervisor offers no console ring (HVM_PARAM_CONSOLE_PFN 0)";
  // Every byte, banner included, went through the ring: no console_io at all.
  EXPECT_EQ(count(i, "console_io"), 0u) << out;
}

TEST_F(XenDriversGuestTest, FailLineBeforeCrashStillReachesTheConsole) {
  // The ring is flushed before SCHEDOP_shutdown: the last line is not lost.
  const uint32_t id = create(config("ringfail", "workload=nosuchthing"));
  ASSERT_NE(id, 0u);
  const std::string out = runToEnd(id);
  EXPECT_NE(out.find("FAIL unknown workload 'nosuchthing'\n"), std::string::npos) << out;
  EXPECT_EQ(info(id).shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_CRASH);
}

TEST_F(XenDriversGuestTest, EchoReadsALineTypedIntoTheConsoleRing) {
  const uint32_t id = create(config("echo", "workload=echo timeout_ms=20000"));
  ASSERT_NE(id, 0u);
  if (info(id).console_gfn() == 0) GTEST_SKIP() << "the hypervisor offers no console ring";
  ASSERT_TRUE(waitConsole(id, "echo ready\n")) << console(id);
  std::shared_ptr<Domain> d = hv_->find(id);
  ASSERT_TRUE(d);
  auto n = d->consoleInput("hello ring\n");
  ASSERT_TRUE(n.isOk()) << n.status().toString();
  const std::string out = runToEnd(id);
  EXPECT_NE(out.find("RESULT echo line=hello ring bytes=10\n"), std::string::npos) << out;
  EXPECT_EQ(info(id).shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_POWEROFF);
}

TEST_F(XenDriversGuestTest, XenstoreWithoutADaemonFailsInsteadOfHanging) {
  const auto start = std::chrono::steady_clock::now();
  const uint32_t id = create(config("noxs", "workload=xenstore timeout_ms=300"));
  ASSERT_NE(id, 0u);
  const std::string out = runToEnd(id);
  EXPECT_NE(out.find("FAIL xenstore: "), std::string::npos) << out;
  std::cout << "[ guest    ] " << lineOf(out, "FAIL") << "\n";
  if (info(id).store_gfn() != 0) {
    EXPECT_NE(out.find("ETIMEDOUT"), std::string::npos) << out;
  }
  EXPECT_EQ(info(id).shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_CRASH);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 20s);
}

TEST_F(XenDriversGuestTest, BlkWithoutABackendFailsInsteadOfHanging) {
  const uint32_t id = create(config("noblk", "workload=blk timeout_ms=300"));
  ASSERT_NE(id, 0u);
  const std::string out = runToEnd(id);
  EXPECT_NE(out.find("FAIL blk: "), std::string::npos) << out;
  std::cout << "[ guest    ] " << lineOf(out, "FAIL") << "\n";
  EXPECT_EQ(info(id).shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_CRASH);
}

TEST_F(XenDriversGuestTest, XenstoreWorkloadAgainstXenstored) {
  const uint32_t id = create(config("xs", "workload=xenstore timeout_ms=5000", true));
  ASSERT_NE(id, 0u);
  if (info(id).store_gfn() == 0) GTEST_SKIP() << "the hypervisor offers no xenstore ring";
  attachXenstore(id);
  ASSERT_TRUE(hv_->unpause(id).isOk());
  const std::string out = runToEnd(id);
  EXPECT_NE(out.find("RESULT xenstore domid=" + std::to_string(id) + " "), std::string::npos) << out;
  std::cout << "[ guest    ] " << lineOf(out, "RESULT") << "\n";
  EXPECT_NE(out.find(" dir_entries=2 "), std::string::npos) << out;
  EXPECT_NE(out.find(" enoent=ok tx=committed "), std::string::npos) << out;
  EXPECT_NE(out.find(" timeouts=0 "), std::string::npos) << out;
  EXPECT_EQ(info(id).shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_POWEROFF) << out;
}

constexpr uint64_t kDiskSectors = 4096;  // 2 MiB

TEST_F(XenDriversGuestTest, BlkWritesFlushesAndVerifiesThenASecondBootFindsTheData) {
  MemDisk disk(kDiskSectors * 512);
  const uint32_t id = create(config("blk", "workload=blk start=64 count=200 seed=7 depth=4 timeout_ms=5000", true));
  ASSERT_NE(id, 0u);
  if (info(id).store_gfn() == 0) GTEST_SKIP() << "the hypervisor offers no xenstore ring";
  attachXenstore(id);
  {
    Backend backend(*this, id, disk);
    backend.setUp(kDiskSectors);
    const std::string out = runWithBackend(id, backend);
    std::cout << "[ guest    ] " << lineOf(out, "RESULT") << "\n";
    EXPECT_NE(out.find("RESULT blk mode=rw vbd=51712 disk_sectors=4096 sector_size=512 start=64 count=200 seed=7 "
                       "written=200 read=200 verified=200 mismatches=0 flush=flush_diskcache "),
              std::string::npos) << out;
    EXPECT_NE(out.find(" leaked_grants=0"), std::string::npos) << out;
    EXPECT_EQ(info(id).shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_POWEROFF) << out;
    EXPECT_EQ(backend.stats().sectorsWritten, 200u);
    EXPECT_EQ(backend.stats().flushes, 1u);
    EXPECT_EQ(disk.flushes, 1);
    EXPECT_EQ(backend.state(), XenbusStateClosed) << "the frontend closed the device at the end";
  }
  // The disk holds the pattern, sector by sector, and nothing outside the range.
  for (uint64_t s = 64; s < 264; ++s)
    ASSERT_EQ(diskpattern::check(disk.data.data() + s * 512, 7, s), diskpattern::kWordsPerSector) << "sector " << s;
  EXPECT_EQ(disk.data[63 * 512], 0);
  EXPECT_EQ(disk.data[264 * 512], 0);
  detachXenstore();
  (void)hv_->destroy(id);

  // A second boot with the same disk only reads and verifies.
  const uint32_t id2 = create(config("blk2", "workload=blk mode=verify start=64 count=200 seed=7 timeout_ms=5000", true));
  ASSERT_NE(id2, 0u);
  attachXenstore(id2);
  Backend backend2(*this, id2, disk);
  backend2.setUp(kDiskSectors);
  const std::string out2 = runWithBackend(id2, backend2);
  std::cout << "[ guest    ] " << lineOf(out2, "RESULT") << "\n";
  EXPECT_NE(out2.find("written=0 read=200 verified=200 mismatches=0 flush=none"), std::string::npos) << out2;
  EXPECT_EQ(backend2.stats().sectorsWritten, 0u);

  // The same verify with another seed finds every sector wrong.
  detachXenstore();
  (void)hv_->destroy(id2);
  const uint32_t id3 = create(config("blk3", "workload=blk mode=verify start=64 count=16 seed=8 timeout_ms=5000", true));
  attachXenstore(id3);
  Backend backend3(*this, id3, disk);
  backend3.setUp(kDiskSectors);
  const std::string out3 = runWithBackend(id3, backend3);
  std::cout << "[ guest    ] " << lineOf(out3, "FAIL") << "\n";
  EXPECT_NE(out3.find("FAIL blk: 16 sectors did not verify; first sector 64 word 1"), std::string::npos) << out3;
  EXPECT_EQ(info(id3).shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_CRASH);
}

TEST_F(XenDriversGuestTest, BlkReadErrorFromTheBackendIsAFailNotAHang) {
  MemDisk disk(kDiskSectors * 512);
  disk.failReads = true;
  const uint32_t id = create(config("blkerr", "workload=blk mode=verify count=8 timeout_ms=5000", true));
  ASSERT_NE(id, 0u);
  if (info(id).store_gfn() == 0) GTEST_SKIP() << "the hypervisor offers no xenstore ring";
  attachXenstore(id);
  Backend backend(*this, id, disk);
  backend.setUp(kDiskSectors);
  const std::string out = runWithBackend(id, backend);
  std::cout << "[ guest    ] " << lineOf(out, "FAIL") << "\n";
  EXPECT_NE(out.find("FAIL blk: read sector=0 count=8 status=-1 (BLKIF_RSP_error)"), std::string::npos) << out;
  EXPECT_EQ(info(id).shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_CRASH);
}

TEST_F(XenDriversGuestTest, BlkBackendThatNeverConnectsTimesOut) {
  MemDisk disk(kDiskSectors * 512);
  const uint32_t id = create(config("blkwait", "workload=blk timeout_ms=500", true));
  ASSERT_NE(id, 0u);
  if (info(id).store_gfn() == 0) GTEST_SKIP() << "the hypervisor offers no xenstore ring";
  attachXenstore(id);
  Backend backend(*this, id, disk);
  backend.setUp(kDiskSectors);
  // The backend stays in InitWait: nobody follows the frontend's state.
  ASSERT_TRUE(hv_->unpause(id).isOk());
  const std::string out = runToEnd(id);
  std::cout << "[ guest    ] " << lineOf(out, "FAIL") << "\n";
  EXPECT_NE(out.find("not Connected after 500 ms (state 2 InitWait)"), std::string::npos) << out;
  EXPECT_EQ(info(id).shutdown_reason(), smartvm::v1::SHUTDOWN_REASON_CRASH);
}

}  // namespace
}  // namespace smartvm::hv
