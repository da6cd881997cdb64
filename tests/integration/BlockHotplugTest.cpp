// block-attach / block-detach / block-list through smartvmd's gRPC service
// with every real piece behind it: smartvm-hv's control socket, xenstored,
// smartvm-blkback and qemu-storage-daemon. A hot-plugged image is opened by
// the backend (InitWait) and served to a guest that boots after it; a missing
// image is refused with the backend's reason and leaves nothing behind;
// detach closes the device. Skips without /dev/kvm or QEMU.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>

#include "PvRig.h"
#include "smartvm/dom0/smartvmd/SmartvmdServer.h"
#include "smartvm/dom0/smartvmd/VbdNodes.h"
#include "smartvm/dom0/xenstore/XenstoreClient.h"
#include "smartvm/v1/toolstack.grpc.pb.h"

namespace smartvm {
namespace {

using namespace std::chrono_literals;
constexpr uint32_t kXvda = 51712, kXvdb = 51728;

class BlockHotplugTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = test::PvRig::unavailableReason(true);
    if (!why.empty()) GTEST_SKIP() << why;
    Status s = rig_.startWithBlkback();
    ASSERT_TRUE(s.isOk()) << s.toString();
    smartvmd_ = std::make_unique<dom0::SmartvmdServer>(rig_.hvSocket(), rig_.xenstoredSocket());
    s = smartvmd_->start("unix:" + rig_.dir() + "/smartvmd.sock");
    ASSERT_TRUE(s.isOk()) << s.toString();
    stub_ = v1::Toolstack::NewStub(smartvmd_->inProcessChannel());
    image_ = rig_.makeRawImage("disk.raw", 4 << 20);
  }
  void TearDown() override {
    stub_.reset();
    smartvmd_.reset();  // before the rig's daemons go
  }

  static std::unique_ptr<grpc::ClientContext> ctx() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + 60s);
    return c;
  }

  uint32_t create(const std::string& name, const std::string& cmdline) {
    v1::CreateDomainRequest req;
    v1::DomainConfig& c = *req.mutable_config();
    c.set_name(name);
    c.set_memory_mib(64);
    c.set_kernel(SMARTVM_GUEST_ELF);
    c.set_cmdline(cmdline);
    c.set_start_paused(true);
    c.set_on_poweroff(v1::LIFECYCLE_ACTION_PRESERVE);
    c.set_on_crash(v1::LIFECYCLE_ACTION_PRESERVE);
    v1::DomainInfo info;
    const grpc::Status s = stub_->CreateDomain(ctx().get(), req, &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return info.domid();
  }

  grpc::Status attach(const std::string& domain, const std::string& target, const std::string& vdev,
                      v1::DiskInfo* out) {
    v1::AttachDiskRequest req;
    req.mutable_domain()->set_id(domain);
    req.mutable_disk()->set_target(target);
    req.mutable_disk()->set_format("raw");
    req.mutable_disk()->set_vdev(vdev);
    return stub_->AttachDisk(ctx().get(), req, out);
  }

  grpc::Status detach(const std::string& domain, const std::string& vdev) {
    v1::DetachDiskRequest req;
    req.mutable_domain()->set_id(domain);
    req.set_vdev(vdev);
    v1::DetachDiskResponse out;
    return stub_->DetachDisk(ctx().get(), req, &out);
  }

  grpc::Status domainCall(const std::string& domain, bool destroy) {
    v1::DomainRef ref;
    ref.set_id(domain);
    v1::DomainInfo info;
    v1::DestroyResponse gone;
    return destroy ? stub_->DestroyDomain(ctx().get(), ref, &gone) : stub_->UnpauseDomain(ctx().get(), ref, &info);
  }

  test::PvRig rig_;
  std::unique_ptr<dom0::SmartvmdServer> smartvmd_;
  std::unique_ptr<v1::Toolstack::Stub> stub_;
  std::string image_;
};

TEST_F(BlockHotplugTest, AttachRefuseListAndDetachWithTheRealBackend) {
  const uint32_t domid = create("hot", "");
  ASSERT_NE(domid, 0u);

  v1::DiskInfo info;
  grpc::Status s = attach("hot", image_, "xvdb", &info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(info.backend_state(), 2) << "smartvm-blkback opened the image and waits for the frontend";
  EXPECT_TRUE(rig_.blkServes(domid, kXvdb));

  const std::string missing = rig_.dir() + "/missing.raw";
  s = attach("hot", missing, "xvdc", &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message().rfind("the block backend refused the disk: ", 0), 0u) << s.error_message();
  EXPECT_NE(s.error_message().find("missing.raw"), std::string::npos) << s.error_message();

  v1::DomainRef ref;
  ref.set_id("hot");
  v1::ListDisksResponse listed;
  s = stub_->ListDisks(ctx().get(), ref, &listed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(listed.disks_size(), 1) << "the refused disk is gone again";
  EXPECT_EQ(listed.disks(0).devid(), kXvdb);
  EXPECT_EQ(listed.disks(0).spec().target(), image_);

  const auto start = std::chrono::steady_clock::now();
  s = detach("hot", "xvdb");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, dom0::VbdNodes::kBackendTimeout) << "the backend answered Closed";
  EXPECT_FALSE(rig_.blkServes(domid, kXvdb));
  auto xs = dom0::xenstore::XenstoreClient::connect(rig_.xenstoredSocket());
  ASSERT_TRUE(xs.isOk());
  EXPECT_EQ(xs->read(dom0::VbdNodes::backendPath(domid, kXvdb)).status().code(), ENOENT);
  EXPECT_TRUE(domainCall("hot", true).ok());
}

TEST_F(BlockHotplugTest, ADiskAttachedBeforeUnpauseServesTheGuest) {
  const uint32_t domid = create("blk", "workload=blk start=64 count=256 seed=5 depth=4");
  ASSERT_NE(domid, 0u);
  v1::DiskInfo info;
  const grpc::Status s = attach("blk", image_, "xvda", &info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(domainCall("blk", false).ok());
  const Status done = rig_.hv().waitForShutdown(domid, 60s);
  ASSERT_TRUE(done.isOk()) << "the guest hung: " << done.toString();
  auto con = rig_.hv().console(domid);
  ASSERT_TRUE(con.isOk());
  const std::string out = (*con)->snapshot();
  EXPECT_NE(out.find("written=256 read=256 verified=256 mismatches=0"), std::string::npos) << out;
  EXPECT_TRUE(rig_.blkServes(domid, kXvda));
  EXPECT_TRUE(domainCall("blk", true).ok());
  EXPECT_FALSE(rig_.blkServes(domid, kXvda)) << "destroy detached it";
}

}  // namespace
}  // namespace smartvm
