// `smartvm block-list`'s table: xl's columns with xl's widths, then the extras.
#include <gtest/gtest.h>

#include "smartvm/dom0/cli/DiskListFormat.h"

namespace smartvm::dom0 {
namespace {

const std::string kHeader =
    "Vdev  BE  handle state evt-ch ring-ref BE-path                        BE-state Dev   Mode Format Target\n";

v1::DiskInfo disk(uint32_t domid, uint32_t devid, const std::string& vdev, int backendState, int frontendState) {
  v1::DiskInfo d;
  d.set_devid(devid);
  d.set_backend_state(backendState);
  d.set_frontend_state(frontendState);
  d.set_event_channel(-1);
  d.set_ring_ref(-1);
  d.set_backend_path("/be/" + std::to_string(domid) + "/" + std::to_string(devid));
  d.mutable_spec()->set_vdev(vdev);
  d.mutable_spec()->set_format("raw");
  d.mutable_spec()->set_target("/img/" + vdev + ".raw");
  return d;
}

v1::ListDisksResponse domain(uint32_t domid, std::vector<v1::DiskInfo> disks) {
  v1::ListDisksResponse r;
  r.set_domid(domid);
  for (auto& d : disks) *r.add_disks() = std::move(d);
  return r;
}

TEST(DiskListFormat, NoDisksIsTheHeaderOnly) {
  EXPECT_EQ(formatDiskTable({}), kHeader);
  EXPECT_EQ(formatDiskTable({domain(3, {})}), kHeader);
}

TEST(DiskListFormat, XlsColumnsThenBackendStateVdevModeAndImage) {
  v1::DiskInfo connected = disk(1, 51712, "xvda", 4, 4);
  connected.set_event_channel(5);
  connected.set_ring_ref(8);
  v1::DiskInfo waiting = disk(1, 51728, "xvdb", 2, 1);
  waiting.mutable_spec()->set_read_only(true);
  waiting.mutable_spec()->set_format("qcow2");
  EXPECT_EQ(formatDiskTable({domain(1, {connected, waiting}), domain(12, {disk(12, 51712, "xvda", 2, 0)})}),
            kHeader +
                "51712 0   1      4     5      8        /be/1/51712                    4        xvda  rw   raw    "
                "/img/xvda.raw\n"
                "51728 0   1      1     -1     -1       /be/1/51728                    2        xvdb  ro   qcow2  "
                "/img/xvdb.raw\n"
                "51712 0   12     0     -1     -1       /be/12/51712                   2        xvda  rw   raw    "
                "/img/xvda.raw\n");
}

TEST(DiskListFormat, LongBackendPathsWidenTheirColumnSoTheExtrasLineUp) {
  v1::DiskInfo d = disk(1, 51712, "xvda", 2, 1);
  d.set_backend_path("/local/domain/0/backend/vbd/1/51712");  // 35 characters: wider than xl's 30
  const std::string table = formatDiskTable({domain(1, {d})});
  const size_t nl = table.find('\n');
  ASSERT_NE(nl, std::string::npos);
  const std::string header = table.substr(0, nl);
  const std::string row = table.substr(nl + 1);
  EXPECT_EQ(header.find("BE-state"), row.find("2        xvda")) << table;
  EXPECT_EQ(header.find("BE-state"), std::string("Vdev  BE  handle state evt-ch ring-ref ").size() + 35 + 1);
}

TEST(DiskListFormat, ARefusedDiskShowsTheBackendsReason) {
  v1::DiskInfo d = disk(2, 51744, "xvdc", 6, 1);
  d.set_error("cannot open /img/xvdc.raw: No such file or directory");
  EXPECT_EQ(formatDiskTable({domain(2, {d})}),
            kHeader +
                "51744 0   2      1     -1     -1       /be/2/51744                    6        xvdc  rw   raw    "
                "/img/xvdc.raw  (refused: cannot open /img/xvdc.raw: No such file or directory)\n");
}

}  // namespace
}  // namespace smartvm::dom0
