// xenstored over a real Unix socket: the server object on a thread, and the
// smartvm-xenstored binary as a child process.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "XsSocketClient.h"
#include "XsTestClient.h"
#include "smartvm/dom0/xenstore/XenstoreClient.h"
#include "smartvm/dom0/xenstore/XsSocketServer.h"

namespace smartvm::dom0::xenstore::test {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/smartvm-xs-test-XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class XsSocketServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(stop_.valid());
    ASSERT_TRUE(server_.listen(dir_.file("run/xenstored.sock")).isOk());
    thread_ = std::thread([this] { runStatus_ = server_.run(stop_.get()); });
  }
  void TearDown() override {
    const uint64_t one = 1;
    ASSERT_EQ(::write(stop_.get(), &one, sizeof one), static_cast<ssize_t>(sizeof one));
    thread_.join();
    EXPECT_TRUE(runStatus_.isOk()) << runStatus_.toString();
  }

  TempDir dir_;
  UniqueFd stop_{::eventfd(0, EFD_CLOEXEC)};
  XsServerCore core_;
  XsSocketServer server_{core_};
  std::thread thread_;
  Status runStatus_;
};

TEST_F(XsSocketServerTest, ServesRequestsAndCrossClientWatchEvents) {
  XsSocketClient a, b;
  ASSERT_TRUE(a.connect(dir_.file("run/xenstored.sock")));
  ASSERT_TRUE(b.connect(dir_.file("run/xenstored.sock")));
  ASSERT_TRUE(b.send(XS_WATCH, 1, z("/sock") + z("tok")));
  auto m = b.receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload, kOk);
  m = b.receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->hdr.type, static_cast<uint32_t>(XS_WATCH_EVENT));

  ASSERT_TRUE(a.send(XS_WRITE, 2, z("/sock/k") + "v"));
  m = a.receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload, kOk);
  m = b.receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->hdr.type, static_cast<uint32_t>(XS_WATCH_EVENT));
  EXPECT_EQ(m->payload, z("/sock/k") + z("tok"));
}

TEST_F(XsSocketServerTest, OversizedMessageClosesOnlyThatClient) {
  XsSocketClient bad, good;
  ASSERT_TRUE(bad.connect(dir_.file("run/xenstored.sock")));
  ASSERT_TRUE(good.connect(dir_.file("run/xenstored.sock")));
  xsd_sockmsg hdr{XS_READ, 3, 0, 100000};
  ASSERT_TRUE(bad.sendRaw(std::string(reinterpret_cast<const char*>(&hdr), sizeof hdr)));
  auto m = bad.receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(text(*m), "E:E2BIG");
  EXPECT_FALSE(bad.receive()) << "then the server hangs up";
  ASSERT_TRUE(good.send(XS_READ, 4, z("/")));
  m = good.receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->hdr.req_id, 4u);
}

TEST_F(XsSocketServerTest, ClientLibraryCoversTheOperations) {
  auto c = XenstoreClient::connect(dir_.file("run/xenstored.sock"));
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  ASSERT_TRUE(c->write("/lib/a", "1").isOk());
  ASSERT_TRUE(c->mkdir("/lib/b").isOk());
  EXPECT_EQ(*c->read("/lib/a"), "1");
  EXPECT_EQ(*c->directory("/lib"), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(c->setPerms("/lib/a", {"n0", "r5"}).isOk());
  EXPECT_EQ(*c->getPerms("/lib/a"), (std::vector<std::string>{"n0", "r5"}));
  ASSERT_TRUE(c->rm("/lib/a").isOk());
  EXPECT_EQ(c->read("/lib/a").status().code(), ENOENT);
  EXPECT_EQ(c->write("/bad//path", "x").code(), EINVAL);
}

TEST_F(XsSocketServerTest, ClientLibraryWatchesAndTransactions) {
  auto a = XenstoreClient::connect(dir_.file("run/xenstored.sock"));
  auto b = XenstoreClient::connect(dir_.file("run/xenstored.sock"));
  ASSERT_TRUE(a.isOk() && b.isOk());
  ASSERT_TRUE(a->watch("/ev", "tok").isOk());
  auto ev = a->waitEvent(std::chrono::seconds(5));
  ASSERT_TRUE(ev.isOk()) << ev.status().toString();
  EXPECT_EQ(ev->path, "/ev");
  EXPECT_EQ(ev->token, "tok");

  auto tx = a->transactionStart();
  ASSERT_TRUE(tx.isOk());
  EXPECT_EQ(a->read("/ev/k", *tx).status().code(), ENOENT);
  ASSERT_TRUE(b->write("/ev/k", "from-b").isOk());
  ASSERT_TRUE(a->write("/ev/k", "from-a", *tx).isOk());
  EXPECT_EQ(a->transactionEnd(*tx, true).code(), EAGAIN);
  ev = a->waitEvent(std::chrono::seconds(5));
  ASSERT_TRUE(ev.isOk());
  EXPECT_EQ(ev->path, "/ev/k");
  EXPECT_EQ(a->waitEvent(std::chrono::milliseconds(50)).status().code(), ETIMEDOUT);
  EXPECT_EQ(*b->read("/ev/k"), "from-b");
}

TEST(XenstoreClientTest, NoDaemonIsECONNREFUSED) {
  TempDir dir;
  auto c = XenstoreClient::connect(dir.file("none.sock"));
  ASSERT_FALSE(c.isOk());
  EXPECT_EQ(c.status().code(), ECONNREFUSED);
}

class XenstoredBinaryTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  /// Runs the daemon with smartvm-hv's socket somewhere nothing listens, logging to `logFile`.
  void start(const std::string& socket, const std::string& logFile = "") {
    const std::string hv = dir_.file("no-hv.sock");
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      ::execl(SMARTVM_XENSTORED_BIN, SMARTVM_XENSTORED_BIN, "--socket", socket.c_str(), "--hv-socket", hv.c_str(),
              "--log-file", logFile.c_str(), "--log-level", "warn", static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  /// Sends SIGTERM and returns the exit status.
  int stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  TempDir dir_;
  pid_t pid_ = -1;
};

TEST_F(XenstoredBinaryTest, ServesItsSocketAndStopsOnSigterm) {
  const std::string sock = dir_.file("xenstored.sock");
  start(sock);
  XsSocketClient c;
  ASSERT_TRUE(c.connect(sock));
  // The header in two pieces, as a slow client might send it.
  const std::string req = XsMessage::encode(XS_WRITE, 11, 0, z("/bin/test") + "hello");
  ASSERT_TRUE(c.sendRaw(req.substr(0, 5)));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(c.sendRaw(req.substr(5)));
  auto m = c.receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->hdr.req_id, 11u);
  EXPECT_EQ(m->payload, kOk);
  ASSERT_TRUE(c.send(XS_READ, 12, z("/bin/test")));
  m = c.receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload, "hello");
  ASSERT_TRUE(c.send(12345, 13, z("/")));
  m = c.receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(text(*m), "E:EINVAL");

  const int status = stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_FALSE(std::filesystem::exists(sock)) << "the socket is removed on exit";
}

TEST_F(XenstoredBinaryTest, IntroduceFailsClearlyWithoutSmartvmHv) {
  const std::string sock = dir_.file("xenstored.sock");
  const std::string log = dir_.file("xenstored.log");
  start(sock, log);
  XsSocketClient c;
  ASSERT_TRUE(c.connect(sock));
  ASSERT_TRUE(c.send(XS_INTRODUCE, 1, z("4") + z("4096") + z("3")));
  auto m = c.receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(text(*m), "E:EIO");
  ASSERT_TRUE(c.send(XS_IS_DOMAIN_INTRODUCED, 2, z("4")));
  m = c.receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(text(*m), z("F"));
  ASSERT_TRUE(c.send(XS_WRITE, 3, z("/dom0/still") + "served"));
  m = c.receive();
  ASSERT_TRUE(m);
  EXPECT_EQ(text(*m), kOk) << "dom0 clients are served without smartvm-hv";
  const int status = stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("INTRODUCE dom4"), std::string::npos) << text;
  EXPECT_NE(text.find("cannot reach smartvm-hv at " + dir_.file("no-hv.sock")), std::string::npos) << text;
}

TEST_F(XenstoredBinaryTest, HelpNamesTheSocketOption) {
  const std::string out = dir_.file("help.txt");
  const std::string cmd = std::string(SMARTVM_XENSTORED_BIN) + " --help > " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(out);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("--socket"), std::string::npos);
  EXPECT_NE(text.find("/run/smartvm/xenstored.sock"), std::string::npos);
  EXPECT_NE(text.find("--hv-socket"), std::string::npos);
}

}  // namespace
}  // namespace smartvm::dom0::xenstore::test
