// xl disk specs (xl-disk-configuration): every form xl documents, device numbers and refusals.
#include <gtest/gtest.h>

#include "smartvm/dom0/config/XlDiskSpec.h"

namespace smartvm::dom0 {
namespace {

v1::DiskSpec parseOk(std::string_view spec) {
  auto r = XlDiskSpec::parse(spec, "/base");
  EXPECT_TRUE(r.isOk()) << spec << ": " << r.status().message();
  return r.isOk() ? *r : v1::DiskSpec{};
}

std::string parseError(std::string_view spec) {
  auto r = XlDiskSpec::parse(spec, "/base");
  EXPECT_FALSE(r.isOk()) << spec;
  if (r.isOk()) return "";
  EXPECT_EQ(r.status().code(), EINVAL);
  return r.status().message();
}

TEST(XlDiskSpecTest, KeyedForm) {
  const v1::DiskSpec d = parseOk("format=qcow2, vdev=xvda, access=rw, target=/img/disk.qcow2");
  EXPECT_EQ(d.target(), "/img/disk.qcow2");
  EXPECT_EQ(d.format(), "qcow2");
  EXPECT_EQ(d.vdev(), "xvda");
  EXPECT_FALSE(d.read_only());
}

TEST(XlDiskSpecTest, TheDocumentedEquivalentFormsAgree) {
  // xl-disk-configuration's first example set, with xvda for hda.
  for (std::string_view spec : {"/dev/vg/guest-volume,,xvda", "/dev/vg/guest-volume,raw,xvda,rw",
                                "format=raw, vdev=xvda, access=rw, target=/dev/vg/guest-volume",
                                "raw:/dev/vg/guest-volume,xvda,w"}) {
    const v1::DiskSpec d = parseOk(spec);
    EXPECT_EQ(d.target(), "/dev/vg/guest-volume") << spec;
    EXPECT_EQ(d.format(), "raw") << spec;
    EXPECT_EQ(d.vdev(), "xvda") << spec;
    EXPECT_FALSE(d.read_only()) << spec;
  }
}

TEST(XlDiskSpecTest, TargetTakesTheRestOfTheSpecCommasIncluded) {
  const v1::DiskSpec d = parseOk("vdev=xvdb, access=ro, target=/img/a,b c.raw");
  EXPECT_EQ(d.target(), "/img/a,b c.raw");
  EXPECT_TRUE(d.read_only());
}

TEST(XlDiskSpecTest, PositionalsFillOnlyUnspecifiedSlots) {
  const v1::DiskSpec d = parseOk("format=qcow2, /img/x.qcow2, xvdc, ro");
  EXPECT_EQ(d.format(), "qcow2");
  EXPECT_EQ(d.vdev(), "xvdc");
  EXPECT_TRUE(d.read_only());
}

TEST(XlDiskSpecTest, RelativeTargetsAreTakenFromTheConfigDirectory) {
  EXPECT_EQ(parseOk("images/../disk.raw,raw,xvda").target(), "/base/disk.raw");
}

TEST(XlDiskSpecTest, LegacyPrefixesNameTheFormat) {
  EXPECT_EQ(parseOk("qcow2:/img/x.qcow2,xvda,r").format(), "qcow2");
  EXPECT_TRUE(parseOk("qcow2:/img/x.qcow2,xvda,r").read_only());
  EXPECT_EQ(parseOk("phy:/dev/sdb,xvdb,w").format(), "raw");
  EXPECT_EQ(parseOk("tap:aio:/img/x.raw,xvdb,w").target(), "/img/x.raw");
}

TEST(XlDiskSpecTest, FlagsXlAcceptsAreIgnored) {
  EXPECT_EQ(parseOk("/img/x.raw,raw,xvda,rw,discard,direct-io-safe").vdev(), "xvda");
  EXPECT_EQ(parseOk("backendtype=qdisk, vdev=xvda, target=/img/x").vdev(), "xvda");
}

TEST(XlDiskSpecTest, RefusalsNameTheProblem) {
  EXPECT_NE(parseError("vdev=xvda").find("no target"), std::string::npos);
  EXPECT_NE(parseError("/img/x.raw").find("no vdev"), std::string::npos);
  EXPECT_NE(parseError("format=vmdk, vdev=xvda, target=/x").find("unknown format 'vmdk'"), std::string::npos);
  EXPECT_NE(parseError("format=vhd, vdev=xvda, target=/x").find("not supported (raw or qcow2)"), std::string::npos);
  EXPECT_NE(parseError("vdev=xvda, access=rwx, target=/x").find("access 'rwx'"), std::string::npos);
  EXPECT_NE(parseError("vdev=floppy0, target=/x").find("vdev 'floppy0'"), std::string::npos);
  EXPECT_NE(parseError("vdev=xvda, vdev=xvdb, target=/x").find("vdev given twice"), std::string::npos);
  EXPECT_NE(parseError("/x,raw,xvda,rw,extra").find("too many positional"), std::string::npos);
  EXPECT_NE(parseError("/root/image.iso,,hdc,cdrom").find("CD-ROM"), std::string::npos);
  EXPECT_NE(parseError("devtype=cdrom, vdev=xvda, target=/x").find("devtype 'cdrom'"), std::string::npos);
  EXPECT_NE(parseError("backendtype=phy, vdev=xvda, target=/x").find("backendtype 'phy'"), std::string::npos);
  EXPECT_NE(parseError("script=block-drbd, vdev=xvda, target=/x").find("'script' is not supported"),
            std::string::npos);
  EXPECT_NE(parseError("colour=blue, vdev=xvda, target=/x").find("unknown parameter 'colour'"), std::string::npos);
  EXPECT_NE(parseError("backend=3, vdev=xvda, target=/x").find("only domain 0"), std::string::npos);
}

TEST(XlDiskSpecTest, DeviceNumbersAreLibxls) {
  EXPECT_EQ(XlDiskSpec::deviceNumber("xvda").value(), 51712u);   // 202 << 8
  EXPECT_EQ(XlDiskSpec::deviceNumber("xvdb").value(), 51728u);   // | 1 << 4
  EXPECT_EQ(XlDiskSpec::deviceNumber("xvdp").value(), 51952u);   // disk 15: still the short form
  EXPECT_EQ(XlDiskSpec::deviceNumber("xvdq").value(), 268439552u);  // disk 16: (1 << 28) | (16 << 8)
  EXPECT_EQ(XlDiskSpec::deviceNumber("xvdaa").value(), (1u << 28) | (26u << 8));
  EXPECT_EQ(XlDiskSpec::deviceNumber("hda").value(), 768u);
  EXPECT_EQ(XlDiskSpec::deviceNumber("hdc").value(), 22u << 8);
  EXPECT_EQ(XlDiskSpec::deviceNumber("sdb").value(), (8u << 8) | 16u);
  for (std::string_view bad : {"", "xvd", "xvdA", "xvd1", "hde", "sdq", "vda", "xvdaaaa"}) {
    EXPECT_FALSE(XlDiskSpec::deviceNumber(bad).isOk()) << bad;
  }
}

TEST(XlDiskSpecTest, FormatWritesTheKeyedForm) {
  v1::DiskSpec d = parseOk("/img/x.qcow2,qcow2,xvdb,ro");
  EXPECT_EQ(XlDiskSpec::format(d), "format=qcow2, vdev=xvdb, access=ro, target=/img/x.qcow2");
  EXPECT_EQ(XlDiskSpec::format(parseOk(XlDiskSpec::format(d))), XlDiskSpec::format(d));
}

}  // namespace
}  // namespace smartvm::dom0
