// PV block end to end with every real piece: a real guest's blkfront, the
// toolstack's xenstore hooks (XenstoreDomains, VbdDomains), xenstored attached
// to the guest's ring, smartvm-blkback and qemu-storage-daemon serving raw and
// qcow2 images. The pattern is written, flushed, read back and verified; a
// second boot of the same image finds it; a qcow2 overlay leaves its backing
// file alone; kill -9 of the storage daemon gives the guest errors or
// answers, never a hang, and flushed data is there after the restart.
// Skips without /dev/kvm or QEMU.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <vector>

#include "PvRig.h"
#include "smartvm/dom0/smartvmd/VbdDomains.h"
#include "smartvm/dom0/smartvmd/XenstoreDomains.h"

namespace smartvm {
namespace {

using namespace std::chrono_literals;
constexpr auto kHang = 60s;

class PvBlockGuestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = test::PvRig::unavailableReason(true);
    if (!why.empty()) GTEST_SKIP() << why;
    Status s = rig_.startHvAndXenstored();
    ASSERT_TRUE(s.isOk()) << s.toString();
    s = rig_.startBlkback();
    ASSERT_TRUE(s.isOk()) << s.toString();
    nodes_ = std::make_unique<dom0::XenstoreDomains>(rig_.xenstoredSocket());
    disks_ = std::make_unique<dom0::VbdDomains>(rig_.xenstoredSocket());
  }

  std::string makeRaw(const std::string& name, uint64_t bytes) {
    const std::string path = rig_.dir() + "/" + name;
    std::ofstream(path).close();
    std::filesystem::resize_file(path, bytes);
    return path;
  }

  v1::DomainConfig config(const std::string& name, const std::string& cmdline, const std::string& image,
                          const std::string& format) {
    v1::DomainConfig c;
    c.set_name(name);
    c.set_type(v1::DOMAIN_TYPE_PVH);
    c.set_memory_mib(64);
    c.set_vcpus(1);
    c.set_kernel(SMARTVM_GUEST_ELF);
    c.set_cmdline(cmdline);
    c.set_start_paused(true);
    c.set_on_poweroff(v1::LIFECYCLE_ACTION_PRESERVE);
    c.set_on_crash(v1::LIFECYCLE_ACTION_PRESERVE);
    auto* d = c.add_disks();
    d->set_target(image);
    d->set_format(format);
    d->set_vdev("xvda");
    return c;
  }

  /// Creates the domain paused, runs the toolstack's hooks as smartvmd does,
  /// unpauses it and returns its console once it has shut down.
  std::string boot(const v1::DomainConfig& c, Status* attach = nullptr) {
    auto info = rig_.hv().createDomain(c);
    EXPECT_TRUE(info.isOk()) << info.status().toString();
    if (!info.isOk()) return "";
    const uint32_t domid = info->domid();
    nodes_->onCreated(*info);
    const Status a = disks_->attachAll(*info);
    if (attach) *attach = a;
    EXPECT_TRUE(rig_.hv().unpause(domid).isOk());
    const Status s = rig_.hv().waitForShutdown(domid, kHang);
    EXPECT_TRUE(s.isOk()) << "the guest hung: " << s.toString();
    auto con = rig_.hv().console(domid);
    std::string out = con.isOk() ? (*con)->snapshot() : std::string();
    nodes_->onDestroyed(domid);
    disks_->onDestroyed(domid);
    (void)rig_.hv().destroy(domid);
    return out;
  }

  static std::string resultLine(const std::string& out) {
    const size_t at = out.find("RESULT blk");
    const size_t fail = out.find("FAIL");
    const size_t from = at != std::string::npos ? at : fail;
    return from == std::string::npos ? "(no RESULT or FAIL)" : out.substr(from, out.find('\n', from) - from);
  }

  test::PvRig rig_;
  std::unique_ptr<dom0::XenstoreDomains> nodes_;
  std::unique_ptr<dom0::VbdDomains> disks_;
};

TEST_F(PvBlockGuestTest, RawDiskPatternSurvivesASecondBoot) {
  const std::string image = makeRaw("disk.raw", 4 << 20);
  Status attach;
  const std::string out = boot(config("w", "workload=blk start=64 count=512 seed=11 depth=4", image, "raw"), &attach);
  ASSERT_TRUE(attach.isOk()) << attach.toString();
  std::cout << "[ guest    ] " << resultLine(out) << "\n";
  EXPECT_NE(out.find("written=512 read=512 verified=512 mismatches=0 flush=flush_diskcache"), std::string::npos)
      << out;
  EXPECT_NE(out.find("leaked_grants=0"), std::string::npos) << out;

  const std::string again = boot(config("r", "workload=blk mode=verify start=64 count=512 seed=11", image, "raw"));
  std::cout << "[ guest    ] " << resultLine(again) << "\n";
  EXPECT_NE(again.find("written=0 read=512 verified=512 mismatches=0"), std::string::npos) << again;

  // The bytes are in the image file itself: sector 64's first word is its sector number.
  std::ifstream f(image, std::ios::binary);
  f.seekg(64 * 512);
  uint64_t word0 = 0;
  f.read(reinterpret_cast<char*>(&word0), sizeof word0);
  EXPECT_EQ(word0, 64u);
}

TEST_F(PvBlockGuestTest, Qcow2OverlayTakesTheWritesAndLeavesItsBackingFile) {
  const std::string base = makeRaw("base.raw", 4 << 20);
  const std::string overlay = rig_.dir() + "/overlay.qcow2";
  const std::string cmd = "qemu-img create -q -f qcow2 -F raw -b " + base + " " + overlay;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const std::string out = boot(config("q", "workload=blk start=0 count=256 seed=3", overlay, "qcow2"));
  std::cout << "[ guest    ] " << resultLine(out) << "\n";
  EXPECT_NE(out.find("verified=256 mismatches=0"), std::string::npos) << out;
  const std::string again = boot(config("q2", "workload=blk mode=verify start=0 count=256 seed=3", overlay, "qcow2"));
  EXPECT_NE(again.find("verified=256 mismatches=0"), std::string::npos) << again;
  std::ifstream f(base, std::ios::binary);
  std::vector<char> head(256 * 512);
  f.read(head.data(), static_cast<std::streamsize>(head.size()));
  for (size_t i = 0; i < head.size(); ++i) ASSERT_EQ(head[i], 0) << "the backing file changed at byte " << i;
}

TEST_F(PvBlockGuestTest, ReadOnlyDiskRefusesWrites) {
  const std::string image = makeRaw("ro.raw", 1 << 20);
  v1::DomainConfig c = config("ro", "workload=blk start=0 count=8 seed=1 timeout_ms=5000", image, "raw");
  c.mutable_disks(0)->set_read_only(true);
  const std::string out = boot(c);
  std::cout << "[ guest    ] " << resultLine(out) << "\n";
  EXPECT_NE(out.find("FAIL blk"), std::string::npos) << out;
  EXPECT_EQ(out.find("RESULT blk"), std::string::npos) << out;
}

TEST_F(PvBlockGuestTest, StorageDaemonKilledMidIoGivesErrorsNotAHangAndFlushedDataSurvives) {
  const std::string image = makeRaw("kill.raw", 16 << 20);
  // Flushed data first.
  const std::string out = boot(config("a", "workload=blk start=0 count=256 seed=21", image, "raw"));
  ASSERT_NE(out.find("verified=256 mismatches=0"), std::string::npos) << out;

  // A long run, with the daemon killed under it.
  const pid_t before = rig_.storagePid();
  ASSERT_GT(before, 0);
  std::thread killer([before] {
    std::this_thread::sleep_for(300ms);
    ::kill(before, SIGKILL);
  });
  const std::string mid =
      boot(config("b", "workload=blk start=8192 count=24576 seed=5 depth=8 timeout_ms=5000", image, "raw"));
  killer.join();
  std::cout << "[ guest    ] " << resultLine(mid) << "\n";
  // Either the run finished before the kill landed or it failed with an error; the boot ended either way.
  EXPECT_TRUE(mid.find("RESULT blk") != std::string::npos || mid.find("FAIL blk") != std::string::npos) << mid;

  // The backend restarts the daemon; the first boot's flushed data is all there.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (rig_.storagePid() == before && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
  ASSERT_NE(rig_.storagePid(), before) << "the storage daemon was not restarted";
  const std::string after = boot(config("c", "workload=blk mode=verify start=0 count=256 seed=21", image, "raw"));
  std::cout << "[ guest    ] " << resultLine(after) << "\n";
  EXPECT_NE(after.find("verified=256 mismatches=0"), std::string::npos) << after;
}

}  // namespace
}  // namespace smartvm
