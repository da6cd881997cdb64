// ControlServer's scheduler operations (sched_*, vcpu_pin, vcpu_list) and the
// scheduler facts in host_info. The Hypervisor decides the values and errors;
// these tests hold the translation: ids echoed, an answer of the right kind or
// the Hypervisor's errno with a message, and what the server itself fills in.
#include <cstdint>  // before Xen headers, which assume <stdint.h>
#include <gtest/gtest.h>

#include "HvTestUtil.h"
#include "smartvm/hv/ControlServer.h"

namespace smartvm::hv {
namespace {

namespace pb = smartvm::control::v1;

class ControlSchedTest : public ::testing::Test {
 protected:
  uint32_t createDomain(const std::string& name, uint32_t vcpus) {
    pb::Request req;
    req.set_id(1);
    *req.mutable_create()->mutable_config() = test::makeConfig(name, kernel.path(), 32, vcpus);
    const auto r = server.handle(req);
    EXPECT_EQ(r.error_code(), 0) << r.error();
    return r.domain().domid();
  }

  /// Sends `req` with id `id`; checks the id came back and the answer is
  /// either `result` or a failure carrying an errno and a message.
  pb::Response call(pb::Request req, uint64_t id, pb::Response::ResultCase result) {
    req.set_id(id);
    pb::Response r = server.handle(req);
    EXPECT_EQ(r.id(), id);
    if (r.error_code() == 0) {
      EXPECT_EQ(r.result_case(), result);
    } else {
      EXPECT_GT(r.error_code(), 0);
      EXPECT_FALSE(r.error().empty());
      EXPECT_EQ(r.result_case(), pb::Response::RESULT_NOT_SET) << "a failure carries no result";
    }
    return r;
  }

  test::TempFile kernel{test::tinyPvhKernel()};
  test::FakePlatform platform;
  Hypervisor hv{platform, HypervisorOptions{}};
  ControlServer server{hv, "fake kvm", nullptr};
};

TEST_F(ControlSchedTest, HostInfoNamesThePolicyAndCountsPcpus) {
  pb::Request req;
  req.mutable_host_info();
  const auto r = call(req, 3, pb::Response::kHost);
  EXPECT_EQ(r.host().sched_policy(), hv.schedPolicy());
  EXPECT_FALSE(r.host().sched_policy().empty());
  EXPECT_EQ(r.host().nr_cpus(), hv.pcpuCount());
}

TEST_F(ControlSchedTest, DomainParamsAnswerWhoseTheyAre) {
  const uint32_t domid = createDomain("web", 1);
  pb::Request get;
  get.mutable_sched_domain_get()->set_domid(domid);
  const auto r = call(get, 4, pb::Response::kSchedParams);
  if (r.error_code() == 0) {
    EXPECT_EQ(r.sched_params().domid(), domid);
    EXPECT_EQ(r.sched_params().name(), "web");
    EXPECT_EQ(r.sched_params().policy(), hv.schedPolicy());
    EXPECT_FALSE(r.sched_params().global());
    EXPECT_TRUE(r.sched_params().params().contains("weight"));
  }
  pb::Request set;
  set.mutable_sched_domain_set()->set_domid(domid);
  (*set.mutable_sched_domain_set()->mutable_params())["weight"] = 512;
  const auto s = call(set, 5, pb::Response::kSchedParams);
  if (s.error_code() == 0) {
    EXPECT_EQ(s.sched_params().params().at("weight"), 512);
  }
}

TEST_F(ControlSchedTest, UnknownDomainIsRefused) {
  pb::Request get;
  get.mutable_sched_domain_get()->set_domid(99);
  const auto r = call(get, 6, pb::Response::kSchedParams);
  EXPECT_NE(r.error_code(), 0);
  pb::Request pin;
  pin.mutable_vcpu_pin()->set_domid(99);
  pin.mutable_vcpu_pin()->set_cpus("all");
  EXPECT_NE(call(pin, 7, pb::Response::RESULT_NOT_SET).error_code(), 0);
  pb::Request list;
  list.mutable_vcpu_list()->set_domid(99);
  EXPECT_NE(call(list, 8, pb::Response::kVcpus).error_code(), 0);
}

TEST_F(ControlSchedTest, GlobalParamsAreMarkedGlobal) {
  pb::Request get;
  get.mutable_sched_global_get();
  const auto r = call(get, 9, pb::Response::kSchedParams);
  if (r.error_code() == 0) {
    EXPECT_TRUE(r.sched_params().global());
    EXPECT_EQ(r.sched_params().policy(), hv.schedPolicy());
  }
  pb::Request set;
  (*set.mutable_sched_global_set()->mutable_params())["tslice_ms"] = 30;
  const auto s = call(set, 10, pb::Response::kSchedParams);
  if (s.error_code() == 0) {
    EXPECT_TRUE(s.sched_params().global());
  }
}

TEST_F(ControlSchedTest, VcpuListAndPinOfOneDomain) {
  const uint32_t domid = createDomain("par", 2);
  pb::Request pin;
  pin.mutable_vcpu_pin()->set_domid(domid);
  pin.mutable_vcpu_pin()->set_vcpu(1);
  pin.mutable_vcpu_pin()->set_cpus("0");
  const bool pinned = call(pin, 11, pb::Response::RESULT_NOT_SET).error_code() == 0;
  pb::Request list;
  list.mutable_vcpu_list()->set_domid(domid);
  const auto r = call(list, 12, pb::Response::kVcpus);
  if (r.error_code() != 0) return;
  ASSERT_EQ(r.vcpus().vcpus_size(), 2);
  for (int i = 0; i < 2; ++i) {
    const auto& v = r.vcpus().vcpus(i);
    EXPECT_EQ(v.domid(), domid);
    EXPECT_EQ(v.name(), "par");
    EXPECT_EQ(v.vcpu(), static_cast<uint32_t>(i));
    EXPECT_EQ(v.soft_affinity(), "all");
  }
  if (pinned) {
    EXPECT_EQ(r.vcpus().vcpus(1).hard_affinity(), "0");
  }
}

}  // namespace
}  // namespace smartvm::hv
