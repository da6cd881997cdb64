// Command lines of smartvm and smartvmd, and smartvmd's listen addresses.
#include <gtest/gtest.h>
#include <unistd.h>

#include "TempDir.h"
#include "smartvm/MessageSocket.h"
#include "smartvm/dom0/cli/CliArgs.h"
#include "smartvm/dom0/smartvmd/ListenAddress.h"
#include "smartvm/dom0/smartvmd/SmartvmdOptions.h"

namespace smartvm::dom0 {
namespace {

/// argv for a parse function, with the program name first.
class Argv {
 public:
  Argv(const char* program, std::vector<std::string> args) : args_(std::move(args)) {
    ptrs_.push_back(program);
    for (const auto& a : args_) ptrs_.push_back(a.c_str());
  }
  int argc() const { return static_cast<int>(ptrs_.size()); }
  const char* const* argv() const { return ptrs_.data(); }

 private:
  std::vector<std::string> args_;
  std::vector<const char*> ptrs_;
};

CliArgs cli(std::vector<std::string> args, const char* env = nullptr) {
  Argv a("smartvm", std::move(args));
  return parseCliArgs(a.argc(), a.argv(), env);
}

CliCommand cliOk(std::vector<std::string> args, const char* env = nullptr) {
  CliArgs r = cli(std::move(args), env);
  EXPECT_TRUE(r.command.has_value()) << r.err;
  EXPECT_EQ(r.err, "");
  return r.command.value_or(CliCommand{});
}

TEST(CliArgs, CreateWithFlagsAndOverrides) {
  const CliCommand c = cliOk({"create", "web.cfg", "-c", "memory=256", "-p", "name=\"db\""});
  EXPECT_EQ(c.verb, CliVerb::Create);
  EXPECT_EQ(c.configFile, "web.cfg");
  EXPECT_EQ(c.overrides, (std::vector<std::string>{"memory=256", "name=\"db\""}));
  EXPECT_TRUE(c.attachConsole);
  EXPECT_TRUE(c.startPaused);
  EXPECT_EQ(c.connect, CliCommand::kDefaultConnect);
  const CliCommand plain = cliOk({"create", "web.cfg"});
  EXPECT_FALSE(plain.attachConsole);
  EXPECT_FALSE(plain.startPaused);
  EXPECT_TRUE(plain.overrides.empty());
}

TEST(CliArgs, ListVariants) {
  const CliCommand l = cliOk({"list"});
  EXPECT_EQ(l.verb, CliVerb::List);
  EXPECT_FALSE(l.longFormat);
  EXPECT_TRUE(l.domains.empty());
  const CliCommand ll = cliOk({"list", "-l", "web", "3"});
  EXPECT_TRUE(ll.longFormat);
  EXPECT_EQ(ll.domains, (std::vector<std::string>{"web", "3"}));
  EXPECT_TRUE(cliOk({"list", "--long"}).longFormat);
}

TEST(CliArgs, DomainVerbs) {
  const std::pair<const char*, CliVerb> verbs[] = {{"console", CliVerb::Console},   {"pause", CliVerb::Pause},
                                                   {"unpause", CliVerb::Unpause},   {"destroy", CliVerb::Destroy},
                                                   {"shutdown", CliVerb::Shutdown}, {"reboot", CliVerb::Reboot}};
  for (const auto& [name, verb] : verbs) {
    const CliCommand c = cliOk({name, "web"});
    EXPECT_EQ(c.verb, verb) << name;
    EXPECT_EQ(c.domain, "web") << name;
  }
  const CliCommand s = cliOk({"shutdown", "-w", "-F", "7"});
  EXPECT_TRUE(s.wait);
  EXPECT_TRUE(s.force);
  EXPECT_EQ(s.domain, "7");
  const CliCommand r = cliOk({"reboot", "--wait", "web"});
  EXPECT_TRUE(r.wait);
  EXPECT_FALSE(r.force);
}

TEST(CliArgs, InfoAndDmesg) {
  EXPECT_EQ(cliOk({"info"}).verb, CliVerb::Info);
  const CliCommand d = cliOk({"dmesg", "-c"});
  EXPECT_EQ(d.verb, CliVerb::Dmesg);
  EXPECT_TRUE(d.clear);
  EXPECT_FALSE(cliOk({"dmesg"}).clear);
}

TEST(CliArgs, EvtchnListAndDebugKeys) {
  const CliCommand e = cliOk({"evtchn-list", "web"});
  EXPECT_EQ(e.verb, CliVerb::EvtchnList);
  EXPECT_EQ(e.domain, "web");
  const CliCommand k = cliOk({"debug-keys", "q"});
  EXPECT_EQ(k.verb, CliVerb::DebugKeys);
  EXPECT_EQ(k.keys, "q");
  EXPECT_EQ(cli({"evtchn-list"}).exitCode, 1);
  EXPECT_EQ(cli({"debug-keys"}).exitCode, 1);
}

TEST(CliArgs, SchedCreditLikeXl) {
  const CliCommand all = cliOk({"sched-credit"});
  EXPECT_EQ(all.verb, CliVerb::SchedCredit);
  EXPECT_EQ(all.domain, "");
  EXPECT_FALSE(all.schedGlobalScope());
  EXPECT_FALSE(all.setsDomainParams());
  const CliCommand show = cliOk({"sched-credit", "-d", "web"});
  EXPECT_EQ(show.domain, "web");
  EXPECT_FALSE(show.setsDomainParams());
  const CliCommand set = cliOk({"sched-credit", "-d", "3", "-w", "512", "--cap", "50"});
  EXPECT_EQ(set.domain, "3");
  EXPECT_EQ(set.weight, 512);
  EXPECT_EQ(set.cap, 50);
  EXPECT_TRUE(set.setsDomainParams());
  EXPECT_EQ(cliOk({"sched-credit", "--domain=web", "--weight=-1"}).weight, -1) << "the hypervisor judges the range";
  const CliCommand s = cliOk({"sched-credit", "-s"});
  EXPECT_TRUE(s.schedGlobal);
  EXPECT_TRUE(s.schedGlobalScope());
  EXPECT_FALSE(s.tsliceMs.has_value());
  const CliCommand t = cliOk({"sched-credit", "-t", "10", "-r", "500"});
  EXPECT_TRUE(t.schedGlobalScope()) << "-t and -r imply -s";
  EXPECT_EQ(t.tsliceMs, 10);
  EXPECT_EQ(t.ratelimitUs, 500);
  EXPECT_EQ(cliOk({"sched-credit", "-s", "--tslice_ms", "5", "--ratelimit_us", "0"}).ratelimitUs, 0);
}

TEST(CliArgs, SchedParallelAddsConcurrentAndGangs) {
  const CliCommand d = cliOk({"sched-parallel", "-d", "web", "--concurrent", "1", "-w", "100"});
  EXPECT_EQ(d.verb, CliVerb::SchedParallel);
  EXPECT_EQ(d.concurrent, 1);
  EXPECT_EQ(d.weight, 100);
  EXPECT_EQ(cliOk({"sched-parallel", "-d", "web", "--concurrent", "0"}).concurrent, 0);
  const CliCommand g = cliOk({"sched-parallel", "-g", "20", "-G", "75"});
  EXPECT_EQ(g.gangSliceMs, 20);
  EXPECT_EQ(g.gangShare, 75);
  EXPECT_TRUE(g.schedGlobalScope());
  EXPECT_EQ(cli({"sched-credit", "-g", "20"}).exitCode, 1) << "gangs are the parallel policy's";
}

TEST(CliArgs, SchedArgumentErrorsNameTheOption) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"sched-credit", "-d", "web", "-w", "heavy"},
       "smartvm: --weight: 'heavy' is not a whole number (see 'smartvm sched-credit --help')\n"},
      {{"sched-credit", "-d", "web", "-c", "1.5"},
       "smartvm: --cap: '1.5' is not a whole number (see 'smartvm sched-credit --help')\n"},
      {{"sched-credit", "-t", "30ms"},
       "smartvm: --tslice_ms: '30ms' is not a whole number (see 'smartvm sched-credit --help')\n"},
      {{"sched-credit", "-w", "512"},
       "smartvm: setting -w, -c or --concurrent needs a domain (-d DOM) (see 'smartvm sched-credit --help')\n"},
      {{"sched-credit", "-d", "web", "-s"},
       "smartvm: the global parameters (-s, -t, -r, -g, -G) and a domain's (-d, -w, -c, --concurrent) do not mix "
       "(see 'smartvm sched-credit --help')\n"},
      {{"sched-credit", "-t", "10", "-w", "5"},
       "smartvm: the global parameters (-s, -t, -r, -g, -G) and a domain's (-d, -w, -c, --concurrent) do not mix "
       "(see 'smartvm sched-credit --help')\n"},
      {{"sched-credit", "-d", ""}, "smartvm: -d needs a domain name or domid (see 'smartvm sched-credit --help')\n"},
      {{"sched-credit", "-d"}, "smartvm: --domain: 1 required TEXT missing (see 'smartvm sched-credit --help')\n"},
      {{"sched-parallel", "-d", "web", "--concurrent", "yes"},
       "smartvm: --concurrent: yes not in {0,1} (see 'smartvm sched-parallel --help')\n"},
      {{"sched-parallel", "-G", "half"},
       "smartvm: --gang_share: 'half' is not a whole number (see 'smartvm sched-parallel --help')\n"},
      {{"vcpu-pin", "web", "first", "0"},
       "smartvm: vcpu: 'first' is not a vCPU number or 'all' (see 'smartvm vcpu-pin --help')\n"},
      {{"vcpu-pin", "web", "0"}, "smartvm: cpus is required (see 'smartvm vcpu-pin --help')\n"},
      {{"vcpu-pin", "web"}, "smartvm: vcpu is required (see 'smartvm vcpu-pin --help')\n"},
  };
  for (const auto& [args, message] : cases) {
    const CliArgs r = cli(args);
    EXPECT_FALSE(r.command.has_value()) << args[0];
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.err, message);
  }
}

TEST(CliArgs, VcpuPinAndVcpuList) {
  const CliCommand p = cliOk({"vcpu-pin", "web", "all", "0-3,^2"});
  EXPECT_EQ(p.verb, CliVerb::VcpuPin);
  EXPECT_EQ(p.domain, "web");
  EXPECT_EQ(p.vcpu, "all");
  EXPECT_EQ(p.cpus, "0-3,^2");
  EXPECT_EQ(cliOk({"vcpu-pin", "2", "1", "1,3"}).vcpu, "1");
  const CliCommand l = cliOk({"vcpu-list"});
  EXPECT_EQ(l.verb, CliVerb::VcpuList);
  EXPECT_TRUE(l.domains.empty());
  EXPECT_EQ(cliOk({"vcpu-list", "web", "2"}).domains, (std::vector<std::string>{"web", "2"}));
}

TEST(CliArgs, ConnectFromOptionEnvironmentOrDefault) {
  EXPECT_EQ(cliOk({"list"}).connect, "unix:/run/smartvm/smartvmd.sock");
  EXPECT_EQ(cliOk({"list"}, "unix:/tmp/env.sock").connect, "unix:/tmp/env.sock");
  EXPECT_EQ(cliOk({"list"}, "").connect, "unix:/run/smartvm/smartvmd.sock");
  EXPECT_EQ(cliOk({"--connect", "127.0.0.1:50051", "list"}, "unix:/tmp/env.sock").connect, "127.0.0.1:50051");
  EXPECT_EQ(cliOk({"list", "--connect", "unix:/tmp/late.sock"}).connect, "unix:/tmp/late.sock");
}

TEST(CliArgs, HelpEverywhereExitsZero) {
  const CliArgs top = cli({"--help"});
  EXPECT_FALSE(top.command.has_value());
  EXPECT_EQ(top.exitCode, 0);
  EXPECT_NE(top.out.find("Usage: smartvm"), std::string::npos);
  for (const char* verb :
       {"create", "list", "console", "pause", "unpause", "destroy", "shutdown", "reboot", "info", "dmesg",
        "evtchn-list", "debug-keys", "sched-credit", "sched-parallel", "vcpu-pin", "vcpu-list"}) {
    EXPECT_NE(top.out.find(verb), std::string::npos) << verb;
    const CliArgs sub = cli({verb, "--help"});
    EXPECT_EQ(sub.exitCode, 0) << verb;
    EXPECT_NE(sub.out.find(std::string("smartvm ") + verb), std::string::npos) << sub.out;
  }
  EXPECT_NE(cli({"shutdown", "-h"}).out.find("--wait"), std::string::npos);
  EXPECT_NE(cli({"sched-credit", "-h"}).out.find("--ratelimit_us"), std::string::npos);
  EXPECT_NE(cli({"sched-parallel", "-h"}).out.find("--gang_share"), std::string::npos);
}

TEST(CliArgs, UsageErrorsAreOneLineAndExitOne) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{}, "smartvm: A subcommand is required (see 'smartvm --help')\n"},
      {{"frobnicate"}, "smartvm: unknown command 'frobnicate' (see 'smartvm --help')\n"},
      {{"pause"}, "smartvm: domain is required (see 'smartvm pause --help')\n"},
      {{"create"}, "smartvm: config is required (see 'smartvm create --help')\n"},
      {{"list", "-x"}, "smartvm: The following argument was not expected: -x (see 'smartvm list --help')\n"},
      {{"pause", "a", "b"}, "smartvm: The following argument was not expected: b (see 'smartvm pause --help')\n"},
  };
  for (const auto& [args, message] : cases) {
    const CliArgs r = cli(args);
    EXPECT_FALSE(r.command.has_value());
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_EQ(r.err, message);
    EXPECT_EQ(r.out, "");
  }
}

SmartvmdArgs daemon(std::vector<std::string> args) {
  Argv a("smartvmd", std::move(args));
  return parseSmartvmdArgs(a.argc(), a.argv());
}

TEST(SmartvmdOptions, DefaultsAndOverrides) {
  const SmartvmdArgs d = daemon({});
  ASSERT_TRUE(d.options.has_value());
  EXPECT_EQ(d.options->listen, "unix:/run/smartvm/smartvmd.sock");
  EXPECT_EQ(d.options->hvSocket, "/run/smartvm/hv.sock");
  EXPECT_EQ(d.options->logFile, "/var/log/smartvm/smartvmd.log");
  EXPECT_EQ(d.options->logLevel, "info");
  const SmartvmdArgs o =
      daemon({"--listen", "127.0.0.1:50051", "--hv-socket", "/tmp/hv.sock", "--log-file", "", "--log-level", "debug"});
  ASSERT_TRUE(o.options.has_value());
  EXPECT_EQ(o.options->listen, "127.0.0.1:50051");
  EXPECT_EQ(o.options->hvSocket, "/tmp/hv.sock");
  EXPECT_EQ(o.options->logFile, "");
  EXPECT_EQ(o.options->logLevel, "debug");
}

TEST(SmartvmdOptions, HelpAndErrors) {
  const SmartvmdArgs h = daemon({"--help"});
  EXPECT_FALSE(h.options.has_value());
  EXPECT_EQ(h.exitCode, 0);
  for (const char* opt : {"--listen", "--hv-socket", "--log-file", "--log-level"}) {
    EXPECT_NE(h.out.find(opt), std::string::npos) << opt;
  }
  const SmartvmdArgs bad = daemon({"--log-level", "loud"});
  EXPECT_FALSE(bad.options.has_value());
  EXPECT_NE(bad.exitCode, 0);
  EXPECT_NE(bad.err.find("loud"), std::string::npos);
  EXPECT_NE(daemon({"--bogus"}).exitCode, 0);
}

TEST(ListenAddress, ParsesUnixAndTcpForms) {
  auto u = ListenAddress::parse("unix:/run/smartvm/smartvmd.sock");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->grpcUri, "unix:/run/smartvm/smartvmd.sock");
  EXPECT_EQ(u->unixPath, "/run/smartvm/smartvmd.sock");
  auto u3 = ListenAddress::parse("unix:///tmp/a.sock");
  ASSERT_TRUE(u3.isOk());
  EXPECT_EQ(u3->unixPath, "/tmp/a.sock");
  EXPECT_EQ(u3->grpcUri, "unix:/tmp/a.sock");
  for (const char* tcp : {"127.0.0.1:50051", "localhost:0", "[::1]:50051", "0.0.0.0:65535"}) {
    auto t = ListenAddress::parse(tcp);
    ASSERT_TRUE(t.isOk()) << tcp;
    EXPECT_EQ(t->grpcUri, tcp);
    EXPECT_EQ(t->unixPath, "");
  }
  for (const char* bad : {"", "unix:", "bogus", "host:", ":50051", "host:65536", "host:12ab", "::1:50051", "[::1:5"}) {
    auto b = ListenAddress::parse(bad);
    ASSERT_FALSE(b.isOk()) << bad;
    EXPECT_EQ(b.status().code(), EINVAL);
    EXPECT_EQ(b.status().message(), std::string("bad listen address '") + bad + "': expected unix:/path or host:port");
  }
}

TEST(ListenAddress, PrepareCreatesTheDirectoryAndRefusesLiveOrForeignPaths) {
  test::TempDir dir;
  const std::string sock = dir.file("run/smartvm/d.sock");
  ASSERT_TRUE(ListenAddress::parse("unix:" + sock)->prepare().isOk());
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("run/smartvm")));

  auto listening = listenUnix(sock, 0600);
  ASSERT_TRUE(listening.isOk());
  const Status busy = ListenAddress::parse("unix:" + sock)->prepare();
  EXPECT_EQ(busy.code(), EADDRINUSE);
  EXPECT_EQ(busy.message(), "another daemon is already listening on " + sock);
  ::close(*listening);
  // The same socket file with nobody behind it is stale and may be replaced.
  EXPECT_TRUE(ListenAddress::parse("unix:" + sock)->prepare().isOk());

  const std::string file = dir.write("plain", "data");
  const Status foreign = ListenAddress::parse("unix:" + file)->prepare();
  EXPECT_EQ(foreign.code(), EEXIST);
  EXPECT_EQ(foreign.message(), file + " exists and is not a socket");
}

}  // namespace
}  // namespace smartvm::dom0
