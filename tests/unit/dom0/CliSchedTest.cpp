// The smartvm scheduler commands (sched-credit, sched-parallel, vcpu-pin,
// vcpu-list) and info's scheduler line, through the real smartvmd service
// against a fake smartvm-hv.
#include "CliFixture.h"
#include "smartvm/dom0/cli/SchedParamsFormat.h"
#include "smartvm/dom0/cli/VcpuListFormat.h"

namespace smartvm::dom0 {
namespace {

using control::v1::Request;
using ParamMap = std::map<std::string, int64_t>;

constexpr const char* kCreditHeader = "Name                                ID Weight  Cap\n";
constexpr const char* kVcpuHeader =
    "Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n";

class CliSched : public test::CliFixture {
 protected:
  size_t count(Request::OpCase op) { return hv_.count(op); }
};

TEST_F(CliSched, SchedCreditListsEveryScheduledDomain) {
  hv_.addDomain("web");
  hv_.addDomain("db");
  EXPECT_EQ(run({"sched-credit"}), 0) << err_.str();
  // Domain-0 is the host's, not scheduled: its row is left out, as smartvm-hv would refuse it.
  EXPECT_EQ(out_.str(), std::string("Cpupool Pool-0: tslice=30ms ratelimit=1000us\n") + kCreditHeader +
                            "web                                  1    256    0\n"
                            "db                                   2    256    0\n");
  EXPECT_EQ(err_.str(), "");
  EXPECT_EQ(count(Request::kSchedDomainGet), 2u) << "Domain-0 is not asked about";
}

TEST_F(CliSched, SchedCreditListSkipsADomainThatWentAway) {
  hv_.addDomain("web");
  const uint32_t gone = hv_.addDomain("gone");
  hv_.setHook([&](const Request& r, control::v1::Response& out) {
    if (!r.has_sched_domain_get() || r.sched_domain_get().domid() != gone) return test::FakeHv::HookAction::Default;
    out.set_id(r.id());
    out.set_error_code(ESRCH);
    out.set_error("no domain with id 2");
    return test::FakeHv::HookAction::Answer;
  });
  // Still in the list smartvmd gets, gone by the time its parameters are asked for.
  EXPECT_EQ(run({"sched-credit"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), std::string("Cpupool Pool-0: tslice=30ms ratelimit=1000us\n") + kCreditHeader +
                            "web                                  1    256    0\n");
}

TEST_F(CliSched, SchedCreditShowsAndSetsOneDomainByNameOrId) {
  const uint32_t id = hv_.addDomain("web");
  EXPECT_EQ(run({"sched-credit", "-d", "web", "-w", "512", "-c", "50"}), 0) << err_.str();
  EXPECT_EQ(out_.str() + err_.str(), "") << "setting is silent, as xl";
  EXPECT_EQ(hv_.schedDomain(id), (ParamMap{{"weight", 512}, {"cap", 50}}));
  const auto sets = hv_.requests();
  ASSERT_TRUE(sets.back().has_sched_domain_set());
  EXPECT_EQ(sets.back().sched_domain_set().domid(), id);
  EXPECT_EQ(sets.back().sched_domain_set().params().size(), 2u);

  EXPECT_EQ(run({"sched-credit", "-d", "1"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), std::string(kCreditHeader) + "web                                  1    512   50\n");
  EXPECT_EQ(run({"sched-credit", "-d", "web", "-c", "0"}), 0);
  EXPECT_EQ(hv_.schedDomain(id).at("cap"), 0);
  EXPECT_EQ(hv_.schedDomain(id).at("weight"), 512) << "only what was given changes";
}

TEST_F(CliSched, SchedCreditErrorsAreOneLine) {
  hv_.addDomain("web");
  EXPECT_EQ(run({"sched-credit", "-d", "nope"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: domain 'nope' not found\n");
  EXPECT_EQ(run({"sched-credit", "-d", "42", "-w", "5"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: domain '42' not found\n");
  EXPECT_EQ(run({"sched-credit", "-d", "web", "-w", "0"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: weight: 0 is out of range 1..65535\n");
  EXPECT_EQ(run({"sched-credit", "-d", "web", "-w", "heavy"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: --weight: 'heavy' is not a whole number (see 'smartvm sched-credit --help')\n");
  EXPECT_EQ(run({"sched-credit", "-d", "Domain-0"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: domain 0 is the host: its CPUs are scheduled by Linux\n");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(CliSched, SchedCreditGlobalParameters) {
  EXPECT_EQ(run({"sched-credit", "-s"}), 0);
  EXPECT_EQ(out_.str(), "Cpupool Pool-0: tslice=30ms ratelimit=1000us\n");
  EXPECT_EQ(run({"sched-credit", "-s", "-t", "10"}), 0);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(run({"sched-credit", "-r", "500"}), 0) << "-r alone implies -s";
  EXPECT_EQ(hv_.schedGlobal(), (ParamMap{{"tslice_ms", 10}, {"ratelimit_us", 500}}));
  EXPECT_EQ(run({"sched-credit", "-s"}), 0);
  EXPECT_EQ(out_.str(), "Cpupool Pool-0: tslice=10ms ratelimit=500us\n");
  EXPECT_EQ(run({"sched-credit", "-t", "0"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: tslice_ms: 0 is out of range 1..1000\n");
}

TEST_F(CliSched, SchedParallelNeedsTheParallelPolicy) {
  hv_.addDomain("web");
  EXPECT_EQ(run({"sched-parallel"}), 1);
  EXPECT_EQ(err_.str(),
            "smartvm: the host's scheduler is 'credit', not 'parallel' (start smartvm-hv with --sched parallel)\n");
  EXPECT_EQ(run({"sched-parallel", "-d", "web", "--concurrent", "1"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: the credit policy has no parameter 'concurrent'\n");
}

TEST_F(CliSched, SchedParallelShowsAndSetsGangs) {
  hv_.setSchedPolicy("parallel");
  const uint32_t id = hv_.addDomain("par");
  EXPECT_EQ(run({"sched-parallel", "-d", "par", "--concurrent", "1", "-w", "1000"}), 0) << err_.str();
  EXPECT_EQ(hv_.schedDomain(id), (ParamMap{{"weight", 1000}, {"cap", 0}, {"concurrent", 1}}));
  EXPECT_EQ(run({"sched-parallel", "-g", "20", "-G", "80"}), 0) << err_.str();
  EXPECT_EQ(run({"sched-parallel"}), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "Cpupool Pool-0: tslice=30ms ratelimit=1000us gang_slice=20ms gang_share=80%\n"
            "Name                                ID Weight  Cap Concurrent\n"
            "par                                  1   1000    0        yes\n");
  EXPECT_EQ(run({"sched-parallel", "-G", "101"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: gang_share: 101 is out of range 1..100\n");
  EXPECT_EQ(run({"sched-credit", "-d", "par"}), 0) << "credit's view of a parallel host";
  EXPECT_EQ(out_.str(), std::string(kCreditHeader) + "par                                  1   1000    0\n");
}

TEST_F(CliSched, NoSchedulerIsUnsupported) {
  hv_.setSchedPolicy("none");
  EXPECT_EQ(run({"sched-credit"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: vCPUs are not scheduled (policy none)\n");
  EXPECT_EQ(run({"info"}), 0);
  EXPECT_NE(out_.str().find("xen_scheduler          : none\n"), std::string::npos) << out_.str();
}

TEST_F(CliSched, VcpuPinOneOrAll) {
  const uint32_t id = hv_.addDomain("web");
  hv_.setVcpus(id, 3);
  EXPECT_EQ(run({"vcpu-pin", "web", "1", "0-3,^2"}), 0) << err_.str();
  EXPECT_EQ(out_.str() + err_.str(), "");
  const Request pin = hv_.requests().back();
  ASSERT_TRUE(pin.has_vcpu_pin());
  EXPECT_TRUE(pin.vcpu_pin().has_vcpu());
  EXPECT_EQ(pin.vcpu_pin().vcpu(), 1u);
  EXPECT_EQ(pin.vcpu_pin().cpus(), "0-3,^2");
  EXPECT_EQ(run({"vcpu-pin", "1", "all", "2"}), 0) << err_.str();
  EXPECT_FALSE(hv_.requests().back().vcpu_pin().has_vcpu()) << "all = every vCPU";
  const auto pins = hv_.pins();
  EXPECT_EQ(pins.size(), 3u);
  EXPECT_EQ(pins.at({id, 1}), "2");
}

TEST_F(CliSched, VcpuPinErrors) {
  hv_.addDomain("web");
  EXPECT_EQ(run({"vcpu-pin", "nope", "0", "1"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: domain 'nope' not found\n");
  EXPECT_EQ(run({"vcpu-pin", "web", "7", "1"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: domain 1 has no vCPU 7\n") << "an unknown vCPU is not an unknown domain";
  EXPECT_EQ(run({"vcpu-pin", "web", "0", "one"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: bad CPU list 'one'\n");
  EXPECT_EQ(count(Request::kVcpuPin), 2u);
}

TEST_F(CliSched, VcpuListAllOrSome) {
  const uint32_t web = hv_.addDomain("web");
  hv_.setVcpus(web, 2);
  hv_.addDomain("db");
  ASSERT_EQ(run({"vcpu-pin", "web", "1", "0-1"}), 0);
  ASSERT_EQ(run({"pause", "db"}), 0);
  EXPECT_EQ(run({"vcpu-list"}), 0) << err_.str();
  EXPECT_EQ(out_.str(), std::string(kVcpuHeader) +
                            "web                                  1     0    0   r--       1.2  all / all\n"
                            "web                                  1     1    1   -b-       2.5  0-1 / all\n"
                            "db                                   2     0    0   --p       1.2  all / all\n");
  EXPECT_EQ(run({"vcpu-list", "db"}), 0);
  EXPECT_EQ(out_.str(), std::string(kVcpuHeader) +
                            "db                                   2     0    0   --p       1.2  all / all\n");
  EXPECT_TRUE(hv_.requests().back().vcpu_list().has_domid());
  EXPECT_EQ(run({"vcpu-list", "db", "nope"}), 1);
  EXPECT_EQ(err_.str(), "smartvm: domain 'nope' not found\n");
  EXPECT_EQ(out_.str(), "") << "nothing printed when a domain is unknown";
}

TEST_F(CliSched, InfoShowsTheSchedulerAndPcpus) {
  hv_.host.set_nr_cpus(6);
  EXPECT_EQ(run({"info"}), 0);
  EXPECT_NE(out_.str().find("nr_cpus                : 6\n"), std::string::npos) << out_.str();
  EXPECT_NE(out_.str().find("xen_caps               : hvm-3.0-x86_64\nxen_scheduler          : credit\n"),
            std::string::npos)
      << out_.str();
}

}  // namespace
}  // namespace smartvm::dom0
