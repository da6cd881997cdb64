// workload=par on /dev/kvm: the in-tree guest splits dot, pi, rc4 and nbody
// across its vCPUs layer by layer (CPL3 shares, IPI-woken barriers, the
// SMARTVM_SCHEDOP_parallel hints). Each job runs with vcpus=1 and vcpus=4 in a
// 4-vCPU domain; the answer must be the known one and the same for both, the
// layers as asked, and the hints answered 0 or -ENOSYS (-38). tasks=3 runs
// three parallel tasks back to back, each reporting its own TASK par line.
// Skips with the reason when /dev/kvm is unusable.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "KvmGuestTest.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/kvm/KvmPlatform.h"

namespace smartvm::hv {
namespace {

using namespace std::chrono_literals;
using smartvm::v1::DomainConfig;

constexpr auto kHang = 60s;  // generous: only catches hangs
using Fields = std::map<std::string, std::string>;

/// The key=value fields of the line starting `head` at `at` in a console.
Fields lineFields(const std::string& console, size_t at, const std::string& head) {
  Fields f;
  const size_t end = console.find('\n', at);
  std::istringstream words(console.substr(at + head.size(), end == std::string::npos ? end : end - at - head.size()));
  for (std::string w; words >> w;) {
    const size_t eq = w.find('=');
    if (eq != std::string::npos) f[w.substr(0, eq)] = w.substr(eq + 1);
  }
  return f;
}

/// The key=value fields of the first "RESULT par ..." line of a console.
Fields resultFields(const std::string& console) {
  const std::string head = "RESULT par ";
  const size_t at = console.find(head);
  return at == std::string::npos ? Fields{} : lineFields(console, at, head);
}

/// Every "TASK par ..." line of a console, in order.
std::vector<Fields> taskFields(const std::string& console) {
  const std::string head = "TASK par ";
  std::vector<Fields> out;
  for (size_t at = console.find(head); at != std::string::npos; at = console.find(head, at + head.size()))
    out.push_back(lineFields(console, at, head));
  return out;
}

std::string str(const Fields& f, const std::string& key) {
  auto it = f.find(key);
  return it == f.end() ? std::string("<missing>") : it->second;
}

int64_t num(const Fields& f, const std::string& key) {
  try {
    return std::stoll(str(f, key));
  } catch (...) {
    return -999999999;
  }
}

/// The guest's rc4 answer: splitmix64(seed) % keys (workloads/user/ParJobs.cpp).
uint64_t rc4Key(uint64_t seed, uint64_t keys) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (z ^ (z >> 31)) % keys;
}

class ParallelWorkloadTest : public KvmGuestTest {
 protected:
  /// Boots a 4-vCPU guest with `workload=par <args> vcpus=<vcpus>`, waits for
  /// its shutdown and returns the RESULT fields (checking the common ones).
  /// tasks=1 is left to the guest's default.
  Fields run(const std::string& args, uint32_t vcpus, uint32_t layers, uint32_t tasks = 1) {
    DomainConfig c;
    c.set_name("par" + std::to_string(vcpus));
    c.set_type(smartvm::v1::DOMAIN_TYPE_PVH);
    c.set_memory_mib(64);
    c.set_vcpus(4);
    c.set_kernel(SMARTVM_GUEST_ELF);
    std::string cmdline = "workload=par " + args + " vcpus=" + std::to_string(vcpus) + " layers=" + std::to_string(layers);
    if (tasks != 1) cmdline += " tasks=" + std::to_string(tasks);
    c.set_cmdline(cmdline);
    c.set_on_poweroff(smartvm::v1::LIFECYCLE_ACTION_PRESERVE);
    c.set_on_crash(smartvm::v1::LIFECYCLE_ACTION_PRESERVE);
    auto r = hv_->createDomain(c);
    EXPECT_TRUE(r.isOk()) << r.status().toString();
    if (!r.isOk()) return {};
    const uint32_t id = r->domid();
    const Status s = hv_->waitForShutdown(id, kHang);
    EXPECT_TRUE(s.isOk()) << s.toString();
    auto con = hv_->console(id);
    const std::string out = con.isOk() ? (*con)->snapshot() : std::string();
    console_ = out;
    auto info = hv_->domainInfo(id);
    EXPECT_TRUE(info.isOk() && info->shutdown_reason() == smartvm::v1::SHUTDOWN_REASON_POWEROFF) << out;
    EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
    const Fields f = resultFields(out);
    EXPECT_FALSE(f.empty()) << cmdline << "\n" << out;
    EXPECT_EQ(num(f, "vcpus"), vcpus) << out;
    EXPECT_EQ(num(f, "layers"), layers) << out;
    EXPECT_EQ(num(f, "tasks"), tasks) << out;
    const int64_t rc = num(f, "hint_rc");
    EXPECT_TRUE(rc == 0 || rc == -38) << out;
    // begin + one layer_done per layer + end, on every vCPU, per task.
    EXPECT_EQ(num(f, "hint_calls"), int64_t{vcpus} * (layers + 2) * tasks) << out;
    EXPECT_GT(num(f, "parallel_ns"), 0) << out;
    EXPECT_GE(num(f, "total_ns"), num(f, "parallel_ns") + num(f, "serial_ns")) << out;
    const size_t at = out.find("RESULT par");
    if (at != std::string::npos) std::cout << "[ par      ] " << out.substr(at, out.find('\n', at) - at) << "\n";
    return f;
  }

  std::string console_;  // the last run's console
};

TEST_F(ParallelWorkloadTest, DotIsExactOnOneAndFourVcpus) {
  constexpr uint64_t n = 1000000;
  uint64_t want = 0;
  for (uint64_t i = 0; i < n; ++i) want += (i % 1000) * ((i * 7) % 1000);
  for (uint32_t v : {1u, 4u}) {
    const Fields f = run("job=dot n=" + std::to_string(n), v, 3);
    EXPECT_EQ(str(f, "value"), std::to_string(want)) << "vcpus=" << v;
  }
}

TEST_F(ParallelWorkloadTest, PiHasEightDecimalsAndSerialTasksAreTimed) {
  const Fields one = run("job=pi steps=20000000 serial=2 serial_steps=2000000", 1, 4);
  const Fields four = run("job=pi steps=20000000 serial=2 serial_steps=2000000", 4, 4);
  EXPECT_EQ(str(one, "value").substr(0, 10), "3.14159265");
  EXPECT_EQ(str(one, "value"), str(four, "value"));  // block sums added in one order
  EXPECT_GT(num(one, "serial_ns"), 0);
  EXPECT_GT(num(four, "serial_ns"), 0);
  EXPECT_EQ(num(four, "serial"), 2);
}

TEST_F(ParallelWorkloadTest, Rc4FindsTheKeyOnOneAndFourVcpus) {
  constexpr uint64_t keys = 262144;
  std::ostringstream want;
  want << "0x" << std::hex << rc4Key(7, keys);
  for (uint32_t v : {1u, 4u}) {
    const Fields f = run("job=rc4 seed=7 keys=" + std::to_string(keys), v, 2);
    EXPECT_EQ(str(f, "value"), want.str()) << "vcpus=" << v;
  }
}

TEST_F(ParallelWorkloadTest, NbodyChecksumDoesNotDependOnVcpus) {
  const Fields one = run("job=nbody bodies=256", 1, 8);
  const Fields four = run("job=nbody bodies=256", 4, 8);
  EXPECT_NE(str(one, "value"), "<missing>");
  EXPECT_EQ(str(one, "value"), str(four, "value"));
  EXPECT_EQ(str(one, "checksum_bits"), str(four, "checksum_bits"));
  // Positions start in [-1, 1)^3 and barely move in 8 steps of 0.001.
  const double sum = std::stod(str(one, "value"));
  EXPECT_GT(sum, 0.0);
  EXPECT_LT(sum, 256 * 1.8);
}

TEST_F(ParallelWorkloadTest, ThreeTasksEachReportTheirAnswerAndTime) {
  constexpr uint64_t n = 1000000;
  constexpr uint32_t vcpus = 4, layers = 3, tasks = 3;
  uint64_t want = 0;
  for (uint64_t i = 0; i < n; ++i) want += (i % 1000) * ((i * 7) % 1000);
  const Fields f = run("job=dot n=" + std::to_string(n) + " serial=1 serial_steps=200000", vcpus, layers, tasks);
  EXPECT_EQ(str(f, "value"), std::to_string(want));
  EXPECT_EQ(num(f, "values_agree"), 1) << console_;
  const std::vector<Fields> t = taskFields(console_);
  ASSERT_EQ(t.size(), tasks) << console_;
  int64_t sum = 0;
  for (uint32_t k = 0; k < tasks; ++k) {
    SCOPED_TRACE("task " + std::to_string(k + 1));
    EXPECT_EQ(num(t[k], "task"), k + 1) << console_;
    EXPECT_EQ(num(t[k], "tasks"), tasks) << console_;
    EXPECT_EQ(str(t[k], "value"), std::to_string(want)) << console_;
    EXPECT_EQ(num(t[k], "agrees"), 1) << console_;
    // Each task is its own phase: begin, layer_done per layer, end on every vCPU.
    EXPECT_EQ(num(t[k], "hint_calls"), int64_t{vcpus} * (layers + 2)) << console_;
    EXPECT_GT(num(t[k], "task_ns"), 0) << console_;
    sum += num(t[k], "task_ns");
  }
  // The tasks run back to back inside parallel_ns.
  EXPECT_LE(sum, num(f, "parallel_ns")) << console_;
}

TEST_F(ParallelWorkloadTest, TasksOutOfRangeIsRefused) {
  DomainConfig c;
  c.set_name("par-tasks0");
  c.set_type(smartvm::v1::DOMAIN_TYPE_PVH);
  c.set_memory_mib(64);
  c.set_vcpus(1);
  c.set_kernel(SMARTVM_GUEST_ELF);
  c.set_cmdline("workload=par job=rc4 keys=1024 vcpus=1 tasks=0");
  c.set_on_poweroff(smartvm::v1::LIFECYCLE_ACTION_PRESERVE);
  c.set_on_crash(smartvm::v1::LIFECYCLE_ACTION_PRESERVE);
  auto r = hv_->createDomain(c);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  ASSERT_TRUE(hv_->waitForShutdown(r->domid(), kHang).isOk());
  auto con = hv_->console(r->domid());
  const std::string out = con.isOk() ? (*con)->snapshot() : std::string();
  EXPECT_NE(out.find("FAIL par: tasks= must be 1..64"), std::string::npos) << out;
  EXPECT_EQ(out.find("RESULT par"), std::string::npos) << out;
  auto info = hv_->domainInfo(r->domid());
  EXPECT_TRUE(info.isOk() && info->shutdown_reason() == smartvm::v1::SHUTDOWN_REASON_CRASH) << out;
}

}  // namespace
}  // namespace smartvm::hv
