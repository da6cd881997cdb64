// smartvm-blkback's command line: defaults, --no-persistent-grants, --help
// and a clear error for an unknown option.
#include <gtest/gtest.h>

#include <vector>

#include "smartvm/dom0/blkback/BlkbackOptions.h"

namespace smartvm::dom0::blkback {
namespace {

BlkbackArgs parse(std::vector<const char*> args) {
  args.insert(args.begin(), "smartvm-blkback");
  return parseBlkbackArgs(static_cast<int>(args.size()), args.data());
}

TEST(BlkbackOptions, PersistentGrantsAreOfferedUnlessTurnedOff) {
  const BlkbackArgs plain = parse({});
  ASSERT_TRUE(plain.options.has_value()) << plain.err;
  EXPECT_TRUE(plain.options->daemon.persistentGrants);
  EXPECT_EQ(plain.options->daemon.xenstoredSocket, "/run/smartvm/xenstored.sock");
  const BlkbackArgs off = parse({"--no-persistent-grants", "--run-dir", "/tmp/bb"});
  ASSERT_TRUE(off.options.has_value()) << off.err;
  EXPECT_FALSE(off.options->daemon.persistentGrants);
  EXPECT_EQ(off.options->daemon.runDir, "/tmp/bb");
}

TEST(BlkbackOptions, HelpAndUnknownOptions) {
  const BlkbackArgs help = parse({"--help"});
  EXPECT_FALSE(help.options.has_value());
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_NE(help.out.find("--no-persistent-grants"), std::string::npos) << help.out;
  const BlkbackArgs bad = parse({"--persistent"});
  EXPECT_FALSE(bad.options.has_value());
  EXPECT_NE(bad.exitCode, 0);
  EXPECT_NE(bad.err.find("--persistent"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace smartvm::dom0::blkback
