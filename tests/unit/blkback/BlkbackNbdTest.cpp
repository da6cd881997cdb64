// The blkif engine over a real qemu-storage-daemon export: guest-shaped
// requests land in a qcow2 image, a flushed write survives the daemon being
// killed with SIGKILL, requests meanwhile get BLKIF_RSP_ERROR (never a hang),
// and service resumes once the daemon is restarted. Skips without QEMU.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include "BlkbackFakes.h"
#include "smartvm/dom0/blkback/BlkbackEngine.h"
#include "smartvm/dom0/blkback/NbdBlockDevice.h"
#include "smartvm/qemu/StorageDaemon.h"

namespace smartvm::dom0::blkback {
namespace {

bool haveQemu() {
  return std::system("command -v qemu-storage-daemon >/dev/null 2>&1 && command -v qemu-img >/dev/null 2>&1") == 0;
}

TEST(BlkbackNbd, FlushedDataSurvivesAKilledDaemonAndServiceResumes) {
  if (!haveQemu()) GTEST_SKIP() << "qemu-storage-daemon or qemu-img not installed (scripts/install-deps.sh)";
  char tmpl[] = "/tmp/smartvm-blkback-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string img = dir + "/disk.qcow2";
  ASSERT_EQ(std::system(("qemu-img create -q -f qcow2 " + img + " 1M >/dev/null").c_str()), 0);
  {
    qemu::StorageDaemon qsd({"qemu-storage-daemon", dir + "/run", std::chrono::milliseconds(10000)});
    ASSERT_TRUE(qsd.addExport({"xvda", img, "qcow2", false}).isOk());
    auto nbd = qemu::NbdDisk::open(qsd.nbdSocket(), "xvda");
    ASSERT_TRUE(nbd.isOk()) << nbd.status().toString();
    NbdBlockDevice disk(std::move(nbd).value());
    test::FakeGrants grants;
    BlkbackEngine engine(disk, grants);
    auto& page = grants.grant(1);
    for (size_t i = 0; i < page.bytes.size(); ++i) page.bytes[i] = static_cast<uint8_t>(i * 3 + 1);
    ASSERT_EQ(engine.handle(test::onePage(BLKIF_OP_WRITE, 1, 16, 1)).status, BLKIF_RSP_OKAY);
    ASSERT_EQ(engine.handle(test::onePage(BLKIF_OP_FLUSH_DISKCACHE, 2, 0, 0)).status, BLKIF_RSP_OKAY);

    ASSERT_EQ(::kill(qsd.pid(), SIGKILL), 0);
    auto answer = std::async(std::launch::async, [&] {
      grants.grant(2);
      int16_t st = BLKIF_RSP_OKAY;
      for (int i = 0; i < 50 && st == BLKIF_RSP_OKAY; ++i) {
        st = engine.handle(test::onePage(BLKIF_OP_READ, 3, 16, 2)).status;
        if (st == BLKIF_RSP_OKAY) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      return st;
    });
    ASSERT_EQ(answer.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "the backend hung";
    EXPECT_EQ(answer.get(), BLKIF_RSP_ERROR) << "the guest is told";

    ASSERT_TRUE(qsd.ensureRunning().isOk());
    ASSERT_TRUE(disk.nbd().reconnect().isOk());
    auto& back = grants.grant(3);
    ASSERT_EQ(engine.handle(test::onePage(BLKIF_OP_READ, 4, 16, 3)).status, BLKIF_RSP_OKAY);
    EXPECT_EQ(back.bytes, page.bytes) << "the flushed write is in the image after the restart";
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace smartvm::dom0::blkback
