#pragma once
// The real smartvmd service (SmartvmdServer) on a Unix socket in a temp
// directory, in front of a FakeHv, and a client stub to it.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "FakeHv.h"
#include "TempDir.h"
#include "smartvm/dom0/smartvmd/SmartvmdServer.h"
#include "smartvm/v1/toolstack.grpc.pb.h"

namespace smartvm::dom0::test {

class SmartvmdFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(hv_.start().isOk());
    const Status s = server_.start(target());
    ASSERT_TRUE(s.isOk()) << s.toString();
    channel_ = grpc::CreateChannel(target(), grpc::InsecureChannelCredentials());
    stub_ = v1::Toolstack::NewStub(channel_);
  }

  std::string target() const { return "unix:" + dir_.file("smartvmd.sock"); }

 public:
  /// A client context with a deadline, so a broken test fails instead of hanging.
  static std::unique_ptr<grpc::ClientContext> ctx(std::chrono::seconds deadline = std::chrono::seconds(20)) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + deadline);
    return c;
  }

  static v1::DomainRef ref(const std::string& id) {
    v1::DomainRef r;
    r.set_id(id);
    return r;
  }

 protected:
  TempDir dir_;
  FakeHv hv_{dir_.file("hv.sock")};
  SmartvmdServer server_{dir_.file("hv.sock")};
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Toolstack::Stub> stub_;
};

}  // namespace smartvm::dom0::test
