// smartvmd's scheduler calls (GetSchedParams, SetSchedParams, PinVcpu,
// ListVcpus) over gRPC against a fake smartvm-hv: requests, answers, errors.
#include "SmartvmdFixture.h"

namespace smartvm::dom0 {
namespace {

using control::v1::Request;
using test::FakeHv;
using ParamMap = std::map<std::string, int64_t>;

class SmartvmdSched : public test::SmartvmdFixture {
 protected:
  static v1::SchedParamsRequest forDomain(const std::string& id) {
    v1::SchedParamsRequest r;
    r.mutable_domain()->set_id(id);
    return r;
  }
  static v1::SetSchedParamsRequest setting(const std::string& id, const ParamMap& params) {
    v1::SetSchedParamsRequest r;
    if (!id.empty()) r.mutable_domain()->set_id(id);
    r.mutable_params()->insert(params.begin(), params.end());
    return r;
  }
  static ParamMap paramsOf(const v1::SchedParams& p) { return {p.params().begin(), p.params().end()}; }
};

TEST_F(SmartvmdSched, DomainParamsByNameOrDomid) {
  const uint32_t id = hv_.addDomain("web");
  for (const std::string& ref : {std::string("web"), std::to_string(id)}) {
    v1::SchedParams p;
    const grpc::Status s = stub_->GetSchedParams(ctx().get(), forDomain(ref), &p);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(p.policy(), "credit");
    EXPECT_FALSE(p.global());
    EXPECT_EQ(p.domid(), id);
    EXPECT_EQ(p.name(), "web");
    EXPECT_EQ(paramsOf(p), (ParamMap{{"weight", 256}, {"cap", 0}}));
  }
  EXPECT_EQ(hv_.requests().back().sched_domain_get().domid(), id);
}

TEST_F(SmartvmdSched, SetAnswersEveryParameterAfterwards) {
  const uint32_t id = hv_.addDomain("web");
  v1::SchedParams after;
  const grpc::Status s = stub_->SetSchedParams(ctx().get(), setting("web", {{"cap", 25}}), &after);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(paramsOf(after), (ParamMap{{"weight", 256}, {"cap", 25}}));
  EXPECT_EQ(after.domid(), id);
  EXPECT_EQ(hv_.schedDomain(id).at("cap"), 25);
}

TEST_F(SmartvmdSched, GlobalParamsWhenNoDomainIsNamed) {
  v1::SchedParams p;
  ASSERT_TRUE(stub_->GetSchedParams(ctx().get(), v1::SchedParamsRequest(), &p).ok());
  EXPECT_TRUE(p.global());
  EXPECT_EQ(paramsOf(p), (ParamMap{{"tslice_ms", 30}, {"ratelimit_us", 1000}}));
  const grpc::Status s = stub_->SetSchedParams(ctx().get(), setting("", {{"tslice_ms", 5}}), &p);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(p.params().at("tslice_ms"), 5);
  EXPECT_EQ(hv_.count(Request::kSchedGlobalSet), 1u);
}

TEST_F(SmartvmdSched, ErrorsMapToGrpcCodes) {
  hv_.addDomain("web");
  v1::SchedParams p;
  const grpc::Status unknown = stub_->GetSchedParams(ctx().get(), forDomain("nope"), &p);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_message(), "domain 'nope' not found");
  const grpc::Status gone = stub_->SetSchedParams(ctx().get(), setting("9", {{"weight", 5}}), &p);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(gone.error_message(), "domain '9' not found");
  const grpc::Status bad = stub_->SetSchedParams(ctx().get(), setting("web", {{"weight", 70000}}), &p);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad.error_message(), "weight: 70000 is out of range 1..65535");
  const grpc::Status foreign = stub_->SetSchedParams(ctx().get(), setting("web", {{"gang_share", 5}}), &p);
  EXPECT_EQ(foreign.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  const size_t sets = hv_.count(Request::kSchedDomainSet);
  const grpc::Status none = stub_->SetSchedParams(ctx().get(), setting("web", {}), &p);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(none.error_message(), "no scheduler parameters given");
  EXPECT_EQ(hv_.count(Request::kSchedDomainSet), sets) << "refused before smartvm-hv";
  EXPECT_EQ(stub_->GetSchedParams(ctx().get(), forDomain(""), &p).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SmartvmdSched, AnAnswerWithoutParametersIsInternal) {
  hv_.setHook([](const Request& r, control::v1::Response& out) {
    if (!r.has_sched_global_get()) return FakeHv::HookAction::Default;
    out.set_id(r.id());
    return FakeHv::HookAction::Answer;
  });
  v1::SchedParams p;
  const grpc::Status s = stub_->GetSchedParams(ctx().get(), {}, &p);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(s.error_message(), "smartvm-hv answered sched_global_get without scheduler parameters");
}

TEST_F(SmartvmdSched, PinVcpu) {
  const uint32_t id = hv_.addDomain("web");
  hv_.setVcpus(id, 2);
  v1::PinVcpuRequest req;
  req.mutable_domain()->set_id("web");
  req.set_vcpu(1);
  req.set_cpus("3");
  v1::PinVcpuResponse resp;
  const grpc::Status s = stub_->PinVcpu(ctx().get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.domid(), id);
  EXPECT_EQ(hv_.pins(), (std::map<std::pair<uint32_t, uint32_t>, std::string>{{{id, 1}, "3"}}));

  req.set_vcpu(2);
  const grpc::Status noVcpu = stub_->PinVcpu(ctx().get(), req, &resp);
  EXPECT_EQ(noVcpu.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(noVcpu.error_message(), "domain 1 has no vCPU 2");
  req.clear_vcpu();
  req.set_cpus("");
  const grpc::Status empty = stub_->PinVcpu(ctx().get(), req, &resp);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_cpus("x");
  EXPECT_EQ(stub_->PinVcpu(ctx().get(), req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.mutable_domain()->set_id("nope");
  req.set_cpus("1");
  EXPECT_EQ(stub_->PinVcpu(ctx().get(), req, &resp).error_message(), "domain 'nope' not found");
}

TEST_F(SmartvmdSched, ListVcpusOfOneOrEveryDomain) {
  const uint32_t web = hv_.addDomain("web");
  hv_.setVcpus(web, 2);
  const uint32_t db = hv_.addDomain("db");
  v1::ListVcpusResponse all;
  ASSERT_TRUE(stub_->ListVcpus(ctx().get(), {}, &all).ok());
  ASSERT_EQ(all.vcpus_size(), 3);
  EXPECT_EQ(all.vcpus(1).domid(), web);
  EXPECT_EQ(all.vcpus(1).vcpu(), 1u);
  EXPECT_EQ(all.vcpus(2).name(), "db");
  EXPECT_FALSE(hv_.requests().back().vcpu_list().has_domid());

  v1::ListVcpusRequest one;
  one.mutable_domain()->set_id("db");
  v1::ListVcpusResponse dbs;
  ASSERT_TRUE(stub_->ListVcpus(ctx().get(), one, &dbs).ok());
  ASSERT_EQ(dbs.vcpus_size(), 1);
  EXPECT_EQ(dbs.vcpus(0).domid(), db);
  EXPECT_EQ(hv_.requests().back().vcpu_list().domid(), db);
  one.mutable_domain()->set_id("7");
  const grpc::Status missing = stub_->ListVcpus(ctx().get(), one, &dbs);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(missing.error_message(), "domain '7' not found");
}

TEST_F(SmartvmdSched, HostInfoCarriesThePolicy) {
  hv_.setSchedPolicy("parallel");
  v1::HostInfo host;
  ASSERT_TRUE(stub_->GetHostInfo(ctx().get(), {}, &host).ok());
  EXPECT_EQ(host.sched_policy(), "parallel");
}

}  // namespace
}  // namespace smartvm::dom0
