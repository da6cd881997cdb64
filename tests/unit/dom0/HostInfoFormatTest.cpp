// `smartvm info`: xl info's "key                    : value" layout.
#include <gtest/gtest.h>

#include "smartvm/dom0/cli/HostInfoFormat.h"

namespace smartvm::dom0 {
namespace {

v1::HostInfo sampleHost() {
  v1::HostInfo h;
  h.set_hostname("lab1");
  h.set_release("6.1.0-13-amd64");
  h.set_nr_cpus(8);
  h.set_total_memory_mib(32000);
  h.set_free_memory_mib(30000);
  h.set_xen_version("4.17");
  h.set_xen_extra(".0-smartvm");
  h.set_xen_caps("hvm-3.0-x86_64");
  h.set_hv_version("smartvm-hv 0.1.0");
  h.set_nr_domains(3);
  h.set_uptime_s(3600);
  h.set_kvm_info("KVM API 12\nnested");
  h.set_sched_policy("credit");
  return h;
}

TEST(HostInfoFormat, XlInfoLayout) {
  EXPECT_EQ(formatHostInfo(sampleHost()),
            "host                   : lab1\n"
            "release                : 6.1.0-13-amd64\n"
            "nr_cpus                : 8\n"
            "total_memory           : 32000\n"
            "free_memory            : 30000\n"
            "xen_major              : 4\n"
            "xen_minor              : 17\n"
            "xen_extra              : .0-smartvm\n"
            "xen_version            : 4.17.0-smartvm\n"
            "xen_caps               : hvm-3.0-x86_64\n"
            "xen_scheduler          : credit\n"
            "hv_version             : smartvm-hv 0.1.0\n"
            "nr_domains             : 3\n"
            "uptime                 : 3600\n"
            "kvm_info               : KVM API 12 nested\n");
}

TEST(HostInfoFormat, VersionThatIsNotMajorMinorSkipsThoseLines) {
  v1::HostInfo h = sampleHost();
  h.set_xen_version("unknown");
  const std::string out = formatHostInfo(h);
  EXPECT_EQ(out.find("xen_major"), std::string::npos);
  EXPECT_NE(out.find("xen_version            : unknown.0-smartvm\n"), std::string::npos);
  h.set_xen_version("4.x");
  EXPECT_EQ(formatHostInfo(h).find("xen_minor"), std::string::npos);
}

TEST(HostInfoFormat, EmptyInfoStillHasEveryKey) {
  const std::string out = formatHostInfo(v1::HostInfo());
  EXPECT_NE(out.find("host                   : \n"), std::string::npos);
  EXPECT_NE(out.find("nr_cpus                : 0\n"), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 13);
}

TEST(HostInfoFormat, LongKeysKeepTheSeparator) {
  EXPECT_EQ(hostInfoLine("a_key_longer_than_the_column", "v"), "a_key_longer_than_the_column: v\n");
}

}  // namespace
}  // namespace smartvm::dom0
