// Guest console logs in smartvmd: the --console-log-* options, ConsoleLogger
// running inside SmartvmdServer against a fake smartvm-hv (new domains,
// restarts, destroyed domains' last output, an unwritable directory), and the
// smartvmd binary writing guest-<name>.log.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "SmartvmdFixture.h"
#include "smartvm/dom0/smartvmd/ConsoleLogger.h"
#include "smartvm/dom0/smartvmd/SmartvmdOptions.h"

namespace smartvm::dom0 {
namespace {

using namespace std::chrono_literals;
using control::v1::Request;
using Clock = std::chrono::steady_clock;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Polls until `path` holds `want` (or 10 s pass); returns what it holds.
std::string waitForFile(const std::string& path, const std::string& want) {
  const auto deadline = Clock::now() + 10s;
  std::string got = slurp(path);
  while (got != want && Clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    got = slurp(path);
  }
  return got;
}

SmartvmdArgs daemon(std::vector<std::string> args) {
  std::vector<const char*> argv = {"smartvmd"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return parseSmartvmdArgs(static_cast<int>(argv.size()), argv.data());
}

// --- options ---

TEST(SmartvmdConsoleLogOptions, Defaults) {
  const SmartvmdArgs d = daemon({});
  ASSERT_TRUE(d.options.has_value()) << d.err;
  EXPECT_EQ(d.options->consoleLogDir, "/var/log/smartvm/console");
  EXPECT_EQ(d.options->consoleLogSize, 1u << 20);
  EXPECT_EQ(d.options->consoleLogKeep, 5u);
  const SmartvmdArgs h = daemon({"--help"});
  for (const char* opt : {"--console-log-dir", "--no-console-log", "--console-log-size", "--console-log-keep"}) {
    EXPECT_NE(h.out.find(opt), std::string::npos) << opt;
  }
}

TEST(SmartvmdConsoleLogOptions, ValuesAndSuffixes) {
  const SmartvmdArgs o =
      daemon({"--console-log-dir", "/srv/logs", "--console-log-size", "512K", "--console-log-keep", "0"});
  ASSERT_TRUE(o.options.has_value()) << o.err;
  EXPECT_EQ(o.options->consoleLogDir, "/srv/logs");
  EXPECT_EQ(o.options->consoleLogSize, 512u * 1024);
  EXPECT_EQ(o.options->consoleLogKeep, 0u);
  const std::pair<const char*, uint64_t> sizes[] = {{"1024", 1024},   {"1k", 1024},     {"3M", 3u << 20},
                                                    {"2m", 2u << 20}, {"1G", 1u << 30}, {"4096", 4096}};
  for (const auto& [text, bytes] : sizes) {
    const SmartvmdArgs s = daemon({"--console-log-size", text});
    ASSERT_TRUE(s.options.has_value()) << text << ": " << s.err;
    EXPECT_EQ(s.options->consoleLogSize, bytes) << text;
  }
  EXPECT_EQ(daemon({"--console-log-keep", "100"}).options->consoleLogKeep, 100u);
}

TEST(SmartvmdConsoleLogOptions, EmptyDirOrNoConsoleLogTurnsItOff) {
  EXPECT_EQ(daemon({"--console-log-dir", ""}).options->consoleLogDir, "");
  EXPECT_EQ(daemon({"--no-console-log"}).options->consoleLogDir, "");
}

TEST(SmartvmdConsoleLogOptions, BadValuesNameTheOption) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--console-log-size", "12X"}, "--console-log-size: '12X' is not a size (bytes, or with K, M or G: 512K, 1M)"},
      {{"--console-log-size", "M"}, "--console-log-size: 'M' is not a size"},
      {{"--console-log-size", "1MB"}, "--console-log-size: '1MB' is not a size"},
      {{"--console-log-size", "-1"}, "--console-log-size: '-1' is not a size"},
      {{"--console-log-size", "100"}, "--console-log-size: 100 is out of range (1K..1G)"},
      {{"--console-log-size", "2G"}, "--console-log-size: 2G is out of range (1K..1G)"},
      {{"--console-log-size", "99999999999999999999"}, "--console-log-size: '99999999999999999999' is not a size"},
      {{"--console-log-size", "17179869184G"}, "--console-log-size: 17179869184G is out of range"},
      {{"--console-log-keep", "101"}, "--console-log-keep: 101 is out of range (0..100)"},
      {{"--console-log-keep", "-1"}, "--console-log-keep: '-1' is not a whole number"},
      {{"--console-log-keep", "few"}, "--console-log-keep: 'few' is not a whole number"},
      {{"--no-console-log", "--console-log-dir", "/x"}, "--no-console-log"},
  };
  for (const auto& [args, message] : cases) {
    const SmartvmdArgs r = daemon(args);
    EXPECT_FALSE(r.options.has_value()) << args[1];
    EXPECT_NE(r.exitCode, 0) << args[1];
    EXPECT_NE(r.err.find(message), std::string::npos) << "wanted: " << message << "\ngot: " << r.err;
  }
}

// --- ConsoleLogger's lifecycle ---

class ConsoleLogLifecycle : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(hv_.start().isOk()); }
  test::TempDir dir_;
  test::FakeHv hv_{dir_.file("hv.sock")};
  ControlClient client_{dir_.file("hv.sock")};
};

TEST_F(ConsoleLogLifecycle, ADestroyedDomainsLastOutputIsLogged) {
  const uint32_t id = hv_.addDomain("web");
  ConsoleLogger logger(client_, {dir_.file("console"), 1 << 20, 3, 10ms});
  hv_.appendConsole(id, "up\n");
  logger.pollOnce();
  // Output and destroy between two rounds: the next round finds the domain gone.
  hv_.appendConsole(id, "panic: bye\n");
  hv_.removeDomain(id);
  logger.pollOnce();
  EXPECT_EQ(slurp(logger.logPath("web")), "up\npanic: bye\n");
  // Dropped after that: no more reads of it.
  const size_t reads = hv_.count(Request::kConsoleRead);
  logger.pollOnce();
  EXPECT_EQ(hv_.count(Request::kConsoleRead), reads);
}

TEST_F(ConsoleLogLifecycle, ADomainCreatedAndGoneBetweenTwoRoundsIsLoggedThroughItsHook) {
  ConsoleLogger logger(client_, {dir_.file("console"), 1 << 20, 3, 10ms});
  logger.pollOnce();
  // A guest that fails at once: created (the hook hears of it), prints, goes.
  const uint32_t id = hv_.addDomain("oops");
  logger.onCreated(*hv_.domain(id));
  hv_.appendConsole(id, "FAIL unknown workload\n");
  hv_.removeDomain(id);
  logger.pollOnce();
  EXPECT_EQ(slurp(logger.logPath("oops")), "FAIL unknown workload\n");
}

TEST_F(ConsoleLogLifecycle, ALogThatCannotBeWrittenIsRetriedWithoutLosingBytes) {
  const uint32_t id = hv_.addDomain("web");
  // A directory where the log file should be: every append fails.
  std::filesystem::create_directories(dir_.file("console/guest-web.log"));
  ConsoleLogger logger(client_, {dir_.file("console"), 1 << 20, 3, 10ms});
  hv_.appendConsole(id, "one\n");
  logger.pollOnce();
  logger.pollOnce();
  std::filesystem::remove(dir_.file("console/guest-web.log"));
  hv_.appendConsole(id, "two\n");
  logger.pollOnce();
  EXPECT_EQ(slurp(logger.logPath("web")), "one\ntwo\n");
}

// smartvmd restarted while its guests run: the new logger goes on after what
// the last one wrote (guest-<name>.log.pos), not from the start of the history.
TEST_F(ConsoleLogLifecycle, ARestartedLoggerGoesOnWhereTheLastOneStopped) {
  const uint32_t id = hv_.addDomain("web");
  hv_.appendConsole(id, "boot\n");
  {
    ConsoleLogger logger(client_, {dir_.file("console"), 1 << 20, 3, 10ms});
    logger.pollOnce();
    hv_.appendConsole(id, "up\n");
    logger.pollOnce();
  }
  hv_.appendConsole(id, "while smartvmd was down\n");
  ConsoleLogger again(client_, {dir_.file("console"), 1 << 20, 3, 10ms});
  again.pollOnce();
  EXPECT_EQ(slurp(again.logPath("web")), "boot\nup\nwhile smartvmd was down\n");
  EXPECT_EQ(slurp(again.positionPath("web")), "1 1700000000001 32\n");
}

// The position names the domain by its creation time: a new domain that
// took the old one's name is logged from its own first byte, and a damaged
// position file means starting over (duplicates, never a gap).
TEST_F(ConsoleLogLifecycle, ANewDomainOfTheSameNameOrADamagedPositionStartsFromTheBeginning) {
  const uint32_t old = hv_.addDomain("web");
  hv_.appendConsole(old, "old guest\n");
  {
    ConsoleLogger logger(client_, {dir_.file("console"), 1 << 20, 3, 10ms});
    logger.pollOnce();
  }
  hv_.removeDomain(old);
  const uint32_t fresh = hv_.addDomain("web");
  hv_.appendConsole(fresh, "new\n");
  {
    ConsoleLogger logger(client_, {dir_.file("console"), 1 << 20, 3, 10ms});
    logger.pollOnce();
    EXPECT_EQ(slurp(logger.logPath("web")), "old guest\nnew\n");
  }
  for (const char* damaged : {"", "2 1700000000002\n", "2 1700000000002 4 junk\n", "2 x 4\n"}) {
    {
      std::ofstream out(dir_.file("console/guest-web.log.pos"), std::ios::trunc);
      out << damaged;
    }
    std::filesystem::remove(dir_.file("console/guest-web.log"));
    ConsoleLogger logger(client_, {dir_.file("console"), 1 << 20, 3, 10ms});
    logger.pollOnce();
    EXPECT_EQ(slurp(logger.logPath("web")), "new\n") << "position file '" << damaged << "'";
  }
}

// --- inside smartvmd ---

class SmartvmdConsoleLog : public test::SmartvmdFixture {
 protected:
  std::string logOf(const std::string& name) const { return dir_.file("console/guest-" + name + ".log"); }
};

TEST_F(SmartvmdConsoleLog, FollowsExistingAndNewDomainsThroughRestartsAndDestroy) {
  // Started by hand (the fixture's server runs without logs): same FakeHv, own socket.
  const uint32_t web = hv_.addDomain("web", v1::LIFECYCLE_ACTION_DESTROY, v1::LIFECYCLE_ACTION_RESTART);
  hv_.appendConsole(web, "web booting\n");
  SmartvmdServer server(dir_.file("hv.sock"));
  server.logConsoles({dir_.file("console"), 1 << 20, 2, 10ms});
  ASSERT_TRUE(server.start("unix:" + dir_.file("logged.sock")).isOk());
  auto stub = v1::Toolstack::NewStub(server.inProcessChannel());
  EXPECT_EQ(waitForFile(logOf("web"), "web booting\n"), "web booting\n");

  // A domain created after smartvmd started gets its own log.
  v1::CreateDomainRequest create;
  create.mutable_config()->set_name("db");
  create.mutable_config()->set_kernel("/boot/vmlinuz");
  v1::DomainInfo db;
  ASSERT_TRUE(stub->CreateDomain(ctx().get(), create, &db).ok());
  hv_.appendConsole(db.domid(), "db up\n");
  EXPECT_EQ(waitForFile(logOf("db"), "db up\n"), "db up\n");

  // A reboot restarts web in place (same domid, same history): one log goes on.
  v1::ShutdownRequest reboot;
  reboot.mutable_domain()->set_id("web");
  reboot.set_reboot(true);
  reboot.set_wait(true);
  v1::DomainInfo after;
  ASSERT_TRUE(stub->ShutdownDomain(ctx().get(), reboot, &after).ok());
  EXPECT_EQ(after.restarts(), 1u);
  hv_.appendConsole(web, "web booting again\n");
  EXPECT_EQ(waitForFile(logOf("web"), "web booting\nweb booting again\n"), "web booting\nweb booting again\n");

  // Destroyed: the log stays; a new domain of the same name appends to it.
  hv_.appendConsole(db.domid(), "db going\n");
  v1::DestroyResponse destroyed;
  ASSERT_TRUE(stub->DestroyDomain(ctx().get(), ref("db"), &destroyed).ok());
  EXPECT_EQ(waitForFile(logOf("db"), "db up\ndb going\n"), "db up\ndb going\n");
  ASSERT_TRUE(stub->CreateDomain(ctx().get(), create, &db).ok());
  hv_.appendConsole(db.domid(), "db again\n");
  EXPECT_EQ(waitForFile(logOf("db"), "db up\ndb going\ndb again\n"), "db up\ndb going\ndb again\n");

  // Shutdown returns at once and the logger reads nothing more.
  const auto before = Clock::now();
  server.shutdown(5s);
  EXPECT_LT(Clock::now() - before, 2s);
  const size_t reads = hv_.count(Request::kConsoleRead);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(hv_.count(Request::kConsoleRead), reads);
}

TEST_F(SmartvmdConsoleLog, AnUnwritableDirectoryIsAWarningNotAFailure) {
  hv_.appendConsole(hv_.addDomain("web"), "hello\n");
  // /proc refuses new directories even to root.
  SmartvmdServer server(dir_.file("hv.sock"));
  server.logConsoles({"/proc/smartvm-no/console", 1 << 20, 2, 10ms});
  ASSERT_TRUE(server.start("unix:" + dir_.file("logged.sock")).isOk());
  auto stub = v1::Toolstack::NewStub(server.inProcessChannel());
  v1::ListDomainsResponse listed;
  ASSERT_TRUE(stub->ListDomains(ctx().get(), {}, &listed).ok());
  EXPECT_EQ(listed.domains_size(), 2);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(hv_.count(Request::kConsoleRead), 0u);
}

TEST_F(SmartvmdConsoleLog, WithoutLogConsolesNothingIsRead) {
  hv_.appendConsole(hv_.addDomain("web"), "hello\n");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(hv_.count(Request::kConsoleRead), 0u);
}

TEST(SmartvmdConsoleLogBinary, WritesGuestLogsAndStopsOnSigterm) {
  test::TempDir dir;
  test::FakeHv hv(dir.file("hv.sock"));
  ASSERT_TRUE(hv.start().isOk());
  const uint32_t id = hv.addDomain("web");
  hv.appendConsole(id, "Booting Smart-VM guest\n");
  const std::string logDir = dir.file("console");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string listen = "unix:" + dir.file("smartvmd.sock"), hvSock = dir.file("hv.sock");
    ::execl(SMARTVMD_BIN, "smartvmd", "--listen", listen.c_str(), "--hv-socket", hvSock.c_str(), "--log-file", "",
            "--xenstored-socket", "", "--console-log-dir", logDir.c_str(), "--console-log-size", "1K",
            "--console-log-keep", "1", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const std::string log = logDir + "/guest-web.log";
  EXPECT_EQ(waitForFile(log, "Booting Smart-VM guest\n"), "Booting Smart-VM guest\n");
  // Past 1 KiB the log rotates into guest-web.log.1.
  hv.appendConsole(id, std::string(1100, 'x') + "\n");
  const auto deadline = Clock::now() + 10s;
  while (!std::filesystem::exists(log + ".1") && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(slurp(log + ".1"), "Booting Smart-VM guest\n");
  EXPECT_EQ(waitForFile(log, std::string(1100, 'x') + "\n"), std::string(1100, 'x') + "\n");
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  for (int i = 0; i < 200 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(25ms);
  ASSERT_TRUE(WIFEXITED(status)) << "smartvmd did not exit after SIGTERM";
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace smartvm::dom0
