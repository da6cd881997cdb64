// End-to-end: starts the real smartvm-hv and smartvmd with their sockets and
// logs in a temp dir, then drives them with the real smartvm CLI and checks
// what it prints and how it exits.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Starts `argv` with stdin from /dev/null and stdout+stderr to `logPath`.
pid_t spawn(const std::vector<std::string>& argv, const std::string& logPath) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

/// Waits for `pid` up to `timeout`; kills it (SIGKILL) after that. Returns the
/// exit code, 128+signal if killed by a signal, or -1 on timeout.
int waitExit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  int st = 0;
  while (std::chrono::steady_clock::now() < end) {
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (r < 0) return -2;
    std::this_thread::sleep_for(20ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &st, 0);
  return -1;
}

struct CliResult {
  int rc;
  std::string out;  // stdout
  std::string err;  // stderr
};

class E2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/dev/kvm", R_OK | W_OK) != 0) {
      GTEST_SKIP() << "/dev/kvm unusable: " << std::strerror(errno);
    }
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (smartvm-hv's control socket is root-only)";
    char tmpl[] = "/tmp/smartvm-e2e-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    hvSock_ = dir_ + "/hv.sock";
    dSock_ = dir_ + "/smartvmd.sock";
    startHv();
    startSmartvmd();
  }

  void TearDown() override {
    if (dPid_ > 0) {
      ::kill(dPid_, SIGTERM);
      waitExit(dPid_, 15s);
    }
    if (hvPid_ > 0) {
      ::kill(hvPid_, SIGTERM);
      waitExit(hvPid_, 15s);
    }
    if (HasFailure() && !dir_.empty()) {
      std::cerr << "--- smartvm-hv output ---\n" << readFile(dir_ + "/hv.out")
                << "--- smartvmd output ---\n" << readFile(dir_ + "/smartvmd.out");
    }
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  static bool waitSocket(const std::string& path, pid_t pid) {
    const auto end = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < end) {
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return true;
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) return false;  // died
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  void startHv() {
    hvPid_ = spawn({SMARTVM_HV_BIN, "--control-socket", hvSock_, "--log-file", dir_ + "/hv.log", "--log-dir",
                    dir_ + "/domains"},
                   dir_ + "/hv.out");
    ASSERT_GT(hvPid_, 0);
    ASSERT_TRUE(waitSocket(hvSock_, hvPid_)) << readFile(dir_ + "/hv.out");
  }

  void startSmartvmd() {
    std::error_code ec;
    // Guest console logs in the test's directory, never the host's /var/log.
    dPid_ = spawn({SMARTVMD_BIN, "--listen", "unix:" + dSock_, "--hv-socket", hvSock_, "--log-file",
                   dir_ + "/smartvmd.log", "--console-log-dir", dir_ + "/console"},
                  dir_ + "/smartvmd.out");
    ASSERT_GT(dPid_, 0);
    ASSERT_TRUE(waitSocket(dSock_, dPid_)) << readFile(dir_ + "/smartvmd.out");
  }

  /// Runs the CLI with `args`; kills it after `timeout` (rc -1).
  CliResult cli(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 60s) {
    static int n = 0;
    const std::string outPath = dir_ + "/cli" + std::to_string(++n) + ".out";
    const std::string errPath = dir_ + "/cli" + std::to_string(n) + ".err";
    std::vector<std::string> argv{SMARTVM_CLI_BIN, "--connect", "unix:" + dSock_};
    argv.insert(argv.end(), args.begin(), args.end());
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> cargs;
    for (const auto& a : argv) cargs.push_back(const_cast<char*>(a.c_str()));
    cargs.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, cargs[0], &fa, nullptr, cargs.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return {-3, "", std::strerror(rc)};
    const int code = waitExit(pid, timeout);
    return {code, readFile(outPath), readFile(errPath)};
  }

  std::string writeCfg(const std::string& name, const std::string& workload, const std::string& extra = "") {
    const std::string path = dir_ + "/" + name + ".cfg";
    std::ofstream(path) << "name = \"" << name << "\"\n"
                        << "type = \"pvh\"\n"
                        << "memory = 64\n"
                        << "kernel = \"" << SMARTVM_GUEST_ELF << "\"\n"
                        << "cmdline = \"workload=" << workload << "\"\n"
                        << extra;
    return path;
  }

  /// The list row for `name`, or "" if absent.
  static std::string row(const std::string& list, const std::string& name) {
    std::istringstream in(list);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind(name + " ", 0) == 0) return line;
    }
    return "";
  }
  /// The six state letters of a list row.
  static std::string stateOf(const std::string& r) {
    std::istringstream in(r);
    std::string name, id, mem, vcpus, state;
    in >> name >> id >> mem >> vcpus >> state;
    return state;
  }

  /// Polls `smartvm list` until `pred(output)` holds.
  template <typename Pred>
  bool waitList(Pred pred, std::chrono::milliseconds timeout = 60s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      const CliResult r = cli({"list"});
      if (r.rc == 0 && pred(r.out)) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  std::string dir_, hvSock_, dSock_;
  pid_t hvPid_ = -1, dPid_ = -1;
};

TEST_F(E2eTest, CreateListPauseShutdownDestroy) {
  const std::string cfg = writeCfg("idler", "idle", "on_poweroff = \"preserve\"\n");
  CliResult r = cli({"create", cfg});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Created domain idler"), std::string::npos) << r.out;

  r = cli({"list"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string header = r.out.substr(0, r.out.find('\n'));
  for (const char* col : {"Name", "ID", "Mem", "VCPUs", "State", "Time(s)"}) {
    EXPECT_NE(header.find(col), std::string::npos) << col << " missing in: " << header;
  }
  EXPECT_NE(row(r.out, "Domain-0"), "") << r.out;
  const std::string g = row(r.out, "idler");
  ASSERT_NE(g, "") << r.out;
  std::string st = stateOf(g);
  EXPECT_TRUE(st.find('r') != std::string::npos || st.find('b') != std::string::npos) << g;
  EXPECT_NE(g.find(" 64 "), std::string::npos) << g;

  r = cli({"list", "-l"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.find_first_not_of(" \n\t"), r.out.find('[')) << "not a JSON array: " << r.out;
  EXPECT_NE(r.out.find("\"name\": \"idler\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"name\": \"Domain-0\""), std::string::npos) << r.out;

  ASSERT_EQ(cli({"pause", "idler"}).rc, 0);
  EXPECT_EQ(stateOf(row(cli({"list"}).out, "idler"))[2], 'p');
  ASSERT_EQ(cli({"unpause", "idler"}).rc, 0);
  EXPECT_EQ(stateOf(row(cli({"list"}).out, "idler")).find('p'), std::string::npos);

  r = cli({"shutdown", "idler"});
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("PV control"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("-F"), std::string::npos) << r.err;

  r = cli({"shutdown", "-F", "-w", "idler"});
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  const std::string after = row(cli({"list"}).out, "idler");
  ASSERT_NE(after, "");
  EXPECT_EQ(stateOf(after)[3], 's') << after;  // preserved, shut down

  r = cli({"destroy", "idler"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(row(cli({"list"}).out, "idler"), "");
}

TEST_F(E2eTest, CreateWithConsoleShowsAShortLivedGuestsAnswer) {
  // The guest may be done and destroyed within milliseconds: -c attaches by domid from the start.
  const CliResult r = cli({"create", "-c", writeCfg("pi", "pi")}, 120s);  // on_poweroff defaults to destroy
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Smart-VM guest"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("RESULT pi value=3.1415926536"), std::string::npos) << r.out;
  EXPECT_TRUE(waitList([](const std::string& l) { return row(l, "pi").empty(); }));
}

TEST_F(E2eTest, ConsoleFollowsARunningGuestUntilItIsGone) {
  // Long enough (seconds at CPL3) for `console` to attach while the guest still runs.
  CliResult r = cli({"create", writeCfg("longpi", "pi steps=1000000000")});
  ASSERT_EQ(r.rc, 0) << r.err;
  r = cli({"console", "longpi"}, 120s);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Smart-VM guest"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("RESULT pi value=3.14159"), std::string::npos) << r.out;
  EXPECT_TRUE(waitList([](const std::string& l) { return row(l, "longpi").empty(); }));
}

TEST_F(E2eTest, UnknownDomainIsNotFound) {
  for (const char* cmd : {"destroy", "pause", "console"}) {
    const CliResult r = cli({cmd, "no-such-domain"}, 30s);
    EXPECT_EQ(r.rc, 1) << cmd;
    EXPECT_NE(r.err.find("not found"), std::string::npos) << cmd << ": " << r.err;
  }
}

TEST_F(E2eTest, InfoAndDmesg) {
  ASSERT_EQ(cli({"create", writeCfg("dm", "idle")}).rc, 0);
  CliResult r = cli({"info"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("xen_version"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4.17"), std::string::npos) << r.out;
  r = cli({"dmesg"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("created domain"), std::string::npos) << r.out;
  EXPECT_EQ(cli({"destroy", "dm"}).rc, 0);
}

TEST_F(E2eTest, EvtchnListAndDebugKeys) {
  ASSERT_EQ(cli({"create", writeCfg("ev", "idle")}).rc, 0);
  CliResult r = cli({"evtchn-list", "ev"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.rfind(" Port  State", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("    0  reserved"), std::string::npos) << r.out;
  r = cli({"evtchn-list", "Domain-0"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("reserved"), std::string::npos) << r.out;
  r = cli({"evtchn-list", "no-such-domain"}, 30s);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;

  r = cli({"debug-keys", "q"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "");
  r = cli({"dmesg"});
  EXPECT_NE(r.out.find("'q' pressed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("'ev': 1 vCPU(s) sent VIRQ_DEBUG"), std::string::npos) << r.out;
  r = cli({"debug-keys", "Z"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("unknown debug key 'Z'"), std::string::npos) << r.err;
  EXPECT_EQ(cli({"destroy", "ev"}).rc, 0);
}

TEST_F(E2eTest, DaemonsStopCleanlyAndGuestsOutliveSmartvmd) {
  ASSERT_EQ(cli({"create", writeCfg("survivor", "idle")}).rc, 0);
  ASSERT_EQ(::kill(dPid_, SIGTERM), 0);
  EXPECT_EQ(waitExit(dPid_, 30s), 0);
  dPid_ = -1;
  EXPECT_NE(cli({"list"}, 30s).rc, 0);  // nobody listening
  startSmartvmd();
  const CliResult r = cli({"list"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(row(r.out, "survivor"), "") << r.out;

  ASSERT_EQ(::kill(hvPid_, SIGTERM), 0);
  EXPECT_EQ(waitExit(hvPid_, 30s), 0);
  hvPid_ = -1;
  const CliResult down = cli({"list"}, 30s);
  EXPECT_EQ(down.rc, 1);
  EXPECT_NE(down.err.find("smartvm-hv"), std::string::npos) << down.err;
}

}  // namespace
