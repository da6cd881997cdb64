// The dom0 console service with a real guest on /dev/kvm: smartvm-hv (in
// process), smartvmd's real service with console logging, and the CLI's
// ConsoleAttach fed from a pipe, as `printf 'hello smartvm\r' | smartvm console`
// does. The guest runs workload=echo: it prints "echo ready", reads a line
// from its console ring and prints what it got, then powers off. Skips
// without /dev/kvm.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "smartvm/dom0/cli/ConsoleAttach.h"
#include "smartvm/dom0/smartvmd/SmartvmdServer.h"
#include "smartvm/hv/ControlServer.h"
#include "smartvm/hv/Hypervisor.h"
#include "smartvm/hv/kvm/KvmPlatform.h"
#include "smartvm/v1/toolstack.grpc.pb.h"

namespace smartvm {
namespace {

using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class ConsoleGuestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = hv::kvmUnavailableReason();
    if (!why.empty()) GTEST_SKIP() << "/dev/kvm unusable: " << why;
    char tmpl[] = "/tmp/smartvm-con-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto p = hv::KvmPlatform::open();
    if (!p.isOk()) GTEST_SKIP() << "KvmPlatform::open failed: " << p.status().toString();
    platform_ = std::move(p).value();
    hv_ = std::make_unique<hv::Hypervisor>(*platform_, hv::HypervisorOptions{});
    control_ = std::make_unique<hv::ControlServer>(*hv_, "kvm", nullptr);
    ASSERT_TRUE(control_->start(dir_ + "/hv.sock").isOk());
    smartvmd_ = std::make_unique<dom0::SmartvmdServer>(dir_ + "/hv.sock");
    smartvmd_->logConsoles({dir_ + "/console", 1 << 20, 2, 50ms});
    ASSERT_TRUE(smartvmd_->start("unix:" + dir_ + "/smartvmd.sock").isOk());
    stub_ = v1::Toolstack::NewStub(smartvmd_->inProcessChannel());
  }

  void TearDown() override {
    stub_.reset();
    smartvmd_.reset();  // before smartvm-hv: its console logger calls it
    if (control_) control_->stop();
    control_.reset();
    hv_.reset();
    platform_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  std::string dir_;
  std::unique_ptr<hv::KvmPlatform> platform_;
  std::unique_ptr<hv::Hypervisor> hv_;
  std::unique_ptr<hv::ControlServer> control_;
  std::unique_ptr<dom0::SmartvmdServer> smartvmd_;
  std::unique_ptr<v1::Toolstack::Stub> stub_;
};

TEST_F(ConsoleGuestTest, PipedLineReachesTheEchoGuestAndItsAnswerIsShownAndLogged) {
  v1::CreateDomainRequest req;
  v1::DomainConfig& c = *req.mutable_config();
  c.set_name("echo-guest");
  c.set_type(v1::DOMAIN_TYPE_PVH);
  c.set_memory_mib(32);
  c.set_vcpus(1);
  c.set_kernel(SMARTVM_GUEST_ELF);
  c.set_cmdline("workload=echo timeout_ms=60000");
  c.set_on_poweroff(v1::LIFECYCLE_ACTION_DESTROY);  // gone when done: the attach ends by itself
  c.set_on_crash(v1::LIFECYCLE_ACTION_DESTROY);
  v1::DomainInfo info;
  grpc::ClientContext createCtx;
  createCtx.set_deadline(std::chrono::system_clock::now() + 60s);
  const grpc::Status created = stub_->CreateDomain(&createCtx, req, &info);
  ASSERT_TRUE(created.ok()) << created.error_message();
  if (info.console_gfn() == 0) GTEST_SKIP() << "smartvm-hv gives this guest no console ring (console_gfn 0)";

  // The line waits in the pipe; ConsoleAttach sends it at once, and the ring
  // holds it until the guest, once ready, reads it.
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_EQ(::write(p[1], "hello smartvm\r", 14), 14);
  ::close(p[1]);
  std::ostringstream out;
  grpc::Status status;
  const auto end = dom0::ConsoleAttach(*stub_, out, {.inputFd = p[0], .detachOnSignals = false})
                       .run(std::to_string(info.domid()), status);
  ::close(p[0]);
  ASSERT_EQ(end, dom0::ConsoleAttach::End::DomainGone) << status.error_message() << "\n" << out.str();
  const std::string shown = out.str();
  EXPECT_NE(shown.find("echo ready\n"), std::string::npos) << shown;
  EXPECT_NE(shown.find("RESULT echo line=hello smartvm bytes=13\n"), std::string::npos) << shown;

  // smartvmd's console log has the same, the guest's last words included.
  const std::string log = dir_ + "/console/guest-echo-guest.log";
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (slurp(log).find("RESULT echo") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  const std::string logged = slurp(log);
  EXPECT_NE(logged.find("echo ready\n"), std::string::npos) << logged;
  EXPECT_NE(logged.find("RESULT echo line=hello smartvm bytes=13\n"), std::string::npos) << logged;
}

}  // namespace
}  // namespace smartvm
