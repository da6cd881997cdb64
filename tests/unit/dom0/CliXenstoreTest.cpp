// smartvm xenstore-ls/-read/-write/-rm/-list/-watch against a real xenstored
// on a temp socket: in-process through CliRunner, and the smartvm binary.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <sstream>
#include <thread>

#include "TempDir.h"
#include "XenstoredThread.h"
#include "smartvm/dom0/cli/CliArgs.h"
#include "smartvm/dom0/cli/CliRunner.h"
#include "smartvm/dom0/cli/XenstoreCommands.h"

namespace smartvm::dom0 {
namespace {

using namespace std::chrono_literals;

class CliXenstoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(xenstored_.start().isOk()); }

  /// Runs `smartvm ARGS` in-process; returns the exit code, output in out_/err_.
  int run(std::vector<std::string> args, const char* env = nullptr) {
    out_.str("");
    err_.str("");
    std::vector<const char*> argv = {"smartvm"};
    if (env == nullptr) {
      argv.push_back("--xenstored-socket");
      argv.push_back(xenstored_.path().c_str());
    }
    for (const auto& a : args) argv.push_back(a.c_str());
    const CliArgs parsed = parseCliArgs(static_cast<int>(argv.size()), argv.data(), nullptr, env);
    out_ << parsed.out;
    if (!parsed.command) {
      err_ << parsed.err;
      return parsed.exitCode;
    }
    // The xenstore commands never use smartvmd: a channel to nowhere is enough.
    CliRunner runner(grpc::CreateChannel("unix:" + dir_.file("no-smartvmd.sock"), grpc::InsecureChannelCredentials()),
                     "nowhere", out_, err_, {});
    return runner.run(*parsed.command);
  }

  test::TempDir dir_;
  test::XenstoredThread xenstored_{dir_.file("xenstored.sock")};
  std::ostringstream out_, err_;
};

TEST_F(CliXenstoreTest, WriteReadListAndRm) {
  ASSERT_EQ(run({"xenstore-write", "/tool/a", "1", "/tool/b/c", "two words"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "");
  ASSERT_EQ(run({"xenstore-read", "/tool/a", "/tool/b/c"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "1\ntwo words\n");
  ASSERT_EQ(run({"xenstore-list", "/tool"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), "a\nb\n");
  ASSERT_EQ(run({"xenstore-rm", "/tool/b"}), 0) << err_.str();
  ASSERT_EQ(run({"xenstore-list", "/tool"}), 0);
  EXPECT_EQ(out_.str(), "a\n");
}

TEST_F(CliXenstoreTest, LsPrintsTheTreeWithIndentAndEscapes) {
  ASSERT_EQ(run({"xenstore-write", "/local/domain/3/name", "web", "/local/domain/3/data/odd", "a\"b\\c\n"}), 0);
  ASSERT_EQ(run({"xenstore-ls", "/local/domain/3"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "data = \"\"\n"
            " odd = \"a\\\"b\\\\c\\n\"\n"
            "name = \"web\"\n");
  ASSERT_EQ(run({"xenstore-ls"}), 0);
  EXPECT_NE(out_.str().find("local = \"\"\n domain = \"\"\n  3 = \"\"\n   data = \"\"\n"), std::string::npos)
      << out_.str();
  ASSERT_EQ(run({"xenstore-ls", "-p", "/local/domain/3"}), 0);
  EXPECT_NE(out_.str().find("name = \"web\"  (n0)\n"), std::string::npos) << out_.str();
}

TEST_F(CliXenstoreTest, ErrorsNameThePathAndExit1) {
  EXPECT_EQ(run({"xenstore-read", "/nothing/here"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: /nothing/here: no such node\n");
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(run({"xenstore-rm", "/nothing"}), 0) << "as in Xen: removing a missing node under an existing parent is fine";
  EXPECT_EQ(run({"xenstore-rm", "/nothing/deeper"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: /nothing/deeper: no such node\n");
  EXPECT_EQ(run({"xenstore-ls", "/nothing"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: /nothing: no such node\n");
  EXPECT_EQ(run({"xenstore-write", "/bad//path", "x"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: /bad//path: invalid path or value\n");
  EXPECT_EQ(run({"xenstore-write", "/a", "1", "/b"}), 1);
  EXPECT_NE(err_.str().find("PATH VALUE pairs; '/b' has no value"), std::string::npos) << err_.str();
  EXPECT_EQ(run({"xenstore-read"}), 1) << "a path is required";
  EXPECT_NE(err_.str().find("xenstore-read --help"), std::string::npos) << err_.str();
}

TEST_F(CliXenstoreTest, NoXenstoredIsAClearError) {
  EXPECT_EQ(run({"xenstore-read", "/a"}, dir_.file("none.sock").c_str()), 1);
  EXPECT_NE(err_.str().find("cannot reach xenstored at " + dir_.file("none.sock")), std::string::npos) << err_.str();
  EXPECT_NE(err_.str().find("is smartvm-xenstored running?"), std::string::npos);
}

TEST_F(CliXenstoreTest, WatchPrintsEventsAndStopsAfterN) {
  ASSERT_EQ(run({"xenstore-write", "/w", ""}), 0);
  std::ostringstream out, err;
  std::atomic<int> rc{-1};
  std::thread watcher([&] {
    const char* argv[] = {"smartvm", "--xenstored-socket", xenstored_.path().c_str(), "xenstore-watch", "-n", "2", "/w"};
    const CliArgs parsed = parseCliArgs(7, argv, nullptr);
    if (!parsed.command) return;
    rc = XenstoreCommands(out, err).run(*parsed.command);
  });
  // Writes until the watcher has seen its two events: the first is the watch's own, at once.
  auto xs = xenstore::XenstoreClient::connect(xenstored_.path());
  ASSERT_TRUE(xs.isOk());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (rc.load() == -1 && std::chrono::steady_clock::now() < deadline) {
    ASSERT_TRUE(xs->write("/w/a", "x").isOk());
    std::this_thread::sleep_for(20ms);
  }
  watcher.join();
  EXPECT_EQ(rc.load(), 0) << err.str();
  EXPECT_EQ(out.str(), "/w\n/w/a\n");
}

TEST_F(CliXenstoreTest, HelpListsTheXenstoreCommands) {
  EXPECT_EQ(run({"--help"}), 0);
  for (const char* c : {"xenstore-ls", "xenstore-read", "xenstore-write", "xenstore-rm", "xenstore-list",
                        "xenstore-watch", "--xenstored-socket"}) {
    EXPECT_NE(out_.str().find(c), std::string::npos) << c;
  }
  EXPECT_EQ(run({"xenstore-watch", "--help"}), 0);
  EXPECT_NE(out_.str().find("-n"), std::string::npos);
}

TEST_F(CliXenstoreTest, BinaryUsesTheEnvironmentVariable) {
  ASSERT_EQ(run({"xenstore-write", "/bin/k", "v"}), 0);
  const std::string cmd = "SMARTVM_XENSTORED_SOCKET=" + xenstored_.path() + " " + SMARTVM_CLI_BIN +
                          " xenstore-read /bin/k /bin/missing 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string text;
  char buf[256];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) text.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  EXPECT_EQ(text, "v\nsmartvm: /bin/missing: no such node\n");
}

}  // namespace
}  // namespace smartvm::dom0
