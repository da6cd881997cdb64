// `smartvm sched-credit`, `sched-parallel` and `vcpu-list` output: xl's layouts.
#include <gtest/gtest.h>

#include "smartvm/dom0/cli/SchedParamsFormat.h"
#include "smartvm/dom0/cli/VcpuListFormat.h"

namespace smartvm::dom0 {
namespace {

v1::SchedParams domain(uint32_t domid, const std::string& name, int64_t weight, int64_t cap) {
  v1::SchedParams p;
  p.set_policy("credit");
  p.set_domid(domid);
  p.set_name(name);
  (*p.mutable_params())["weight"] = weight;
  (*p.mutable_params())["cap"] = cap;
  return p;
}

v1::SchedParams global(int64_t tslice, int64_t ratelimit) {
  v1::SchedParams p;
  p.set_policy("credit");
  p.set_global(true);
  (*p.mutable_params())["tslice_ms"] = tslice;
  (*p.mutable_params())["ratelimit_us"] = ratelimit;
  return p;
}

TEST(SchedParamsFormat, CreditTableIsXlsPrintf) {
  EXPECT_EQ(formatSchedDomains(SchedView::Credit, {domain(1, "web", 256, 0), domain(12, "db", 512, 50)}),
            "Name                                ID Weight  Cap\n"
            "web                                  1    256    0\n"
            "db                                  12    512   50\n");
  EXPECT_EQ(formatSchedDomains(SchedView::Credit, {}), "Name                                ID Weight  Cap\n");
}

TEST(SchedParamsFormat, ParallelTableAddsConcurrent) {
  v1::SchedParams web = domain(1, "web", 256, 0);
  (*web.mutable_params())["concurrent"] = 1;
  v1::SchedParams db = domain(2, "db", 128, 10);
  (*db.mutable_params())["concurrent"] = 0;
  EXPECT_EQ(formatSchedDomains(SchedView::Parallel, {web, db}),
            "Name                                ID Weight  Cap Concurrent\n"
            "web                                  1    256    0        yes\n"
            "db                                   2    128   10         no\n");
}

TEST(SchedParamsFormat, MissingParametersPrintADash) {
  v1::SchedParams bare;
  bare.set_domid(3);
  bare.set_name("x");
  EXPECT_EQ(formatSchedDomains(SchedView::Parallel, {bare}),
            "Name                                ID Weight  Cap Concurrent\n"
            "x                                    3      -    -          -\n");
  EXPECT_EQ(formatSchedGlobal(SchedView::Credit, v1::SchedParams()), "Cpupool Pool-0: tslice=-ms ratelimit=-us\n");
}

TEST(SchedParamsFormat, GlobalLineIsXlsCpupoolLine) {
  EXPECT_EQ(formatSchedGlobal(SchedView::Credit, global(30, 1000)), "Cpupool Pool-0: tslice=30ms ratelimit=1000us\n");
  v1::SchedParams par = global(30, 1000);
  (*par.mutable_params())["gang_slice_ms"] = 10;
  (*par.mutable_params())["gang_share"] = 50;
  EXPECT_EQ(formatSchedGlobal(SchedView::Parallel, par),
            "Cpupool Pool-0: tslice=30ms ratelimit=1000us gang_slice=10ms gang_share=50%\n");
  EXPECT_EQ(formatSchedGlobal(SchedView::Credit, par), "Cpupool Pool-0: tslice=30ms ratelimit=1000us\n");
}

v1::VcpuInfo vcpu(uint32_t domid, const std::string& name, uint32_t n) {
  v1::VcpuInfo v;
  v.set_domid(domid);
  v.set_name(name);
  v.set_vcpu(n);
  v.set_online(true);
  v.set_pcpu(static_cast<int32_t>(n));
  v.set_hard_affinity("all");
  v.set_soft_affinity("all");
  return v;
}

TEST(VcpuListFormat, XlsColumnsAndStates) {
  v1::VcpuInfo running = vcpu(1, "web", 0);
  running.set_running(true);
  running.set_cpu_time_s(12.34);
  v1::VcpuInfo blocked = vcpu(1, "web", 1);
  blocked.set_blocked(true);
  blocked.set_hard_affinity("0-3,^2");
  v1::VcpuInfo paused = vcpu(2, "db", 0);
  paused.set_paused(true);
  paused.set_blocked(true);
  paused.set_pcpu(3);
  v1::VcpuInfo offline = vcpu(2, "db", 1);
  offline.set_online(false);
  offline.set_running(true);  // not shown: xl prints an offline vCPU as "--p"
  EXPECT_EQ(formatVcpuList({running, blocked, paused, offline}),
            "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n"
            "web                                  1     0    0   r--      12.3  all / all\n"
            "web                                  1     1    1   -b-       0.0  0-3,^2 / all\n"
            "db                                   2     0    3   -bp       0.0  all / all\n"
            "db                                   2     1    -   --p       0.0  all / all\n");
}

TEST(VcpuListFormat, NotYetRunAndEmptyAffinity) {
  v1::VcpuInfo fresh = vcpu(4, "new", 0);
  fresh.set_pcpu(-1);
  fresh.clear_hard_affinity();
  fresh.clear_soft_affinity();
  EXPECT_EQ(formatVcpuList({fresh}),
            "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n"
            "new                                  4     0    -   ---       0.0  all / all\n");
  EXPECT_EQ(formatVcpuList({}), "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n");
}

}  // namespace
}  // namespace smartvm::dom0
