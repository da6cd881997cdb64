// Keyboard input of `smartvm console`: piped input reaches the guest's console
// ring (through the real smartvmd service and a fake smartvm-hv) and output
// keeps coming after its end; a full ring is retried; a terminal is raw while
// attached, detaches on Ctrl-] and gets its mode back (also after SIGTERM);
// failures to send are one-line errors; the smartvm binary end to end.
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "CliFixture.h"
#include "smartvm/dom0/cli/ConsoleAttach.h"
#include "smartvm/dom0/cli/RawTerminal.h"

namespace smartvm::dom0 {
namespace {

using namespace std::chrono_literals;
using control::v1::Request;
using Clock = std::chrono::steady_clock;

/// Waits up to 10 s for `done`.
template <typename F>
bool eventually(F done) {
  const auto deadline = Clock::now() + 10s;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

class ConsoleInputTest : public test::CliFixture {
 protected:
  /// Runs ConsoleAttach on `fd` in a thread; join() gives its end.
  struct Attached {
    std::thread thread;
    std::ostringstream out;
    grpc::Status status;
    ConsoleAttach::End end = ConsoleAttach::End::Failed;
  };
  void attach(Attached& a, int fd, bool signals = false) {
    a.thread = std::thread([this, &a, fd, signals] {
      auto stub = v1::Toolstack::NewStub(channel_);
      a.end = ConsoleAttach(*stub, a.out, {.inputFd = fd, .detachOnSignals = signals}).run("web", a.status);
    });
  }

  static bool isRaw(int fd) {
    termios t{};
    return ::tcgetattr(fd, &t) == 0 && (t.c_lflag & (ICANON | ECHO | ISIG)) == 0;
  }
};

TEST_F(ConsoleInputTest, PipedInputReachesTheRingAndOutputGoesOnAfterItsEnd) {
  const uint32_t id = hv_.addDomain("web");
  hv_.appendConsole(id, "echo ready\n");
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  Attached a;
  attach(a, p[0]);
  // Ctrl-] in a pipe is data, not a detach.
  const std::string sent = std::string("hello \x1d world\n", 14);
  ASSERT_EQ(::write(p[1], sent.data(), sent.size()), static_cast<ssize_t>(sent.size()));
  ::close(p[1]);
  EXPECT_TRUE(eventually([&] { return hv_.consoleInput(id) == sent; })) << hv_.consoleInput(id);
  // Input goes out before the output stream opens; the domain may go only
  // once smartvmd reads the console for the attach.
  EXPECT_TRUE(eventually([&] { return hv_.count(Request::kConsoleRead) > 0; }));
  hv_.appendConsole(id, "RESULT echo line=hello\n");
  std::this_thread::sleep_for(100ms);
  hv_.appendConsole(id, "bye\n");
  hv_.removeDomain(id);
  a.thread.join();
  ::close(p[0]);
  EXPECT_EQ(a.end, ConsoleAttach::End::DomainGone);
  EXPECT_EQ(a.out.str(), "echo ready\nRESULT echo line=hello\nbye\n");
}

TEST_F(ConsoleInputTest, AFullRingIsRetriedUntilTheGuestHasReadEverything) {
  const uint32_t id = hv_.addDomain("web");
  hv_.setConsoleRing(id, true, 4);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  Attached a;
  attach(a, p[0]);
  const std::string sent = "0123456789abcdef";
  ASSERT_EQ(::write(p[1], sent.data(), sent.size()), static_cast<ssize_t>(sent.size()));
  ::close(p[1]);
  // The guest reads its ring now and then; what it gets comes whole and in order.
  std::string guestGot;
  EXPECT_TRUE(eventually([&] {
    std::this_thread::sleep_for(20ms);
    guestGot += hv_.guestReadsConsole(id);
    return guestGot.size() >= sent.size();
  }));
  EXPECT_EQ(guestGot, sent);
  EXPECT_GE(hv_.count(Request::kConsoleWrite), 4u);  // 4 bytes a time at most
  hv_.removeDomain(id);
  a.thread.join();
  ::close(p[0]);
  EXPECT_EQ(a.end, ConsoleAttach::End::DomainGone);
}

TEST_F(ConsoleInputTest, TerminalIsRawSendsKeysAndDetachesOnCtrlRightBracket) {
  const uint32_t id = hv_.addDomain("web");
  hv_.appendConsole(id, "login: ");
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  termios before{};
  ASSERT_EQ(::tcgetattr(slave, &before), 0);
  Attached a;
  attach(a, slave);
  ASSERT_TRUE(eventually([&] { return isRaw(slave); }));
  // Enter is a bare \r and Ctrl-C a byte, as on a serial line (no ICRNL, no ISIG).
  ASSERT_EQ(::write(master, "root\r\x03", 6), 6);
  EXPECT_TRUE(eventually([&] { return hv_.consoleInput(id) == "root\r\x03"; })) << hv_.consoleInput(id);
  const char keys[] = {'l', 's', ConsoleAttach::kDetachByte, 'x'};
  ASSERT_EQ(::write(master, keys, sizeof keys), 4);
  a.thread.join();
  termios after{};
  ::tcgetattr(slave, &after);
  ::close(master);
  ::close(slave);
  EXPECT_EQ(a.end, ConsoleAttach::End::Detached);
  // What came before Ctrl-] went to the guest, nothing after it.
  EXPECT_EQ(hv_.consoleInput(id), "root\r\x03ls");
  EXPECT_EQ(a.out.str(), "login: ");
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  EXPECT_NE(after.c_lflag & ICANON, 0u);
  EXPECT_TRUE(hv_.domain(id).has_value());
}

TEST_F(ConsoleInputTest, SigtermDetachesAndRestoresTheTerminal) {
  const uint32_t id = hv_.addDomain("web");
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  termios before{};
  ASSERT_EQ(::tcgetattr(slave, &before), 0);
  Attached a;
  attach(a, slave, /*signals=*/true);
  // The handlers go in before the terminal turns raw.
  ASSERT_TRUE(eventually([&] { return isRaw(slave); }));
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  a.thread.join();
  termios after{};
  ::tcgetattr(slave, &after);
  ::close(master);
  ::close(slave);
  EXPECT_EQ(a.end, ConsoleAttach::End::Detached);
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_TRUE(hv_.domain(id).has_value());
  // SIGTERM's disposition is back to the default.
  struct sigaction now {};
  ::sigaction(SIGTERM, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
}

TEST_F(ConsoleInputTest, ATerminalHangupDetaches) {
  hv_.addDomain("web");
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  Attached a;
  attach(a, slave);
  ASSERT_TRUE(eventually([&] { return isRaw(slave); }));
  ::close(master);
  a.thread.join();
  ::close(slave);
  EXPECT_EQ(a.end, ConsoleAttach::End::Detached);
}

TEST_F(ConsoleInputTest, InputToADomainWithoutAConsoleRingFailsWithTheReason) {
  const uint32_t id = hv_.addDomain("web");
  hv_.setConsoleRing(id, false);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_EQ(::write(p[1], "x", 1), 1);
  ::close(p[1]);
  Attached a;
  attach(a, p[0]);
  a.thread.join();
  ::close(p[0]);
  EXPECT_EQ(a.end, ConsoleAttach::End::Failed);
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(a.status.error_message(), "domain 'web' has no console ring served by the hypervisor");
  EXPECT_TRUE(hv_.domain(id).has_value());
}

TEST_F(ConsoleInputTest, EmptyInputChangesNothing) {
  const uint32_t id = hv_.addDomain("web");
  hv_.appendConsole(id, "hi\n");
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ::close(p[1]);
  Attached a;
  attach(a, p[0]);
  std::this_thread::sleep_for(200ms);
  hv_.removeDomain(id);
  a.thread.join();
  ::close(p[0]);
  EXPECT_EQ(a.end, ConsoleAttach::End::DomainGone);
  EXPECT_EQ(a.out.str(), "hi\n");
  EXPECT_EQ(hv_.count(Request::kConsoleWrite), 0u);
}

TEST(RawTerminalMode, KeepsOutputProcessingAndTurnsOffKeyHandling) {
  termios cooked{};
  cooked.c_iflag = ICRNL | IXON | BRKINT;
  cooked.c_oflag = OPOST | ONLCR;
  cooked.c_lflag = ICANON | ECHO | ISIG | IEXTEN;
  cooked.c_cflag = CS7 | PARENB;
  const termios raw = RawTerminal::raw(cooked);
  EXPECT_EQ(raw.c_iflag & (ICRNL | IXON | BRKINT), 0u);
  EXPECT_EQ(raw.c_lflag & (ICANON | ECHO | ISIG | IEXTEN), 0u);
  EXPECT_EQ(raw.c_oflag, cooked.c_oflag);
  EXPECT_EQ(raw.c_cflag & CSIZE, static_cast<tcflag_t>(CS8));
  EXPECT_EQ(raw.c_cflag & PARENB, 0u);
  EXPECT_EQ(raw.c_cc[VMIN], 1);
  EXPECT_EQ(raw.c_cc[VTIME], 0);
  // Not a terminal: nothing to do.
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  EXPECT_FALSE(RawTerminal(p[0]).active());
  ::close(p[0]);
  ::close(p[1]);
}

/// `printf ... | smartvm console web`, the way a script would drive it.
TEST_F(ConsoleInputTest, BinaryForwardsPipedStdin) {
  const uint32_t id = hv_.addDomain("web");
  hv_.appendConsole(id, "echo ready\n");
  const std::string errFile = dir_.file("err.txt");
  std::mutex outMutex;
  std::string out;
  const auto outSoFar = [&] {
    std::lock_guard lock(outMutex);
    return out;
  };
  int code = -1;
  std::thread cli([&] {
    const std::string cmd =
        "printf 'hello\\r' | " + std::string(SMARTVM_CLI_BIN) + " --connect " + target() + " console web 2>" + errFile;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return;
    char buf[512];
    // Unbuffered reads, so the output seen so far is what the CLI printed so far.
    for (ssize_t n; (n = ::read(::fileno(p), buf, sizeof buf)) > 0;) {
      std::lock_guard lock(outMutex);
      out.append(buf, static_cast<size_t>(n));
    }
    const int status = ::pclose(p);
    code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  });
  EXPECT_TRUE(eventually([&] { return hv_.consoleInput(id) == "hello\r"; })) << hv_.consoleInput(id);
  hv_.appendConsole(id, "RESULT echo line=hello bytes=5\n");
  // The input may arrive before the output stream is open; the domain goes
  // only once the CLI has shown what the guest printed, as a user would wait.
  EXPECT_TRUE(eventually([&] { return outSoFar().find("bytes=5\n") != std::string::npos; })) << outSoFar();
  hv_.removeDomain(id);
  cli.join();
  std::ifstream err(errFile);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(err), {}), "");
  EXPECT_EQ(code, 0);
  EXPECT_EQ(out, "echo ready\nRESULT echo line=hello bytes=5\n");
}

TEST_F(ConsoleInputTest, BinaryReportsInputFailureOnOneLine) {
  const uint32_t id = hv_.addDomain("web");
  hv_.setConsoleRing(id, false);
  const std::string cmd =
      "printf x | " + std::string(SMARTVM_CLI_BIN) + " --connect " + target() + " console web 2>&1 >/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string err;
  char buf[512];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) err.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1);
  EXPECT_EQ(err, "smartvm: domain 'web' has no console ring served by the hypervisor\n");
}

}  // namespace
}  // namespace smartvm::dom0
