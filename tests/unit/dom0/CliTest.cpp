// The smartvm CLI: CliRunner against the real smartvmd service and a fake
// smartvm-hv, then the smartvm and smartvmd binaries end to end.
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "CliFixture.h"
#include "smartvm/dom0/cli/CliRunner.h"
#include "smartvm/dom0/cli/DomainListFormat.h"
#include "smartvm/dom0/cli/EventChannelFormat.h"
#include "smartvm/dom0/cli/HostInfoFormat.h"

namespace smartvm::dom0 {
namespace {

using namespace std::chrono_literals;
using control::v1::Request;

class Cli : public test::CliFixture {
 protected:
  std::string writeConfig(const std::string& body) {
    dir_.write("vmlinuz", "kernel");
    return dir_.write("web.cfg", body);
  }
};

TEST_F(Cli, CreatePrintsLikeXlAndSendsTheParsedConfig) {
  const std::string cfg = writeConfig("name = \"web\"\nkernel = \"vmlinuz\"\nmemory = 256\nvif = []\n");
  EXPECT_EQ(run({"create", cfg, "vcpus=2"}), 0);
  EXPECT_EQ(out_.str(), "Created domain web (id 1)\n");
  EXPECT_EQ(err_.str(), "Parsing config from " + cfg + "\nsmartvm: warning: " + cfg +
                            ":4: vif: not supported by Smart-VM yet, ignored\n");
  const auto requests = hv_.requests();
  const auto create = std::find_if(requests.begin(), requests.end(), [](const auto& r) { return r.has_create(); });
  ASSERT_NE(create, requests.end());
  EXPECT_TRUE(create->create().hold_paused()) << "held until its nodes are written";
  EXPECT_TRUE(requests.back().has_unpause()) << "then unpaused";
  const v1::DomainConfig& sent = create->create().config();
  EXPECT_EQ(sent.name(), "web");
  EXPECT_EQ(sent.kernel(), dir_.file("vmlinuz"));
  EXPECT_EQ(sent.memory_mib(), 256u);
  EXPECT_EQ(sent.vcpus(), 2u);
  EXPECT_EQ(sent.source_file(), cfg);
  EXPECT_FALSE(sent.start_paused());
}

TEST_F(Cli, CreatePausedAndBadConfigs) {
  const std::string cfg = writeConfig("name = \"web\"\nkernel = \"vmlinuz\"\n");
  EXPECT_EQ(run({"create", "-p", cfg}), 0);
  EXPECT_EQ(hv_.domain(1)->state(), v1::DOMAIN_STATE_PAUSED);

  EXPECT_EQ(run({"create", cfg, "memory=lots"}), 1);
  EXPECT_EQ(err_.str(),
            "Parsing config from " + cfg + "\nsmartvm: command line:1: memory: expected an integer, got \"lots\"\n");
  EXPECT_EQ(out_.str(), "");
  const std::string bad = dir_.write("bad.cfg", "name = \"x\"\nkernel = \"vmlinuz\"\nmemory = \"lots\"\n");
  EXPECT_EQ(run({"create", bad}), 1);
  EXPECT_EQ(err_.str(),
            "Parsing config from " + bad + "\nsmartvm: " + bad + ":3: memory: expected an integer, got \"lots\"\n");
  EXPECT_EQ(run({"create", cfg}), 1);
  EXPECT_EQ(err_.str(), "Parsing config from " + cfg + "\nsmartvm: a domain named 'web' already exists\n");
}

TEST_F(Cli, CreateWithConsoleAttachesUntilTheDomainIsGone) {
  const std::string cfg = writeConfig("name = \"web\"\nkernel = \"vmlinuz\"\n");
  std::thread guest([&] {
    while (!hv_.domain(1)) std::this_thread::sleep_for(20ms);
    hv_.appendConsole(1, "Booting Smart-VM guest\n");
    std::this_thread::sleep_for(200ms);
    hv_.appendConsole(1, "bye\n");
    hv_.removeDomain(1);
  });
  EXPECT_EQ(run({"create", "-c", cfg}), 0);
  guest.join();
  EXPECT_EQ(out_.str(), "Created domain web (id 1)\nBooting Smart-VM guest\nbye\n");
}

TEST_F(Cli, ListTableAndJson) {
  hv_.addDomain("web");
  EXPECT_EQ(run({"list"}), 0);
  EXPECT_EQ(out_.str(), std::string(kDomainTableHeader) + "\n" +
                            "Domain-0                                     0  2048     2     r-----      12.3\n" +
                            "web                                          1   128     1     r-----       0.0\n");
  EXPECT_EQ(run({"list", "web"}), 0);
  EXPECT_EQ(out_.str(), std::string(kDomainTableHeader) + "\n" +
                            "web                                          1   128     1     r-----       0.0\n");
  EXPECT_EQ(run({"list", "-l"}), 0);
  const auto j = nlohmann::json::parse(out_.str());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "Domain-0");
  EXPECT_EQ(j[1]["name"], "web");
  EXPECT_EQ(j[1]["domid"], 1);
  EXPECT_EQ(j[1]["state"], "running");
}

TEST_F(Cli, UnknownDomainIsAOneLineError) {
  EXPECT_EQ(run({"list", "Domain-0", "foo"}), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "smartvm: domain 'foo' not found\n");
  for (const char* verb : {"pause", "unpause", "destroy", "shutdown", "reboot", "console"}) {
    EXPECT_EQ(run({verb, "foo"}), 1) << verb;
    EXPECT_EQ(err_.str(), "smartvm: domain 'foo' not found\n") << verb;
  }
}

TEST_F(Cli, PauseUnpauseDestroyAreSilent) {
  const uint32_t id = hv_.addDomain("web");
  EXPECT_EQ(run({"pause", "web"}), 0);
  EXPECT_EQ(hv_.domain(id)->state(), v1::DOMAIN_STATE_PAUSED);
  EXPECT_EQ(run({"unpause", "1"}), 0);
  EXPECT_EQ(hv_.domain(id)->state(), v1::DOMAIN_STATE_RUNNING);
  EXPECT_EQ(run({"destroy", "web"}), 0);
  EXPECT_FALSE(hv_.domain(id).has_value());
  EXPECT_EQ(out_.str() + err_.str(), "");
}

TEST_F(Cli, ShutdownAndReboot) {
  hv_.addDomain("web", v1::LIFECYCLE_ACTION_PRESERVE, v1::LIFECYCLE_ACTION_RESTART);
  hv_.setShutdownDelay(100ms);
  EXPECT_EQ(run({"reboot", "-w", "web"}), 0);
  EXPECT_EQ(out_.str(), "Domain web (id 1) has rebooted\n");
  EXPECT_EQ(run({"shutdown", "-w", "-F", "web"}), 0);
  EXPECT_EQ(out_.str(), "Domain web (id 1) has been shut down\n");
  const auto requests = hv_.requests();
  std::vector<Request> shutdowns;
  for (const auto& r : requests) {
    if (r.has_shutdown()) shutdowns.push_back(r);
  }
  ASSERT_EQ(shutdowns.size(), 2u);
  EXPECT_EQ(shutdowns[0].shutdown().reason(), v1::SHUTDOWN_REASON_REBOOT);
  EXPECT_EQ(shutdowns[1].shutdown().reason(), v1::SHUTDOWN_REASON_POWEROFF);
  EXPECT_TRUE(shutdowns[1].shutdown().force());
  hv_.addDomain("db");
  hv_.setShutdownDelay(10s);
  EXPECT_EQ(run({"shutdown", "db"}), 0);
  EXPECT_EQ(out_.str(), "Shutting down domain db (id 2)\n");
}

TEST_F(Cli, InfoAndDmesg) {
  EXPECT_EQ(run({"info"}), 0);
  EXPECT_EQ(out_.str(), formatHostInfo(hv_.host));
  EXPECT_EQ(out_.str().rfind("host                   : fakehost\nrelease                : 6.1.0-test\n", 0), 0u);
  EXPECT_EQ(run({"dmesg", "-c"}), 0);
  EXPECT_EQ(out_.str(), "(XEN) smartvm-hv starting\n(XEN) Domain-0 ready\n");
  EXPECT_EQ(run({"dmesg"}), 0);
  EXPECT_EQ(out_.str(), "");
}

TEST_F(Cli, EvtchnListPrintsTheTable) {
  const uint32_t id = hv_.addDomain("web");
  v1::EventChannel p;
  p.set_port(1);
  p.set_state(v1::EVENT_CHANNEL_STATE_INTERDOMAIN);
  p.set_remote_domid(0);
  p.set_remote_port(7);
  p.set_pending(true);
  hv_.eventChannels[id] = {p};
  EXPECT_EQ(run({"evtchn-list", "web"}), 0);
  EXPECT_EQ(out_.str(), formatEventChannels({p}));
  EXPECT_NE(out_.str().find("    1  interdomain  dom 0 port 7                0        1       0\n"), std::string::npos)
      << out_.str();
  EXPECT_EQ(hv_.requests().back().evtchn_list().dom(), id);

  EXPECT_EQ(run({"evtchn-list", "0"}), 0) << "Domain-0 has ports too";
  EXPECT_NE(out_.str().find("reserved"), std::string::npos) << out_.str();
  EXPECT_EQ(run({"evtchn-list", "nope"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: domain 'nope' not found\n");
  EXPECT_EQ(run({"evtchn-list", "99"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: domain '99' not found\n");
}

TEST_F(Cli, DebugKeysIsSilentAndReachesTheHypervisor) {
  EXPECT_EQ(run({"debug-keys", "q"}), 0);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "");
  ASSERT_EQ(hv_.debugKeys.size(), 1u);
  EXPECT_EQ(hv_.debugKeys[0], "q");
  EXPECT_EQ(run({"debug-keys", "z"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: unknown debug key (supported: q)\n");
}

TEST_F(Cli, ConsoleStreamsUntilTheDomainIsGone) {
  const uint32_t id = hv_.addDomain("web");
  hv_.appendConsole(id, "early\n");
  std::thread guest([&] {
    std::this_thread::sleep_for(200ms);
    hv_.appendConsole(id, "late\n");
    std::this_thread::sleep_for(200ms);
    hv_.removeDomain(id);
  });
  EXPECT_EQ(run({"console", "web"}), 0);
  guest.join();
  EXPECT_EQ(out_.str(), "early\nlate\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(Cli, ConsoleDetachesOnCtrlRightBracketFromATerminal) {
  const uint32_t id = hv_.addDomain("web");
  hv_.appendConsole(id, "hello\n");
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  termios before{};
  ::tcgetattr(slave, &before);
  std::thread user([&] {
    std::this_thread::sleep_for(300ms);
    const char keys[] = {'a', ConsoleAttach::kDetachByte};
    EXPECT_EQ(::write(master, keys, sizeof keys), 2);
  });
  auto stub = v1::Toolstack::NewStub(channel_);
  std::ostringstream out;
  grpc::Status status;
  const auto end = ConsoleAttach(*stub, out, {.inputFd = slave, .detachOnSignals = false}).run("web", status);
  user.join();
  termios after{};
  ::tcgetattr(slave, &after);
  ::close(master);
  ::close(slave);
  EXPECT_EQ(end, ConsoleAttach::End::Detached);
  EXPECT_EQ(out.str(), "hello\n");
  // The terminal is back in the mode it was in.
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_NE(after.c_lflag & ICANON, 0u);
  EXPECT_TRUE(hv_.domain(id).has_value());
}

TEST_F(Cli, ConsoleDetachesOnSigint) {
  const uint32_t id = hv_.addDomain("web");
  hv_.appendConsole(id, "hello\n");
  auto stub = v1::Toolstack::NewStub(channel_);
  std::ostringstream out;
  grpc::Status status;
  std::thread user([&] {
    std::this_thread::sleep_for(300ms);
    ::kill(::getpid(), SIGINT);
  });
  const auto end = ConsoleAttach(*stub, out, {.inputFd = -1, .detachOnSignals = true}).run("web", status);
  user.join();
  EXPECT_EQ(end, ConsoleAttach::End::Detached);
  EXPECT_EQ(out.str(), "hello\n");
  EXPECT_TRUE(hv_.domain(id).has_value());
}

TEST(CliConnect, NoSmartvmdIsAOneLineError) {
  test::TempDir dir;
  const std::string target = "unix:" + dir.file("absent.sock");
  std::ostringstream out, err;
  CliCommand cmd;
  cmd.verb = CliVerb::List;
  CliRunner runner(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()), target, out, err, {});
  EXPECT_EQ(runner.run(cmd), 1);
  EXPECT_EQ(err.str(), "smartvm: cannot connect to smartvmd at " + target + " (is smartvmd running?)\n");
  EXPECT_EQ(out.str(), "");
}

/// Exit code, stdout and stderr of a command run through the shell.
struct Ran {
  int code = -1;
  std::string out;
  std::string err;
};

Ran runShell(const std::string& command, const test::TempDir& dir) {
  const std::string errFile = dir.file("stderr.txt");
  FILE* p = ::popen((command + " 2>" + errFile).c_str(), "r");
  Ran r;
  if (p == nullptr) return r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(errFile);
  r.err.assign(std::istreambuf_iterator<char>(in), {});
  return r;
}

TEST_F(Cli, BinaryEndToEnd) {
  const std::string bin = SMARTVM_CLI_BIN;
  const std::string cfg = writeConfig("name = \"web\"\nkernel = \"vmlinuz\"\n");
  const Ran created = runShell(bin + " --connect " + target() + " create " + cfg + " memory=64", dir_);
  EXPECT_EQ(created.code, 0) << created.err;
  EXPECT_EQ(created.out, "Created domain web (id 1)\n");
  EXPECT_EQ(created.err, "Parsing config from " + cfg + "\n");
  const Ran listed = runShell("SMARTVM_CONNECT=" + target() + " " + bin + " list web", dir_);
  EXPECT_EQ(listed.code, 0);
  EXPECT_EQ(listed.out, std::string(kDomainTableHeader) + "\n" +
                            "web                                          1    64     1     r-----       0.0\n");
  const Ran missing = runShell("SMARTVM_CONNECT=" + target() + " " + bin + " pause nope", dir_);
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "smartvm: domain 'nope' not found\n");
  const Ran usage = runShell(bin + " frobnicate", dir_);
  EXPECT_EQ(usage.code, 1);
  EXPECT_EQ(usage.err, "smartvm: unknown command 'frobnicate' (see 'smartvm --help')\n");
  const Ran help = runShell(bin + " console --help", dir_);
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("Usage: smartvm console"), std::string::npos);
  const Ran absent = runShell(bin + " --connect unix:" + dir_.file("none.sock") + " list", dir_);
  EXPECT_EQ(absent.code, 1);
  EXPECT_EQ(absent.err,
            "smartvm: cannot connect to smartvmd at unix:" + dir_.file("none.sock") + " (is smartvmd running?)\n");
}

TEST(SmartvmdBinary, ServesUntilSigtermAndLeavesDomainsRunning) {
  test::TempDir dir;
  test::FakeHv hv(dir.file("hv.sock"));
  ASSERT_TRUE(hv.start().isOk());
  const uint32_t id = hv.addDomain("web");
  const std::string sock = dir.file("run/smartvmd.sock");
  const std::string log = dir.file("log/smartvmd.log");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string listen = "unix:" + sock, hvSock = dir.file("hv.sock");
    ::execl(SMARTVMD_BIN, "smartvmd", "--listen", listen.c_str(), "--hv-socket", hvSock.c_str(), "--log-file",
            log.c_str(), "--no-console-log", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // smartvmd restricts the socket right after gRPC binds it: wait for both.
  const auto wanted = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                      std::filesystem::perms::group_read | std::filesystem::perms::group_write;
  auto perms = [&] { return std::filesystem::status(sock).permissions() & std::filesystem::perms::all; };
  for (int i = 0; i < 200 && (!std::filesystem::exists(sock) || perms() != wanted); ++i) {
    std::this_thread::sleep_for(25ms);
  }
  ASSERT_TRUE(std::filesystem::exists(sock));
  EXPECT_EQ(perms(), wanted);
  const Ran listed = runShell(std::string(SMARTVM_CLI_BIN) + " --connect unix:" + sock + " list", dir);
  EXPECT_EQ(listed.code, 0) << listed.err;
  EXPECT_NE(listed.out.find("web                                          1"), std::string::npos) << listed.out;

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  for (int i = 0; i < 400 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(25ms);
  ASSERT_TRUE(WIFEXITED(status)) << "smartvmd did not exit after SIGTERM";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(hv.domain(id).has_value());
  for (auto op : {Request::kDestroy, Request::kShutdown, Request::kPause}) EXPECT_EQ(hv.count(op), 0u);
  std::ifstream in(log);
  const std::string logText((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(logText.find("received SIGTERM, stopping"), std::string::npos) << logText;
}

}  // namespace
}  // namespace smartvm::dom0
