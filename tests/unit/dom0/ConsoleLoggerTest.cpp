// Console logs in dom0: size-based rotation, and every domain's console
// followed into its own file against a fake smartvm-hv.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "FakeHv.h"
#include "TempDir.h"
#include "smartvm/dom0/smartvmd/ConsoleLogger.h"
#include "smartvm/dom0/smartvmd/RotatingLog.h"

namespace smartvm::dom0 {
namespace {

using test::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(RotatingLogTest, RotatesBySizeAndKeepsTheNewestFiles) {
  TempDir dir;
  const std::string path = dir.file("logs/a.log");
  RotatingLog log(path, 10, 2);
  ASSERT_TRUE(log.append("0123456").isOk());  // creates logs/
  ASSERT_TRUE(log.append("789").isOk());      // exactly 10: still one file
  EXPECT_EQ(slurp(path), "0123456789");
  ASSERT_TRUE(log.append("abc").isOk());      // would pass 10: rotate first
  EXPECT_EQ(slurp(path), "abc");
  EXPECT_EQ(slurp(path + ".1"), "0123456789");
  ASSERT_TRUE(log.append("defghijk").isOk());  // 3 + 8 > 10: rotate again
  EXPECT_EQ(slurp(path), "defghijk");
  EXPECT_EQ(slurp(path + ".1"), "abc");
  EXPECT_EQ(slurp(path + ".2"), "0123456789");
  ASSERT_TRUE(log.append("lmn").isOk());
  EXPECT_EQ(slurp(path), "lmn");
  EXPECT_EQ(slurp(path + ".1"), "defghijk");
  EXPECT_EQ(slurp(path + ".2"), "abc");  // the oldest went
  EXPECT_FALSE(std::filesystem::exists(path + ".3"));
}

TEST(RotatingLogTest, KeepZeroTruncatesAndAnOversizedWriteStillLands) {
  TempDir dir;
  const std::string path = dir.file("b.log");
  RotatingLog log(path, 4, 0);
  ASSERT_TRUE(log.append("abc").isOk());
  ASSERT_TRUE(log.append("0123456789").isOk());
  EXPECT_EQ(slurp(path), "0123456789");
  EXPECT_FALSE(std::filesystem::exists(path + ".1"));
}

TEST(RotatingLogTest, ContinuesAnExistingFile) {
  TempDir dir;
  const std::string path = dir.write("c.log", "12345678");
  RotatingLog log(path, 10, 1);
  ASSERT_TRUE(log.append("9").isOk());
  EXPECT_EQ(log.size(), 9u);
  ASSERT_TRUE(log.append("ab").isOk());
  EXPECT_EQ(slurp(path + ".1"), "123456789");
}

TEST(RotatingLogTest, UnwritableDirectoryIsAnError) {
  RotatingLog log("/proc/smartvm-no/x.log", 10, 1);
  EXPECT_FALSE(log.append("x").isOk());
}

class ConsoleLoggerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(hv_.start().isOk()); }
  TempDir dir_;
  test::FakeHv hv_{dir_.file("hv.sock")};
  ControlClient client_{dir_.file("hv.sock")};
};

TEST_F(ConsoleLoggerTest, EachDomainGetsItsOwnLog) {
  const uint32_t web = hv_.addDomain("web");
  const uint32_t db = hv_.addDomain("db");
  hv_.appendConsole(web, "web booting\n");
  ConsoleLogger logger(client_, {dir_.file("console"), 1 << 20, 3, std::chrono::milliseconds(10)});
  logger.pollOnce();
  hv_.appendConsole(web, "web up\n");
  hv_.appendConsole(db, "db up\n");
  logger.pollOnce();
  EXPECT_EQ(slurp(logger.logPath("web")), "web booting\nweb up\n");
  EXPECT_EQ(slurp(logger.logPath("db")), "db up\n");
  EXPECT_EQ(logger.logPath("web"), dir_.file("console") + "/guest-web.log");
}

TEST_F(ConsoleLoggerTest, ThreadFollowsNewOutputAndRotates) {
  const uint32_t web = hv_.addDomain("web");
  ConsoleLogger logger(client_, {dir_.file("console"), 16, 1, std::chrono::milliseconds(10)});
  logger.start();
  hv_.appendConsole(web, "0123456789\n");
  hv_.appendConsole(web, "");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (slurp(logger.logPath("web")).empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  hv_.appendConsole(web, "abcdefghij\n");
  while (!std::filesystem::exists(logger.logPath("web") + ".1") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  logger.stop();
  EXPECT_EQ(slurp(logger.logPath("web") + ".1"), "0123456789\n");
  EXPECT_EQ(slurp(logger.logPath("web")), "abcdefghij\n");
}

TEST_F(ConsoleLoggerTest, DisabledWithoutADirectory) {
  hv_.addDomain("web");
  ConsoleLogger logger(client_, {"", 1 << 20, 3, std::chrono::milliseconds(10)});
  logger.start();
  logger.stop();
  EXPECT_EQ(hv_.count(control::v1::Request::kConsoleRead), 0u);
}

}  // namespace
}  // namespace smartvm::dom0
