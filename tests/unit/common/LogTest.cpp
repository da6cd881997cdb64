// initLogging: the file's directory is made, and what cannot be made or
// understood is refused naming it.
#include <gtest/gtest.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "smartvm/Log.h"

namespace smartvm {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/smartvm-log-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_F(LogTest, TheLogFilesDirectoryIsMadeAndLinesReachIt) {
  const std::string file = dir_ + "/var/log/smartvm/d.log";
  ASSERT_TRUE(initLogging({"d", file, "info"}).isOk());
  spdlog::info("hello log");
  spdlog::default_logger()->flush();
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("[d] [info] hello log"), std::string::npos) << text.str();
}

TEST_F(LogTest, ADirectoryThatCannotBeMadeOrAnUnknownLevelIsRefused) {
  std::ofstream(dir_ + "/plain") << "a file, not a directory";
  const Status s = initLogging({"d", dir_ + "/plain/sub/d.log", "info"});
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("cannot create " + dir_ + "/plain/sub"), std::string::npos) << s.message();
  const Status level = initLogging({"d", "", "loud"});
  EXPECT_EQ(level.code(), EINVAL);
  EXPECT_NE(level.message().find("'loud'"), std::string::npos) << level.message();
}

}  // namespace
}  // namespace smartvm
