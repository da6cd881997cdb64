// `smartvm list`: xl's table byte for byte, and the JSON of `list -l`.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "smartvm/dom0/cli/DomainListFormat.h"

namespace smartvm::dom0 {
namespace {

v1::DomainInfo dom(uint32_t domid, const std::string& name, v1::DomainState state, uint64_t mib = 512,
                   uint32_t vcpus = 1, uint64_t cpuNs = 0, v1::ShutdownReason reason = v1::SHUTDOWN_REASON_NONE) {
  v1::DomainInfo d;
  d.set_domid(domid);
  d.set_name(name);
  d.set_state(state);
  d.set_memory_mib(mib);
  d.set_vcpus(vcpus);
  d.set_cpu_time_ns(cpuNs);
  d.set_shutdown_reason(reason);
  return d;
}

/// The row as xl's own printf would print it.
std::string xlRow(const v1::DomainInfo& d, const char* letters) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f\n", d.name().c_str(),
                static_cast<int>(d.domid()), static_cast<unsigned long>(d.memory_mib()), static_cast<int>(d.vcpus()),
                letters[0], letters[1], letters[2], letters[3], letters[4], letters[5],
                static_cast<double>(static_cast<float>(d.cpu_time_ns())) / 1e9);
  return buf;
}

TEST(DomainListFormat, HeaderIsXlsHeader) {
  EXPECT_EQ(formatDomainTable({}), "Name                                        ID   Mem VCPUs\tState\tTime(s)\n");
}

TEST(DomainListFormat, Domain0RowLiterally) {
  const std::string row = formatDomainTable({dom(0, "Domain-0", v1::DOMAIN_STATE_RUNNING, 2048, 2, 12'300'000'000)})
                              .substr(std::string(kDomainTableHeader).size() + 1);
  EXPECT_EQ(row, "Domain-0" + std::string(32, ' ') + "     0  2048     2     r-----      12.3\n");
}

TEST(DomainListFormat, StateLettersForEveryState) {
  struct Case {
    v1::DomainState state;
    v1::ShutdownReason reason;
    const char* letters;
  };
  const Case cases[] = {
      {v1::DOMAIN_STATE_RUNNING, v1::SHUTDOWN_REASON_NONE, "r-----"},
      {v1::DOMAIN_STATE_BLOCKED, v1::SHUTDOWN_REASON_NONE, "-b----"},
      {v1::DOMAIN_STATE_PAUSED, v1::SHUTDOWN_REASON_NONE, "--p---"},
      {v1::DOMAIN_STATE_SHUTDOWN, v1::SHUTDOWN_REASON_POWEROFF, "---s--"},
      {v1::DOMAIN_STATE_SHUTDOWN, v1::SHUTDOWN_REASON_REBOOT, "---sr-"},
      {v1::DOMAIN_STATE_SHUTDOWN, v1::SHUTDOWN_REASON_SUSPEND, "---ss-"},
      {v1::DOMAIN_STATE_SHUTDOWN, v1::SHUTDOWN_REASON_WATCHDOG, "---sw-"},
      {v1::DOMAIN_STATE_SHUTDOWN, v1::SHUTDOWN_REASON_SOFT_RESET, "---sS-"},
      {v1::DOMAIN_STATE_CRASHED, v1::SHUTDOWN_REASON_CRASH, "---sc-"},
      {v1::DOMAIN_STATE_CRASHED, v1::SHUTDOWN_REASON_NONE, "---sc-"},
      {v1::DOMAIN_STATE_DYING, v1::SHUTDOWN_REASON_NONE, "-----d"},
      {v1::DOMAIN_STATE_UNSPECIFIED, v1::SHUTDOWN_REASON_NONE, "------"},
      // A reason on a domain that is not shut down is not shown, as in xl.
      {v1::DOMAIN_STATE_RUNNING, v1::SHUTDOWN_REASON_REBOOT, "r-----"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(domainStateLetters(dom(1, "d", c.state, 1, 1, 0, c.reason)), c.letters)
        << domainStateName(c.state) << "/" << shutdownReasonName(c.reason);
  }
}

TEST(DomainListFormat, TableMatchesXlsPrintfForSeveralDomains) {
  const std::vector<v1::DomainInfo> domains = {
      dom(0, "Domain-0", v1::DOMAIN_STATE_RUNNING, 2048, 2, 12'345'678'901),
      dom(1, "web", v1::DOMAIN_STATE_BLOCKED, 256, 4, 50'000'000),
      dom(7, "paused-guest", v1::DOMAIN_STATE_PAUSED, 128, 1, 0),
      dom(12, "db", v1::DOMAIN_STATE_SHUTDOWN, 1024, 2, 3'000'000'000, v1::SHUTDOWN_REASON_REBOOT),
      dom(123456, "a-name-that-is-exactly-forty-characters--", v1::DOMAIN_STATE_CRASHED, 1048576, 128,
          987'654'321'000'000, v1::SHUTDOWN_REASON_CRASH),
      dom(99, "dying", v1::DOMAIN_STATE_DYING, 64, 1, 100'000'000),
  };
  const char* letters[] = {"r-----", "-b----", "--p---", "---sr-", "---sc-", "-----d"};
  std::string expected = std::string(kDomainTableHeader) + "\n";
  for (size_t i = 0; i < domains.size(); ++i) expected += xlRow(domains[i], letters[i]);
  EXPECT_EQ(formatDomainTable(domains), expected);
}

TEST(DomainListFormat, JsonRoundTripsEveryField) {
  v1::DomainInfo d = dom(3, "web", v1::DOMAIN_STATE_SHUTDOWN, 256, 2, 1'500'000'000, v1::SHUTDOWN_REASON_POWEROFF);
  d.set_restarts(2);
  d.set_crash_detail("none \"quoted\"\n");
  d.set_created_unix_ms(1700000000123);
  (*d.mutable_exit_counts())["io"] = 10;
  (*d.mutable_exit_counts())["hlt"] = 3;
  (*d.mutable_hypercall_counts())["sched_op"] = 7;
  auto* c = d.mutable_config();
  c->set_name("web");
  c->set_type(v1::DOMAIN_TYPE_PVH);
  c->set_memory_mib(256);
  c->set_vcpus(2);
  c->set_kernel("/k");
  c->set_ramdisk("/r");
  c->set_cmdline("console=hvc0");
  c->set_on_poweroff(v1::LIFECYCLE_ACTION_DESTROY);
  c->set_on_reboot(v1::LIFECYCLE_ACTION_RESTART);
  c->set_on_crash(v1::LIFECYCLE_ACTION_PRESERVE);
  c->set_start_paused(true);
  c->set_source_file("/etc/smartvm/web.cfg");
  auto* disk = c->add_disks();
  disk->set_target("/var/lib/smartvm/web.qcow2");
  disk->set_format("qcow2");
  disk->set_vdev("xvda");
  disk->set_read_only(true);

  const std::string text = formatDomainJson({d, dom(0, "Domain-0", v1::DOMAIN_STATE_RUNNING)});
  ASSERT_EQ(text.back(), '\n');
  const nlohmann::json j = nlohmann::json::parse(text);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  const auto& w = j[0];
  EXPECT_EQ(w["domid"], 3);
  EXPECT_EQ(w["name"], "web");
  EXPECT_EQ(w["state"], "shutdown");
  EXPECT_EQ(w["memory_mib"], 256);
  EXPECT_EQ(w["vcpus"], 2);
  EXPECT_DOUBLE_EQ(w["cpu_time_s"].get<double>(), 1.5);
  EXPECT_EQ(w["shutdown_reason"], "poweroff");
  EXPECT_EQ(w["restarts"], 2);
  EXPECT_EQ(w["crash_detail"], "none \"quoted\"\n");
  EXPECT_EQ(w["created_unix_ms"], 1700000000123ull);
  EXPECT_EQ(w["exit_counts"], (nlohmann::json{{"hlt", 3}, {"io", 10}}));
  EXPECT_EQ(w["hypercall_counts"], (nlohmann::json{{"sched_op", 7}}));
  EXPECT_EQ(w["config"], (nlohmann::json{{"name", "web"},
                                         {"type", "pvh"},
                                         {"memory_mib", 256},
                                         {"vcpus", 2},
                                         {"kernel", "/k"},
                                         {"ramdisk", "/r"},
                                         {"cmdline", "console=hvc0"},
                                         {"on_poweroff", "destroy"},
                                         {"on_reboot", "restart"},
                                         {"on_crash", "preserve"},
                                         {"start_paused", true},
                                         {"disks", nlohmann::json::array({{{"vdev", "xvda"},
                                                                           {"format", "qcow2"},
                                                                           {"access", "ro"},
                                                                           {"target", "/var/lib/smartvm/web.qcow2"}}})},
                                         {"source_file", "/etc/smartvm/web.cfg"}}));
  EXPECT_EQ(j[1]["name"], "Domain-0");
  EXPECT_EQ(j[1]["state"], "running");
  EXPECT_EQ(j[1]["shutdown_reason"], "none");
  EXPECT_EQ(j[1]["config"]["on_reboot"], "default");
  EXPECT_EQ(j[1]["config"]["disks"], nlohmann::json::array());
}

TEST(DomainListFormat, JsonOfNothingIsAnEmptyArray) { EXPECT_EQ(formatDomainJson({}), "[]\n"); }

TEST(DomainListFormat, JsonSurvivesBytesThatAreNotUtf8) {
  v1::DomainInfo d = dom(1, "web", v1::DOMAIN_STATE_CRASHED);
  d.set_crash_detail("bad \xff\xfe bytes");
  const nlohmann::json j = nlohmann::json::parse(formatDomainJson({d}));
  EXPECT_EQ(j[0]["crash_detail"], "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes");
}

}  // namespace
}  // namespace smartvm::dom0
