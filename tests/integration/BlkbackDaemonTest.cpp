// smartvm-blkback's device life cycle against real xenstored, smartvm-hv and
// qemu-storage-daemon: the toolstack's vbd nodes make the backend open the
// disk and wait for the frontend (InitWait, features published); a missing
// image is refused with a hotplug-error the toolstack reports; detach closes
// the device and drops its export. Skips without /dev/kvm or QEMU.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "PvRig.h"
#include "smartvm/dom0/smartvmd/VbdNodes.h"
#include "smartvm/dom0/xenstore/XenstoreClient.h"

namespace smartvm {
namespace {

using dom0::VbdNodes;
using dom0::xenstore::XenstoreClient;

class BlkbackDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = test::PvRig::unavailableReason(true);
    if (!why.empty()) GTEST_SKIP() << why;
    Status s = rig_.startWithBlkback();
    ASSERT_TRUE(s.isOk()) << s.toString();
    image_ = rig_.makeRawImage("disk.raw", 8 << 20);
  }

  v1::DiskSpec disk(const std::string& target, const std::string& vdev, bool ro = false) {
    v1::DiskSpec d;
    d.set_target(target);
    d.set_format("raw");
    d.set_vdev(vdev);
    d.set_read_only(ro);
    return d;
  }

  test::PvRig rig_;
  std::string image_;
};

TEST_F(BlkbackDaemonTest, AttachedDiskWaitsForItsFrontendWithFeaturesPublished) {
  VbdNodes vbd(rig_.xenstoredSocket());
  ASSERT_TRUE(vbd.add(7, disk(image_, "xvda")).isOk());
  const Status waited = vbd.waitForBackend(7, 51712);
  ASSERT_TRUE(waited.isOk()) << waited.toString();

  auto xs = XenstoreClient::connect(rig_.xenstoredSocket());
  ASSERT_TRUE(xs.isOk());
  const std::string be = VbdNodes::backendPath(7, 51712);
  EXPECT_EQ(xs->read(be + "/state").value(), "2");  // InitWait
  EXPECT_EQ(xs->read(be + "/feature-flush-cache").value(), "1");
  EXPECT_EQ(xs->read(be + "/feature-max-indirect-segments").value(), "256");
  EXPECT_EQ(xs->read(VbdNodes::frontendPath(7, 51712) + "/backend").value(), be);

  auto listed = vbd.list(7);
  ASSERT_TRUE(listed.isOk());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].spec.target(), image_);
  EXPECT_EQ((*listed)[0].spec.vdev(), "xvda");
  EXPECT_EQ((*listed)[0].backendState, 2);

  EXPECT_EQ(vbd.add(7, disk(image_, "xvda")).code(), EEXIST);
}

TEST_F(BlkbackDaemonTest, MissingImageIsRefusedWithTheReason) {
  VbdNodes vbd(rig_.xenstoredSocket());
  ASSERT_TRUE(vbd.add(8, disk(rig_.dir() + "/nope.raw", "xvdb")).isOk());
  const Status waited = vbd.waitForBackend(8, 51728);
  ASSERT_FALSE(waited.isOk());
  EXPECT_EQ(waited.code(), ENODEV) << "FAILED_PRECONDITION at the API: the disk cannot be served as things stand";
  EXPECT_NE(waited.message().find("nope.raw"), std::string::npos) << waited.message();
  // The refused device does not stop the backend serving the next one.
  ASSERT_TRUE(vbd.add(8, disk(image_, "xvdc", true)).isOk());
  EXPECT_TRUE(vbd.waitForBackend(8, 51744).isOk());
}

TEST_F(BlkbackDaemonTest, DetachClosesTheDeviceAndRemovesItsNodes) {
  VbdNodes vbd(rig_.xenstoredSocket());
  ASSERT_TRUE(vbd.add(9, disk(image_, "xvda")).isOk());
  ASSERT_TRUE(vbd.waitForBackend(9, 51712).isOk());
  const auto start = std::chrono::steady_clock::now();
  const Status removed = vbd.remove(9, 51712);
  ASSERT_TRUE(removed.isOk()) << removed.toString();
  // The backend answered Closed: the detach did not sit out its timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - start, VbdNodes::kBackendTimeout);
  auto xs = XenstoreClient::connect(rig_.xenstoredSocket());
  ASSERT_TRUE(xs.isOk());
  EXPECT_EQ(xs->read(VbdNodes::backendPath(9, 51712) + "/state").status().code(), ENOENT);
  EXPECT_TRUE(vbd.list(9)->empty());
  EXPECT_EQ(vbd.remove(9, 51712).code(), ENOENT);
  // Attaching the same vdev again works: the export id was freed.
  ASSERT_TRUE(vbd.add(9, disk(image_, "xvda")).isOk());
  const Status again = vbd.waitForBackend(9, 51712);
  EXPECT_TRUE(again.isOk()) << again.toString();
}

}  // namespace
}  // namespace smartvm
