// The parallel policy on the published experiment with hints in a real
// guest's order (each vCPU says Begin when it first runs in a task):
// regression for the stall where a task's batch ran out while it held no
// pCPU and a VM never finished (these five points stalled before the fix).
#include <gtest/gtest.h>

#include "smartvm/sched/sim/Experiment.h"

namespace smartvm::sched::sim {
namespace {

struct Point {
  ExperimentJob job;
  unsigned vms, pcpus;
};

TEST(ParallelExperiment, EveryVmFinishesAtThePointsThatOnceStalled) {
  for (const Point& p : {Point{ExperimentJob::Pi, 2, 2}, Point{ExperimentJob::Pi, 4, 4}, Point{ExperimentJob::Pi, 8, 4},
                         Point{ExperimentJob::Rc4, 8, 8}, Point{ExperimentJob::Nbody, 8, 8}}) {
    ExperimentSpec s;
    s.job = p.job;
    s.vms = p.vms;
    s.pcpus = p.pcpus;
    auto row = runExperiment(s);
    ASSERT_TRUE(row.isOk()) << row.status().toString();
    const char* name = jobShape(p.job).name;
    EXPECT_TRUE(row->parallel.complete) << name << " " << p.vms << " VMs on " << p.pcpus << " pCPUs";
    EXPECT_EQ(row->parallel.tasks, p.vms * kExperimentParallelTasks) << name;
    EXPECT_EQ(row->parallel.hintErrors, 0u) << name;
    EXPECT_GT(row->reduction, 0.0) << name << ": gangs beat credit where VMs compete";
  }
}

}  // namespace
}  // namespace smartvm::sched::sim
