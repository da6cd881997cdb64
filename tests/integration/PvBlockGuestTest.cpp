// PV block end to end with every real piece: a real guest's blkfront, the
// toolstack's xenstore hooks (XenstoreDomains, VbdDomains), xenstored attached
// to the guest's ring, smartvm-blkback and qemu-storage-daemon serving raw and
// qcow2 images. The pattern is written, flushed, read back and verified; a
// second boot of the same image finds it; a qcow2 overlay leaves its backing
// file alone; kill -9 of the storage daemon gives the guest errors or
// answers, never a hang, and flushed data is there after the restart. Two
// guests on their own disks run at once, each image keeping its own pattern;
// a guest destroyed or switched to Closing mid-I/O leaves the backend healthy
// for the next one.
// Skips without /dev/kvm or QEMU.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <vector>

#include "PvGuestFixture.h"
#include "lib/DiskPattern.h"
#include "smartvm/dom0/smartvmd/VbdNodes.h"
#include "smartvm/dom0/smartvmd/VbdDomains.h"
#include "smartvm/dom0/smartvmd/XenstoreDomains.h"

namespace smartvm {
namespace {

using namespace std::chrono_literals;

class PvBlockGuestTest : public test::PvGuestFixture {};

TEST_F(PvBlockGuestTest, RawDiskPatternSurvivesASecondBoot) {
  const std::string image = rig_.makeRawImage("disk.raw", 4 << 20);
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
  const std::string base = rig_.makeRawImage("base.raw", 4 << 20);
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
  const std::string image = rig_.makeRawImage("ro.raw", 1 << 20);
  v1::DomainConfig c = config("ro", "workload=blk start=0 count=8 seed=1 timeout_ms=5000", image, "raw");
  c.mutable_disks(0)->set_read_only(true);
  const std::string out = boot(c);
  std::cout << "[ guest    ] " << resultLine(out) << "\n";
  EXPECT_NE(out.find("FAIL blk"), std::string::npos) << out;
  EXPECT_EQ(out.find("RESULT blk"), std::string::npos) << out;
}

TEST_F(PvBlockGuestTest, StorageDaemonKilledMidIoGivesErrorsNotAHangAndFlushedDataSurvives) {
  const std::string image = rig_.makeRawImage("kill.raw", 16 << 20);
  // Flushed data first.
  const std::string out = boot(config("a", "workload=blk start=0 count=256 seed=21", image, "raw"));
  ASSERT_NE(out.find("verified=256 mismatches=0"), std::string::npos) << out;

  // A long run, with the daemon killed under it.
  const pid_t before = rig_.storagePid();
  ASSERT_GT(before, 0);
  // The kill lands once the ring is being served, so it hits requests in flight
  // rather than a frontend still connecting (which would then run the whole span).
  const uint32_t id =
      start(config("b", "workload=blk start=8192 count=24576 seed=5 depth=8 timeout_ms=5000", image, "raw"));
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(eventually([&] { return rig_.blkServes(id, 51712); })) << console(id);
  std::this_thread::sleep_for(100ms);
  ::kill(before, SIGKILL);
  const std::string mid = finish(id);
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

TEST_F(PvBlockGuestTest, TwoGuestsOnTheirOwnDisksRunAtOnceAndEachImageKeepsItsPattern) {
  constexpr uint64_t kSectors = 4096;
  const std::string a = rig_.makeRawImage("a.raw", 4 << 20);
  const std::string b = rig_.makeRawImage("b.raw", 4 << 20);
  Status attachA, attachB;
  const std::string args = " start=0 count=" + std::to_string(kSectors) + " depth=4";
  const uint32_t ida = start(config("ga", "workload=blk seed=41" + args, a, "raw"), &attachA);
  const uint32_t idb = start(config("gb", "workload=blk seed=42" + args, b, "raw"), &attachB);
  ASSERT_NE(ida, 0u);
  ASSERT_NE(idb, 0u);
  ASSERT_TRUE(attachA.isOk()) << attachA.toString();
  ASSERT_TRUE(attachB.isOk()) << attachB.toString();
  // Both frontends connected and served at the same time.
  const bool together = eventually([&] { return rig_.blkServes(ida, 51712) && rig_.blkServes(idb, 51712); });
  const bool aStillRunning = console(ida).find("RESULT blk") == std::string::npos;
  const std::string outA = finish(ida);
  const std::string outB = finish(idb);
  std::cout << "[ guest a  ] " << resultLine(outA) << "\n[ guest b  ] " << resultLine(outB) << "\n";
  EXPECT_TRUE(together) << "the backend never served both disks at once";
  EXPECT_TRUE(aStillRunning) << "guest a was done before guest b's disk was up: the runs did not overlap";
  const std::string want = "written=4096 read=4096 verified=4096 mismatches=0";
  EXPECT_NE(outA.find(want), std::string::npos) << outA;
  EXPECT_NE(outB.find(want), std::string::npos) << outB;
  EXPECT_NE(outA.find("seed=41"), std::string::npos) << outA;
  EXPECT_NE(outB.find("seed=42"), std::string::npos) << outB;
  // The bytes in each image file are its own guest's pattern, never the other's.
  EXPECT_EQ(badSectors(a, 41, 0, kSectors), 0u);
  EXPECT_EQ(badSectors(b, 42, 0, kSectors), 0u);
  EXPECT_EQ(badSectors(a, 42, 0, kSectors), kSectors);
  EXPECT_EQ(badSectors(b, 41, 0, kSectors), kSectors);
}

TEST_F(PvBlockGuestTest, GuestDestroyedMidIoLeavesTheBackendHealthyForTheNext) {
  const std::string image = rig_.makeRawImage("gone.raw", 16 << 20);
  const pid_t storage = rig_.storagePid();
  const uint32_t id = start(config("gone", "workload=blk start=0 count=24576 seed=51 depth=8 timeout_ms=5000", image,
                                   "raw"));
  ASSERT_NE(id, 0u);
  // Connected (the guest printed its disk) and served: requests are flowing.
  ASSERT_TRUE(eventually([&] { return console(id).find("blk: vbd") != std::string::npos; })) << console(id);
  ASSERT_TRUE(eventually([&] { return rig_.blkServes(id, 51712); }));
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(console(id).find("RESULT blk"), std::string::npos) << "the run ended before the destroy";
  destroy(id);

  // The backend let go of the device and the storage daemon lives on.
  EXPECT_TRUE(eventually([&] { return !rig_.blkServes(id, 51712); })) << "the device of the destroyed guest stayed";
  EXPECT_EQ(rig_.blkDeviceCount(), 0u);
  auto xs = dom0::xenstore::XenstoreClient::connect(rig_.xenstoredSocket());
  ASSERT_TRUE(xs.isOk());
  EXPECT_EQ(xs->read(dom0::VbdNodes::backendPath(id, 51712) + "/state").status().code(), ENOENT);
  EXPECT_EQ(rig_.storagePid(), storage) << "the storage daemon died with the guest";

  // Another disk, and the same image again, attach and verify.
  const std::string other = rig_.makeRawImage("next.raw", 4 << 20);
  const std::string next = boot(config("next", "workload=blk start=0 count=256 seed=52", other, "raw"));
  std::cout << "[ guest    ] " << resultLine(next) << "\n";
  EXPECT_NE(next.find("verified=256 mismatches=0"), std::string::npos) << next;
  const std::string same = boot(config("same", "workload=blk start=64 count=256 seed=53", image, "raw"));
  std::cout << "[ guest    ] " << resultLine(same) << "\n";
  EXPECT_NE(same.find("verified=256 mismatches=0"), std::string::npos) << same;
  EXPECT_EQ(badSectors(image, 53, 64, 256), 0u);
}

TEST_F(PvBlockGuestTest, FrontendClosingMidIoEndsTheRunAndLeavesTheBackendHealthy) {
  const std::string image = rig_.makeRawImage("closing.raw", 16 << 20);
  const uint32_t id = start(config("closing", "workload=blk start=0 count=24576 seed=61 depth=8 timeout_ms=3000",
                                   image, "raw"));
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(eventually([&] { return console(id).find("blk: vbd") != std::string::npos; })) << console(id);
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(console(id).find("RESULT blk"), std::string::npos) << "the run ended before the frontend closed";
  // The frontend's state goes Closing, then Closed, as a frontend being removed
  // does (written by dom0 here, as the guest keeps doing I/O).
  auto xs = dom0::xenstore::XenstoreClient::connect(rig_.xenstoredSocket());
  ASSERT_TRUE(xs.isOk());
  const std::string fe = dom0::VbdNodes::frontendPath(id, 51712) + "/state";
  const std::string be = dom0::VbdNodes::backendPath(id, 51712) + "/state";
  ASSERT_TRUE(xs->write(fe, "5").isOk());
  EXPECT_TRUE(eventually([&] { auto st = xs->read(be); return st.isOk() && *st == "5"; })) << "backend not Closing";
  ASSERT_TRUE(xs->write(fe, "6").isOk());
  EXPECT_TRUE(eventually([&] { auto st = xs->read(be); return st.isOk() && *st == "6"; })) << "backend not Closed";
  // The guest's outstanding requests end it (a FAIL after its timeout), never a hang.
  const std::string out = finish(id);
  std::cout << "[ guest    ] " << resultLine(out) << "\n";
  EXPECT_TRUE(out.find("FAIL blk") != std::string::npos || out.find("RESULT blk") != std::string::npos) << out;
  EXPECT_TRUE(eventually([&] { return rig_.blkDeviceCount() == 0; })) << "the closed device stayed after destroy";

  const std::string again = boot(config("after", "workload=blk start=0 count=256 seed=62", image, "raw"));
  std::cout << "[ guest    ] " << resultLine(again) << "\n";
  EXPECT_NE(again.find("verified=256 mismatches=0"), std::string::npos) << again;
}

}  // namespace
}  // namespace smartvm
