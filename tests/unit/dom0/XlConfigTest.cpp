// xl config files to DomainConfig: keys, defaults, overrides, paths, warnings and every error message.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "TempDir.h"
#include "smartvm/dom0/config/XlConfig.h"

namespace smartvm::dom0 {
namespace {

using test::TempDir;

class XlConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kernel_ = dir_.write("vmlinuz",
                         "\x7f"
                         "ELF kernel");
    dir_.write("boot/initrd.img", "initrd");
  }

  Result<ParsedDomainConfig> parse(const std::string& text, const std::vector<std::string>& overrides = {}) {
    return XlConfig::parseText(text, "guest.cfg", dir_.path(), overrides, dir_.path() / "cwd");
  }

  v1::DomainConfig parseOk(const std::string& text, const std::vector<std::string>& overrides = {}) {
    auto r = parse(text, overrides);
    EXPECT_TRUE(r.isOk()) << r.status().message();
    return r.isOk() ? r->config : v1::DomainConfig{};
  }

  std::string parseError(const std::string& text, const std::vector<std::string>& overrides = {}) {
    auto r = parse(text, overrides);
    EXPECT_FALSE(r.isOk());
    if (r.isOk()) return "";
    EXPECT_EQ(r.status().code(), EINVAL);
    return r.status().message();
  }

  /// A valid config with `line` appended (line 3).
  std::string with(const std::string& line) { return "name = \"web\"\nkernel = \"vmlinuz\"\n" + line + "\n"; }

  TempDir dir_;
  std::string kernel_;
};

TEST_F(XlConfigTest, CompleteFileSetsEveryField) {
  const std::string text = R"(# A complete guest
name = "web-1"
type = "pvh"
memory = 256
vcpus = 2
kernel = "vmlinuz"          # relative: next to this file
ramdisk = 'boot/initrd.img'
cmdline = "console=hvc0 quiet"
on_poweroff = "destroy"
on_reboot = 'restart'
on_crash = "preserve"
disk = [ 'file:/x.img,xvda,w',
         'file:/y.img,xvdb,w' ]
)";
  auto r = parse(text);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const v1::DomainConfig& c = r->config;
  EXPECT_EQ(c.name(), "web-1");
  EXPECT_EQ(c.type(), v1::DOMAIN_TYPE_PVH);
  EXPECT_EQ(c.memory_mib(), 256u);
  EXPECT_EQ(c.vcpus(), 2u);
  EXPECT_EQ(c.kernel(), dir_.file("vmlinuz"));
  EXPECT_EQ(c.ramdisk(), dir_.file("boot/initrd.img"));
  EXPECT_EQ(c.cmdline(), "console=hvc0 quiet");
  EXPECT_EQ(c.on_poweroff(), v1::LIFECYCLE_ACTION_DESTROY);
  EXPECT_EQ(c.on_reboot(), v1::LIFECYCLE_ACTION_RESTART);
  EXPECT_EQ(c.on_crash(), v1::LIFECYCLE_ACTION_PRESERVE);
  EXPECT_FALSE(c.start_paused());
  ASSERT_EQ(c.disks_size(), 2);
  EXPECT_EQ(c.disks(0).target(), "/x.img");
  EXPECT_EQ(c.disks(1).vdev(), "xvdb");
  EXPECT_TRUE(r->warnings.empty());
}

TEST_F(XlConfigTest, DisksAreCheckedAsAWhole) {
  const v1::DomainConfig c = parseOk(with("disk = ['format=qcow2, vdev=xvda, access=rw, target=d.qcow2']"));
  ASSERT_EQ(c.disks_size(), 1);
  EXPECT_EQ(c.disks(0).target(), (dir_.path() / "d.qcow2").string());
  EXPECT_EQ(parseError(with("disk = ['/a,,xvda', '/b,,xvda']")), "guest.cfg:3: disk: vdev xvda is used twice");
  EXPECT_EQ(parseError(with("disk = '/a,,xvda'")),
            "guest.cfg:3: disk: expected a list of disk specs ['format=raw, vdev=xvda, target=...']");
  EXPECT_EQ(parseError(with("disk = ['/a,,xvda,maybe']")), "guest.cfg:3: disk: disk '/a,,xvda,maybe': access 'maybe' is not ro or rw");
}

TEST_F(XlConfigTest, DefaultsForAMinimalFile) {
  const v1::DomainConfig c = parseOk("name='min'\nkernel='" + kernel_ + "'\n");
  EXPECT_EQ(c.kernel(), kernel_);
  EXPECT_EQ(c.type(), v1::DOMAIN_TYPE_PVH);
  EXPECT_EQ(c.memory_mib(), 128u);
  EXPECT_EQ(c.vcpus(), 1u);
  EXPECT_EQ(c.ramdisk(), "");
  EXPECT_EQ(c.cmdline(), "");
  EXPECT_EQ(c.on_poweroff(), v1::LIFECYCLE_ACTION_DESTROY);
  EXPECT_EQ(c.on_reboot(), v1::LIFECYCLE_ACTION_RESTART);
  EXPECT_EQ(c.on_crash(), v1::LIFECYCLE_ACTION_DESTROY);
  EXPECT_EQ(c.source_file(), "guest.cfg");
}

TEST_F(XlConfigTest, IntegersMayBeQuotedOrHex) {
  EXPECT_EQ(parseOk(with("memory = \"512\"")).memory_mib(), 512u);
  EXPECT_EQ(parseOk(with("memory = 0x400")).memory_mib(), 1024u);
  EXPECT_EQ(parseOk(with("vcpus = '128'")).vcpus(), 128u);
  EXPECT_EQ(parseOk(with("memory = 1048576")).memory_mib(), 1048576u);
}

TEST_F(XlConfigTest, MaxEventChannelsLowersThePortLimit) {
  EXPECT_EQ(parseOk(with("max_event_channels = 64")).max_event_channels(), 64u);
  EXPECT_EQ(parseOk(with("")).max_event_channels(), 0u) << "unset means the ABI's 4096";
  EXPECT_EQ(parseError(with("max_event_channels = 4097")),
            "guest.cfg:3: max_event_channels: 4097 is out of range (1..4096)");
  EXPECT_EQ(parseError(with("max_event_channels = 0")), "guest.cfg:3: max_event_channels: 0 is out of range (1..4096)");
}

TEST_F(XlConfigTest, MaxGrantFramesBoundsTheGrantTable) {
  EXPECT_EQ(parseOk(with("max_grant_frames = 4")).max_grant_frames(), 4u);
  EXPECT_EQ(parseOk(with("")).max_grant_frames(), 0u) << "unset means Xen's default of 64";
  EXPECT_EQ(parseError(with("max_grant_frames = 65")), "guest.cfg:3: max_grant_frames: 65 is out of range (1..64)");
  EXPECT_EQ(parseError(with("max_grant_frames = 0")), "guest.cfg:3: max_grant_frames: 0 is out of range (1..64)");
}

TEST_F(XlConfigTest, SchedulingKeysReachTheConfig) {
  const v1::DomainConfig c =
      parseOk(with("cpu_weight = 512\ncap = 50\ncpus = \"0-3,^2\"\nsched_work = \"concurrent\""));
  EXPECT_EQ(c.cpu_weight(), 512u);
  EXPECT_EQ(c.cpu_cap(), 50u);
  EXPECT_EQ(c.cpus(), "0-3,^2");
  EXPECT_TRUE(c.concurrent_work());
  const v1::DomainConfig d = parseOk(with(""));
  EXPECT_EQ(d.cpu_weight(), 0u) << "unset: the policy's default";
  EXPECT_EQ(d.cpu_cap(), 0u);
  EXPECT_EQ(d.cpus(), "");
  EXPECT_FALSE(d.concurrent_work());
  EXPECT_FALSE(parseOk(with("sched_work = \"common\"")).concurrent_work());
}

TEST_F(XlConfigTest, BadSchedulingKeysNameTheProblem) {
  EXPECT_EQ(parseError(with("cpu_weight = 0")), "guest.cfg:3: cpu_weight: 0 is out of range (1..65535)");
  EXPECT_EQ(parseError(with("cpu_weight = 65536")), "guest.cfg:3: cpu_weight: 65536 is out of range (1..65535)");
  EXPECT_EQ(parseError(with("cap = 25601")), "guest.cfg:3: cap: 25601 is out of range (0..25600%)");
  EXPECT_EQ(parseError(with("cpus = \"3-1\"")), "guest.cfg:3: cpus: bad CPU range '3-1': 1 is below 3");
  EXPECT_EQ(parseError(with("cpus = [\"0\", \"1\"]")),
            "guest.cfg:3: cpus: per-vCPU lists are not supported; give one CPU list for all vCPUs (\"0-3\")");
  EXPECT_EQ(parseError(with("sched_work = \"gang\"")),
            "guest.cfg:3: sched_work: expected \"common\" or \"concurrent\", got \"gang\"");
}

TEST_F(XlConfigTest, RootAndExtraCombineAsXlDoes) {
  EXPECT_EQ(parseOk(with("extra = \"console=hvc0\"")).cmdline(), "console=hvc0");
  EXPECT_EQ(parseOk(with("root = \"/dev/xvda1\"")).cmdline(), "root=/dev/xvda1");
  EXPECT_EQ(parseOk(with("root = \"/dev/xvda1\"\nextra = \"ro quiet\"")).cmdline(), "root=/dev/xvda1 ro quiet");
  auto r = parse(with("extra = \"ignored\"\ncmdline = \"console=hvc0\""));
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->config.cmdline(), "console=hvc0");
  EXPECT_EQ(r->warnings, std::vector<std::string>{
                             "guest.cfg: cmdline: root and extra are ignored in favour of cmdline (as xl does)"});
}

TEST_F(XlConfigTest, OverridesApplyAfterTheFileWithTheSameGrammar) {
  dir_.write("cwd/other-kernel", "k");
  auto r = parse(with("memory = 256\nvcpus = 2"), {"memory=1024", "name=\"db\"", "cmdline='a b'", "kernel=other-kernel",
                                                   "vcpus = 4; on_crash = restart"});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->config.memory_mib(), 1024u);
  EXPECT_EQ(r->config.name(), "db");
  EXPECT_EQ(r->config.cmdline(), "a b");
  // Relative paths on the command line are relative to the current directory, not the file's.
  EXPECT_EQ(r->config.kernel(), dir_.file("cwd/other-kernel"));
  EXPECT_EQ(r->config.vcpus(), 4u);
  EXPECT_EQ(r->config.on_crash(), v1::LIFECYCLE_ACTION_RESTART);
  EXPECT_TRUE(r->warnings.empty());
}

TEST_F(XlConfigTest, OverrideErrorsNameTheCommandLineAndPosition) {
  EXPECT_EQ(parseError(with(""), {"vcpus=2", "memory=lots"}),
            "command line:2: memory: expected an integer, got \"lots\"");
  EXPECT_EQ(parseError(with(""), {"memory"}), "command line:1: memory: expected '=' after the key, got end of line");
  EXPECT_EQ(parseError(with(""), {"name=\"a\nb\""}), "command line:1: an override cannot span lines");
  EXPECT_EQ(parseError(with(""), {"name=\"bad name\""}),
            "command line:1: name: 'bad name' is not a valid name (use A-Z a-z 0-9 _ . -)");
}

TEST_F(XlConfigTest, LastSettingWinsAndRepeatsAreReported) {
  auto r = parse(with("memory = 256\nmemory = 512"));
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->config.memory_mib(), 512u);
  EXPECT_EQ(r->warnings, std::vector<std::string>{"guest.cfg:4: memory: set again, the value on line 3 is ignored"});
  // An invalid value that a later line replaces is never looked at, as in xl.
  EXPECT_EQ(parseOk(with("memory = \"lots\"\nmemory = 64")).memory_mib(), 64u);
}

TEST_F(XlConfigTest, UnknownKeysAreWarningsNotErrors) {
  auto r = parse(with("memroy = 512\nvif = [ 'bridge=br0' ]\nmaxmem = 1024"));
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->config.memory_mib(), 128u);
  EXPECT_EQ(r->warnings, (std::vector<std::string>{"guest.cfg:3: memroy: unknown key, ignored",
                                                   "guest.cfg:4: vif: not supported by Smart-VM yet, ignored",
                                                   "guest.cfg:5: maxmem: not supported by Smart-VM yet, ignored"}));
  auto b = parse(with("builder = \"generic\""));
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ(b->warnings,
            std::vector<std::string>{"guest.cfg:3: builder: xl's old name for type, ignored (Smart-VM boots pvh)"});
}

TEST_F(XlConfigTest, IntegerErrors) {
  EXPECT_EQ(parseError(with("memory = \"lots\"")), "guest.cfg:3: memory: expected an integer, got \"lots\"");
  EXPECT_EQ(parseError(with("memory = 12MB")), "guest.cfg:3: memory: expected an integer, got \"12MB\"");
  EXPECT_EQ(parseError(with("memory = \"\"")), "guest.cfg:3: memory: expected an integer, got \"\"");
  EXPECT_EQ(parseError(with("memory = [ 1 ]")), "guest.cfg:3: memory: expected an integer, got a list");
  EXPECT_EQ(parseError(with("memory = 0")), "guest.cfg:3: memory: 0 is out of range (1..1048576 MiB)");
  EXPECT_EQ(parseError(with("memory = 1048577")), "guest.cfg:3: memory: 1048577 is out of range (1..1048576 MiB)");
  EXPECT_EQ(parseError(with("memory = -5")), "guest.cfg:3: memory: -5 is out of range (1..1048576 MiB)");
  EXPECT_EQ(parseError(with("memory = 99999999999999999999999")),
            "guest.cfg:3: memory: 99999999999999999999999 is out of range (1..1048576 MiB)");
  EXPECT_EQ(parseError(with("vcpus = 0")), "guest.cfg:3: vcpus: 0 is out of range (1..128)");
  EXPECT_EQ(parseError(with("vcpus = 129")), "guest.cfg:3: vcpus: 129 is out of range (1..128)");
  const std::string huge(5000, '9');
  EXPECT_EQ(parseError(with("vcpus = " + huge)),
            "guest.cfg:3: vcpus: \"" + std::string(40, '9') + "\"... (5000 bytes) is out of range (1..128)");
}

TEST_F(XlConfigTest, NameErrors) {
  const std::string k = "kernel = \"vmlinuz\"\n";
  EXPECT_EQ(parseError(k + "name = \"bad name\""),
            "guest.cfg:2: name: 'bad name' is not a valid name (use A-Z a-z 0-9 _ . -)");
  EXPECT_EQ(parseError(k + "name = \"\""), "guest.cfg:2: name: the name is empty");
  EXPECT_EQ(parseError(k + "name = \"" + std::string(65, 'a') + "\""),
            "guest.cfg:2: name: the name is 65 characters long (at most 64)");
  EXPECT_EQ(parseError(k + "name = \"123\""),
            "guest.cfg:2: name: '123' is not a valid name: a name made only of digits would read as a domid");
  EXPECT_EQ(parseError(k + "name = web"), "guest.cfg:2: name: expected a quoted string, got \"web\" without quotes");
  EXPECT_EQ(parseError(k + "name = [ \"web\" ]"), "guest.cfg:2: name: expected a quoted string, got a list");
  EXPECT_EQ(parseOk(k + "name = \"" + std::string(64, 'a') + "\"").name(), std::string(64, 'a'));
  EXPECT_EQ(parseOk(k + "name = \"A.b_c-9\"").name(), "A.b_c-9");
}

TEST_F(XlConfigTest, RequiredKeys) {
  EXPECT_EQ(parseError("kernel = \"vmlinuz\"\n"), "guest.cfg: name: required key is missing");
  EXPECT_EQ(parseError("name = \"web\"\n"), "guest.cfg: kernel: required key is missing");
  EXPECT_EQ(parseError(""), "guest.cfg: name: required key is missing");
}

TEST_F(XlConfigTest, TypeErrors) {
  EXPECT_EQ(parseError(with("type = \"hvm\"")),
            "guest.cfg:3: type: type 'hvm' is not supported yet (Smart-VM runs pvh guests only)");
  EXPECT_EQ(parseError(with("type = \"pv\"")),
            "guest.cfg:3: type: type 'pv' is not supported yet (Smart-VM runs pvh guests only)");
  EXPECT_EQ(parseError(with("type = \"kvm\"")), "guest.cfg:3: type: unknown type \"kvm\" (expected pvh)");
  EXPECT_EQ(parseError(with("builder = \"hvm\"")),
            "guest.cfg:3: builder: builder 'hvm' asks for type 'hvm', which is not supported yet");
}

TEST_F(XlConfigTest, ActionErrors) {
  EXPECT_EQ(parseError(with("on_crash = \"coredump-destroy\"")),
            "guest.cfg:3: on_crash: 'coredump-destroy' is not supported yet (supported: destroy, restart, preserve)");
  EXPECT_EQ(parseError(with("on_reboot = \"rename-restart\"")),
            "guest.cfg:3: on_reboot: 'rename-restart' is not supported yet (supported: destroy, restart, preserve)");
  EXPECT_EQ(parseError(with("on_poweroff = \"soft-reset\"")),
            "guest.cfg:3: on_poweroff: 'soft-reset' is not supported yet (supported: destroy, restart, preserve)");
  EXPECT_EQ(parseError(with("on_crash = \"explode\"")),
            "guest.cfg:3: on_crash: unknown action \"explode\" (expected destroy, restart or preserve)");
  EXPECT_EQ(parseError(with("on_crash = \"Destroy\"")),
            "guest.cfg:3: on_crash: unknown action \"Destroy\" (expected destroy, restart or preserve)");
}

TEST_F(XlConfigTest, KernelAndRamdiskPathErrors) {
  const std::string n = "name = \"web\"\n";
  EXPECT_EQ(parseError(n + "kernel = \"nope\""),
            "guest.cfg:2: kernel: cannot read " + dir_.file("nope") + ": No such file or directory");
  EXPECT_EQ(parseError(n + "kernel = \"boot\""),
            "guest.cfg:2: kernel: " + dir_.file("boot") + " is not a regular file");
  EXPECT_EQ(parseError(n + "kernel = \"\""), "guest.cfg:2: kernel: empty path");
  EXPECT_EQ(parseError(n + "kernel = \"vmlinuz/inner\""),
            "guest.cfg:2: kernel: cannot read " + dir_.file("vmlinuz/inner") + ": Not a directory");
  EXPECT_EQ(parseError(n + "kernel = \"vmlinuz\"\nramdisk = \"../missing.img\""),
            "guest.cfg:3: ramdisk: cannot read " + dir_.path().parent_path().string() +
                "/missing.img: No such file or directory");
  EXPECT_EQ(parseOk(n + "kernel = \"./boot/../vmlinuz\"").kernel(), kernel_);
}

TEST_F(XlConfigTest, UnreadableKernelIsRefused) {
  if (::geteuid() == 0) GTEST_SKIP() << "running as root: file permissions do not stop root from reading";
  const std::string locked = dir_.write("locked", "k");
  ::chmod(locked.c_str(), 0);
  EXPECT_EQ(parseError("name = \"web\"\nkernel = \"locked\""),
            "guest.cfg:2: kernel: cannot read " + locked + ": Permission denied");
}

TEST_F(XlConfigTest, ParseFileResolvesAgainstTheFilesDirectory) {
  const std::string cfg = dir_.write("guests/web.cfg", "name = \"web\"\nkernel = \"../vmlinuz\"\nfoo = 1\n");
  auto r = XlConfig::parseFile(cfg, {"memory=64"});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->config.kernel(), kernel_);
  EXPECT_EQ(r->config.memory_mib(), 64u);
  EXPECT_EQ(r->config.source_file(), cfg);
  EXPECT_EQ(r->warnings, std::vector<std::string>{cfg + ":3: foo: unknown key, ignored"});
}

TEST_F(XlConfigTest, ParseFileErrors) {
  const std::string missing = dir_.file("missing.cfg");
  auto r = XlConfig::parseFile(missing);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), ENOENT);
  EXPECT_EQ(r.status().message(), missing + ": cannot open: No such file or directory");

  auto d = XlConfig::parseFile(dir_.file("boot"));
  ASSERT_FALSE(d.isOk());
  EXPECT_EQ(d.status().message(), dir_.file("boot") + ": not a regular file");

  const std::string big = dir_.write("big.cfg", "# " + std::string(XlConfig::kMaxFileBytes, 'x') + "\n");
  auto b = XlConfig::parseFile(big);
  ASSERT_FALSE(b.isOk());
  EXPECT_EQ(b.status().code(), EFBIG);
  EXPECT_EQ(b.status().message(), big + ": larger than 1048576 bytes, not an xl config file");

  const std::string nul = dir_.write("nul.cfg", std::string("name = \"web\"\n\0\n", 14));
  auto n = XlConfig::parseFile(nul);
  ASSERT_FALSE(n.isOk());
  EXPECT_EQ(n.status().message(), nul + ":2: the file contains a NUL byte");
}

TEST_F(XlConfigTest, HostileInputFailsCleanly) {
  EXPECT_EQ(parseError("name = \"web\nkernel = \"vmlinuz\"\n"), "guest.cfg:1: name: unterminated string");
  EXPECT_EQ(parseError(with("disk = [ 'a',")),
            "guest.cfg:3: disk: unterminated list (no ']' before the end of the file)");
  std::string shown;
  for (int i = 0; i < 40; ++i) shown += "\\x01";
  EXPECT_EQ(parseError(std::string(100000, '\x01')),
            "guest.cfg:1: expected a key name, got \"" + shown + "\"... (100000 bytes)");
  std::string binary;
  for (int i = 1; i < 256; ++i) binary += static_cast<char>(i);
  EXPECT_FALSE(parse(binary).isOk());
}

}  // namespace
}  // namespace smartvm::dom0
