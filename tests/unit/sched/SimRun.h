#pragma once
// Runs one simulation for a test: a failure to build or run it is a test
// failure (and an empty report), never an exception.
#include <gtest/gtest.h>

#include <utility>

#include "smartvm/sched/sim/Simulator.h"

namespace smartvm::sched::sim::test {

/// `how` is what Simulator::create takes after the config: a policy name or a maker.
template <class How>
SimReport runSim(const SimConfig& c, How&& how) {
  auto sim = Simulator::create(c, std::forward<How>(how));
  EXPECT_TRUE(sim.isOk()) << sim.status().toString();
  if (!sim.isOk()) return {};
  auto r = (*sim)->run();
  EXPECT_TRUE(r.isOk()) << r.status().toString();
  return r.isOk() ? *r : SimReport{};
}

}  // namespace smartvm::sched::sim::test
