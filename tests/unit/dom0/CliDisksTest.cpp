// The block-* commands' command lines and the errors smartvm gives before
// and without smartvmd's disk support (smartvmd here has no xenstored).
#include <gtest/gtest.h>

#include "CliFixture.h"

namespace smartvm::dom0 {
namespace {

CliArgs parse(std::vector<std::string> args) {
  std::vector<const char*> argv = {"smartvm"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return parseCliArgs(static_cast<int>(argv.size()), argv.data(), nullptr);
}

TEST(CliDisksArgs, BlockAttachKeepsTheSpecWordsForJoining) {
  const CliArgs r = parse({"block-attach", "web", "format=raw,vdev=xvdb", "access=rw", "target=/tmp/d.img"});
  ASSERT_TRUE(r.command.has_value()) << r.err;
  EXPECT_EQ(r.command->verb, CliVerb::BlockAttach);
  EXPECT_EQ(r.command->domain, "web");
  EXPECT_EQ(r.command->diskSpec, (std::vector<std::string>{"format=raw,vdev=xvdb", "access=rw", "target=/tmp/d.img"}));
}

TEST(CliDisksArgs, BlockDetachTakesADomainAndAVdev) {
  const CliArgs r = parse({"block-detach", "web", "51728"});
  ASSERT_TRUE(r.command.has_value()) << r.err;
  EXPECT_EQ(r.command->verb, CliVerb::BlockDetach);
  EXPECT_EQ(r.command->domain, "web");
  EXPECT_EQ(r.command->vdev, "51728");
}

TEST(CliDisksArgs, BlockListTakesDomains) {
  const CliArgs r = parse({"block-list", "web", "3"});
  ASSERT_TRUE(r.command.has_value()) << r.err;
  EXPECT_EQ(r.command->verb, CliVerb::BlockList);
  EXPECT_EQ(r.command->domains, (std::vector<std::string>{"web", "3"}));
}

TEST(CliDisksArgs, MissingArgumentsPointAtTheCommandsHelp) {
  CliArgs r = parse({"block-attach", "web"});
  EXPECT_FALSE(r.command.has_value());
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.err, "smartvm: disk-spec is required (see 'smartvm block-attach --help')\n");
  r = parse({"block-detach", "web"});
  EXPECT_EQ(r.err, "smartvm: vdev is required (see 'smartvm block-detach --help')\n");
  r = parse({"block-list"});
  EXPECT_EQ(r.err, "smartvm: domains is required (see 'smartvm block-list --help')\n");
}

TEST(CliDisksArgs, HelpShowsTheSpecSyntaxWithExamples) {
  const CliArgs r = parse({"block-attach", "--help"});
  EXPECT_FALSE(r.command.has_value());
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.out.find("Usage: smartvm block-attach [OPTIONS] domain disk-spec..."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("smartvm block-attach web format=raw,vdev=xvdb,access=rw,target="), std::string::npos);
  EXPECT_NE(r.out.find("smartvm block-attach web /var/lib/smartvm/data.qcow2,qcow2,xvdc,ro"), std::string::npos);
  const CliArgs top = parse({"--help"});
  for (const char* verb : {"block-attach", "block-detach", "block-list"}) {
    EXPECT_NE(top.out.find(verb), std::string::npos) << verb;
  }
}

class CliDisksTest : public test::CliFixture {};

TEST_F(CliDisksTest, ABadSpecIsRefusedBeforeAnyCall) {
  hv_.addDomain("web");
  const size_t before = hv_.requests().size();
  EXPECT_EQ(run({"block-attach", "web", "/tmp/d.img,raw"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: disk '/tmp/d.img,raw': no vdev (xvda, xvdb, ...)\n");
  EXPECT_EQ(run({"block-attach", "web", "/tmp/d.img,vmdk,xvdb"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: disk '/tmp/d.img,vmdk,xvdb': unknown format 'vmdk' (raw or qcow2)\n");
  EXPECT_EQ(hv_.requests().size(), before);
  // target= takes the rest of the spec, so a stray word lands in the path: the spec is
  // good and reaches smartvmd, which has no disk support here.
  EXPECT_EQ(run({"block-attach", "web", "format=raw,vdev=xvdb", "target=/tmp/d.img", "bogus=1"}), 1);
  EXPECT_EQ(err_.str().rfind("smartvm: PV disks are not available", 0), 0u) << err_.str();
  EXPECT_EQ(out_.str(), "");
}

TEST_F(CliDisksTest, WithoutXenstoredSmartvmdSaysWhatIsMissing) {
  hv_.addDomain("web");
  EXPECT_EQ(run({"block-list", "web"}), 1);
  EXPECT_EQ(err_.str(),
            "smartvm: PV disks are not available: smartvmd runs without smartvm-xenstored (--xenstored-socket \"\"); "
            "restart it with --xenstored-socket PATH\n");
  EXPECT_EQ(out_.str(), "") << "no table when no domain could be listed";
  EXPECT_EQ(run({"block-attach", "web", "/tmp/d.img,raw,xvdb"}), 1);
  EXPECT_NE(err_.str().find("--xenstored-socket"), std::string::npos) << err_.str();
  EXPECT_EQ(run({"block-detach", "web", "xvdb"}), 1);
  EXPECT_NE(err_.str().find("--xenstored-socket"), std::string::npos) << err_.str();
}

}  // namespace
}  // namespace smartvm::dom0
