// StorageDaemon and NbdDisk against a real qemu-storage-daemon: raw and qcow2
// (with a backing file) exports, a pattern written, flushed and read back,
// read-only exports, a daemon killed with SIGKILL mid-use and restarted with
// its exports, and bad specs refused by name. Skips when QEMU is missing.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "smartvm/qemu/NbdDisk.h"
#include "smartvm/qemu/StorageDaemon.h"

namespace smartvm::qemu {
namespace {

namespace fs = std::filesystem;
constexpr uint64_t kMiB = 1024 * 1024;

bool onPath(const char* tool) {
  const std::string cmd = std::string("command -v ") + tool + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

/// The byte at `offset` of pattern `seed`: differs per sector and per seed.
uint8_t patternByte(uint64_t offset, uint8_t seed) {
  return static_cast<uint8_t>((offset / 512) * 31 + offset * 7 + seed);
}
std::vector<uint8_t> pattern(uint64_t offset, size_t len, uint8_t seed) {
  std::vector<uint8_t> b(len);
  for (size_t i = 0; i < len; ++i) b[i] = patternByte(offset + i, seed);
  return b;
}

class StorageDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!onPath("qemu-storage-daemon") || !onPath("qemu-img"))
      GTEST_SKIP() << "qemu-storage-daemon or qemu-img not installed (scripts/install-deps.sh installs them)";
    char tmpl[] = "/tmp/smartvm-qsd-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    daemon_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  StorageDaemon& daemon() {
    if (!daemon_) daemon_ = std::make_unique<StorageDaemon>(StorageDaemon::Options{"qemu-storage-daemon", dir_ + "/run", std::chrono::milliseconds(10000)});
    return *daemon_;
  }
  std::string image(const std::string& name, const std::string& args, const std::string& size = "") {
    const std::string path = dir_ + "/" + name;
    const std::string cmd = "qemu-img create -q " + args + " " + path + " " + size + " >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return path;
  }
  static std::vector<uint8_t> fileBytes(const std::string& path, uint64_t offset, size_t len) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    std::vector<uint8_t> b(len);
    in.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(len));
    return b;
  }
  /// Writes pattern `seed` over the whole disk in 1 MiB chunks.
  static void writeAll(NbdDisk& d, uint8_t seed) {
    for (uint64_t off = 0; off < d.size(); off += kMiB) {
      auto b = pattern(off, kMiB, seed);
      ASSERT_TRUE(d.write(off, b.data(), b.size()).isOk()) << off;
    }
  }
  static void expectAll(NbdDisk& d, uint8_t seed) {
    std::vector<uint8_t> b(kMiB);
    for (uint64_t off = 0; off < d.size(); off += kMiB) {
      ASSERT_TRUE(d.read(off, b.data(), b.size()).isOk()) << off;
      ASSERT_EQ(b, pattern(off, kMiB, seed)) << "at " << off;
    }
  }

  std::string dir_;
  std::unique_ptr<StorageDaemon> daemon_;
};

TEST_F(StorageDaemonTest, RawPatternWrittenFlushedAndReadBackReachesTheFile) {
  const std::string img = image("disk.raw", "-f raw", "8M");
  ASSERT_TRUE(daemon().addExport({"xvda", img, "raw", false}).isOk());
  auto d = NbdDisk::open(daemon().nbdSocket(), "xvda");
  ASSERT_TRUE(d.isOk()) << d.status().toString();
  EXPECT_EQ(d->size(), 8 * kMiB);
  EXPECT_FALSE(d->readOnly());
  EXPECT_TRUE(d->canFlush());
  writeAll(*d, 1);
  ASSERT_TRUE(d->flush().isOk());
  expectAll(*d, 1);
  EXPECT_EQ(fileBytes(img, 5 * kMiB + 123, 4096), pattern(5 * kMiB + 123, 4096, 1)) << "flushed into the image file";
  std::vector<uint8_t> b(4096);
  EXPECT_EQ(d->read(8 * kMiB - 512, b.data(), 4096).code(), EINVAL) << "past the end";
  EXPECT_EQ(d->write(UINT64_MAX - 10, b.data(), 4096).code(), EINVAL) << "offset overflow";
}

// batch(): every I/O in flight at once, each with its own outcome.
TEST_F(StorageDaemonTest, ABatchServesEveryIoAndEachGetsItsOwnStatus) {
  const std::string img = image("batch.raw", "-f raw", "8M");
  ASSERT_TRUE(daemon().addExport({"b", img, "raw", false}).isOk());
  auto d = NbdDisk::open(daemon().nbdSocket(), "b");
  ASSERT_TRUE(d.isOk()) << d.status().toString();
  // Sixteen 256 KiB writes (one with FUA) and one past the end.
  constexpr size_t kLen = 256 * 1024;
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<NbdDisk::Io> ios;
  for (uint64_t i = 0; i < 16; ++i) bufs.push_back(pattern(i * kLen, kLen, 5));
  for (uint64_t i = 0; i < 16; ++i) ios.push_back({true, i * kLen, bufs[i].data(), kLen, i == 3});
  std::vector<uint8_t> spare(4096);
  ios.push_back({true, 8 * kMiB - 512, spare.data(), spare.size()});
  d->batch(ios);
  for (size_t i = 0; i < 16; ++i) EXPECT_TRUE(ios[i].status.isOk()) << i << ": " << ios[i].status.toString();
  EXPECT_EQ(ios[16].status.code(), EINVAL) << "past the end, alone";
  // Read it all back in one batch of 1 MiB reads.
  std::vector<std::vector<uint8_t>> back(4, std::vector<uint8_t>(kMiB));
  std::vector<NbdDisk::Io> reads;
  for (uint64_t i = 0; i < 4; ++i) reads.push_back({false, i * kMiB, back[i].data(), kMiB});
  d->batch(reads);
  for (uint64_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(reads[i].status.isOk()) << reads[i].status.toString();
    EXPECT_EQ(back[i], pattern(i * kMiB, kMiB, 5)) << "MiB " << i;
  }
  EXPECT_EQ(fileBytes(img, 3 * kLen, kLen), pattern(3 * kLen, kLen, 5)) << "the FUA write is in the file";
  // A dead daemon fails the batch promptly instead of hanging.
  ASSERT_EQ(::kill(daemon().pid(), SIGKILL), 0);
  auto dead = std::async(std::launch::async, [&] {
    Status s = Status::ok();
    for (int i = 0; i < 50 && s.isOk(); ++i) {
      d->batch(reads);
      s = reads[0].status;
      if (s.isOk()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return s;
  });
  ASSERT_EQ(dead.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "a batch hung on a dead daemon";
  EXPECT_FALSE(dead.get().isOk());
}

TEST_F(StorageDaemonTest, Qcow2OverlayReadsItsBackingFileAndWritesOnlyItself) {
  const std::string base = image("base.raw", "-f raw", "4M");
  {
    std::fstream f(base, std::ios::in | std::ios::out | std::ios::binary);
    auto p = pattern(0, 4 * kMiB, 7);
    f.write(reinterpret_cast<const char*>(p.data()), static_cast<std::streamsize>(p.size()));
  }
  const std::string top = image("top.qcow2", "-f qcow2 -F raw -b " + base);
  ASSERT_TRUE(daemon().addExport({"top", top, "qcow2", false}).isOk());
  auto d = NbdDisk::open(daemon().nbdSocket(), "top");
  ASSERT_TRUE(d.isOk()) << d.status().toString();
  EXPECT_EQ(d->size(), 4 * kMiB) << "the overlay takes the backing file's size";
  expectAll(*d, 7);
  auto b = pattern(kMiB, 64 * 1024, 9);
  ASSERT_TRUE(d->write(kMiB, b.data(), b.size(), /*fua=*/true).isOk());
  std::vector<uint8_t> back(b.size());
  ASSERT_TRUE(d->read(kMiB, back.data(), back.size()).isOk());
  EXPECT_EQ(back, b);
  EXPECT_EQ(fileBytes(base, kMiB, 64 * 1024), pattern(kMiB, 64 * 1024, 7)) << "the backing file is untouched";
}

TEST_F(StorageDaemonTest, ReadOnlyExportRefusesWrites) {
  const std::string img = image("ro.qcow2", "-f qcow2", "2M");
  ASSERT_TRUE(daemon().addExport({"ro", img, "qcow2", true}).isOk());
  auto d = NbdDisk::open(daemon().nbdSocket(), "ro");
  ASSERT_TRUE(d.isOk()) << d.status().toString();
  EXPECT_TRUE(d->readOnly()) << "the server says so, not only our spec";
  std::vector<uint8_t> b(4096, 0xAB);
  EXPECT_EQ(d->write(0, b.data(), b.size()).code(), EROFS);
  EXPECT_EQ(d->discard(0, 4096).code(), EROFS);
  ASSERT_TRUE(d->read(0, b.data(), b.size()).isOk());
  EXPECT_EQ(b, std::vector<uint8_t>(4096, 0)) << "a fresh qcow2 reads zeros";
}

TEST_F(StorageDaemonTest, KilledDaemonGivesErrorsThenRestartsWithItsExportsAndFlushedData) {
  const std::string img = image("k.qcow2", "-f qcow2", "4M");
  ASSERT_TRUE(daemon().addExport({"k", img, "qcow2", false}).isOk());
  auto d = NbdDisk::open(daemon().nbdSocket(), "k");
  ASSERT_TRUE(d.isOk());
  writeAll(*d, 3);
  ASSERT_TRUE(d->flush().isOk());
  const pid_t old = daemon().pid();
  ASSERT_GT(old, 0);
  ASSERT_EQ(::kill(old, SIGKILL), 0);
  // I/O on the dead connection fails, and fails promptly.
  auto io = std::async(std::launch::async, [&] {
    std::vector<uint8_t> b(4096);
    Status s = Status::ok();
    for (int i = 0; i < 50 && s.isOk(); ++i) {
      s = d->read(0, b.data(), b.size());
      if (s.isOk()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return s;
  });
  ASSERT_EQ(io.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "I/O hung on a dead daemon";
  const Status dead = io.get();
  EXPECT_FALSE(dead.isOk()) << "reads kept succeeding after SIGKILL";
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (daemon().alive() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(daemon().alive()) << "the supervisor sees the daemon gone";
  ASSERT_TRUE(daemon().ensureRunning().isOk());
  EXPECT_EQ(daemon().restarts(), 1u);
  EXPECT_NE(daemon().pid(), old);
  ASSERT_TRUE(d->reconnect().isOk());
  expectAll(*d, 3);
}

TEST_F(StorageDaemonTest, ADaemonThatStopsAnsweringIsReplaced) {
  const std::string img = image("h.raw", "-f raw", "1M");
  ASSERT_TRUE(daemon().addExport({"h", img, "raw", false}).isOk());
  const pid_t old = daemon().pid();
  ASSERT_EQ(::kill(old, SIGSTOP), 0);  // alive as a process, deaf as a server
  ASSERT_TRUE(daemon().alive());
  ASSERT_TRUE(daemon().ensureRunning().isOk());
  EXPECT_NE(daemon().pid(), old);
  EXPECT_EQ(daemon().restarts(), 1u);
  EXPECT_NE(::kill(old, 0), 0) << "the hung daemon was killed, not left behind";
  auto d = NbdDisk::open(daemon().nbdSocket(), "h");
  EXPECT_TRUE(d.isOk()) << d.status().toString();
}

TEST_F(StorageDaemonTest, BadSpecsAreRefusedByName) {
  const std::string img = image("ok.raw", "-f raw", "1M");
  Status s = daemon().addExport({"a", dir_ + "/missing.raw", "raw", false});
  EXPECT_EQ(s.code(), ENOENT);
  EXPECT_NE(s.message().find("missing.raw"), std::string::npos) << s.message();
  EXPECT_EQ(daemon().addExport({"9lives", img, "raw", false}).code(), EINVAL);
  EXPECT_EQ(daemon().addExport({"bad id", img, "raw", false}).code(), EINVAL);
  s = daemon().addExport({"v", img, "vmdk", false});
  EXPECT_EQ(s.code(), EINVAL);
  EXPECT_NE(s.message().find("vmdk"), std::string::npos);
  EXPECT_EQ(daemon().pid(), -1) << "nothing started for bad specs";
  ASSERT_TRUE(daemon().addExport({"a", img, "raw", false}).isOk());
  EXPECT_EQ(daemon().addExport({"a", img, "raw", false}).code(), EEXIST);
  EXPECT_EQ(daemon().removeExport("nope").code(), ENOENT);
  ASSERT_TRUE(daemon().removeExport("a").isOk());
  auto d = NbdDisk::open(daemon().nbdSocket(), "a");
  EXPECT_FALSE(d.isOk()) << "a removed export is gone from the NBD server";
  ASSERT_TRUE(daemon().addExport({"a", img, "raw", false}).isOk()) << "and its image can be exported again";
}

TEST_F(StorageDaemonTest, MissingBinaryIsAClearError) {
  StorageDaemon d({"/nonexistent/qemu-storage-daemon", dir_ + "/run2", std::chrono::milliseconds(500)});
  Status s = d.start();
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("qemu-storage-daemon"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace smartvm::qemu
