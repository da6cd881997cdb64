// The policy registry: unknown names are refused with the known ones listed.
#include <gtest/gtest.h>

#include "smartvm/sched/SchedPolicy.h"

namespace smartvm::sched {
namespace {

class NullHost final : public SchedHost {
 public:
  Ns now() const override { return 0; }
  void tickle(unsigned) override {}
  unsigned pcpuCount() const override { return 1; }
};

TEST(PolicyRegistry, UnknownPolicyIsEnoentAndNamesTheKnownOnes) {
  NullHost host;
  PolicyRegistry r;
  auto p = r.create("nosuch", host);
  ASSERT_FALSE(p.isOk());
  EXPECT_EQ(p.status().code(), ENOENT);
  EXPECT_NE(p.status().message().find("nosuch"), std::string::npos) << p.status().message();
}

TEST(PolicyRegistry, VcpuStateNamesAreXenLike) {
  EXPECT_STREQ(vcpuStateName(VcpuState::Running), "running");
  EXPECT_STREQ(vcpuStateName(VcpuState::Runnable), "runnable");
  EXPECT_STREQ(vcpuStateName(VcpuState::Blocked), "blocked");
  EXPECT_STREQ(vcpuStateName(VcpuState::Paused), "paused");
  EXPECT_STREQ(vcpuStateName(VcpuState::Offline), "offline");
}

}  // namespace
}  // namespace smartvm::sched
