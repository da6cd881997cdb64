#include "smartvm/dom0/config/XlKeys.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "smartvm/Result.h"
#include "smartvm/dom0/config/DomainConfigRules.h"
#include "smartvm/dom0/config/XlConfig.h"
#include "smartvm/dom0/config/XlDiskSpec.h"
#include "smartvm/sched/CpuList.h"

namespace smartvm::dom0 {
namespace {

namespace fs = std::filesystem;
using State = XlKeys::State;
using Rules = DomainConfigRules;

std::string where(const XlSetting& s) { return fmt::format("{}:{}: {}", s.source, s.line, s.key); }
Status fail(const XlSetting& s, const std::string& what) { return error(EINVAL, where(s) + ": " + what); }

/// Text of a scalar. Bare words are xl syntax errors in a file, but on the command
/// line they are accepted as strings: shell quoting around quotes is a trap.
Result<std::string> stringOf(const XlSetting& s) {
  const XlValue& v = s.value;
  if (v.kind == XlValue::Kind::List) return fail(s, "expected a quoted string, got a list");
  if (v.kind == XlValue::Kind::Word && s.source != XlConfig::kOverrideSource) {
    return fail(s, fmt::format("expected a quoted string, got {} without quotes", quoteForMessage(v.text)));
  }
  return v.text;
}

/// An integer in [min, max]; xl also accepts integers written as strings ("512").
Result<uint64_t> integerIn(const XlSetting& s, uint64_t min, uint64_t max, std::string_view unit) {
  const XlValue& v = s.value;
  if (v.kind == XlValue::Kind::List) return fail(s, "expected an integer, got a list");
  std::string_view t = v.text;
  const bool negative = !t.empty() && t.front() == '-';
  if (negative) t.remove_prefix(1);
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    t.remove_prefix(2);
    base = 16;
  }
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value, base);
  if (t.empty() || end != t.data() + t.size() || ec == std::errc::invalid_argument) {
    return fail(s, "expected an integer, got " + quoteForMessage(v.text));
  }
  if (ec == std::errc::result_out_of_range || (negative && value != 0) || value < min || value > max) {
    const std::string shown = v.text.size() <= 40 ? v.text : quoteForMessage(v.text);
    return fail(s, fmt::format("{} is out of range ({}..{}{})", shown, min, max, unit));
  }
  return value;
}

/// A path made absolute against `baseDir`, naming a regular file we can open for reading.
Result<std::string> readableFile(const XlSetting& s, const fs::path& baseDir) {
  SMARTVM_ASSIGN_OR_RETURN(const std::string text, stringOf(s));
  if (text.empty()) return fail(s, "empty path");
  fs::path path(text);
  if (path.is_relative()) path = baseDir / path;
  const std::string full = path.lexically_normal().string();
  // O_NONBLOCK: a FIFO must not hang the parser; the open itself is the readability test.
  const int fd = ::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return fail(s, fmt::format("cannot read {}: {}", full, std::strerror(errno)));
  struct stat st {};
  const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  if (!regular) return fail(s, fmt::format("{} is not a regular file", full));
  return full;
}

Result<v1::LifecycleAction> actionOf(const XlSetting& s) {
  SMARTVM_ASSIGN_OR_RETURN(const std::string a, stringOf(s));
  if (a == "destroy") return v1::LIFECYCLE_ACTION_DESTROY;
  if (a == "restart") return v1::LIFECYCLE_ACTION_RESTART;
  if (a == "preserve") return v1::LIFECYCLE_ACTION_PRESERVE;
  static constexpr std::array<std::string_view, 4> kXlOnly = {"rename-restart", "coredump-destroy", "coredump-restart",
                                                              "soft-reset"};
  if (std::find(kXlOnly.begin(), kXlOnly.end(), a) != kXlOnly.end()) {
    return fail(s, fmt::format("'{}' is not supported yet (supported: destroy, restart, preserve)", a));
  }
  return fail(s, fmt::format("unknown action {} (expected destroy, restart or preserve)", quoteForMessage(a)));
}

Status setName(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const std::string name, stringOf(s));
  if (auto problem = Rules::nameProblem(name)) return fail(s, *problem);
  st.config.set_name(name);
  return Status::ok();
}

Status setType(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const std::string type, stringOf(s));
  if (type == "pvh") {
    st.config.set_type(v1::DOMAIN_TYPE_PVH);
    return Status::ok();
  }
  if (type == "hvm" || type == "pv") {
    return fail(s, fmt::format("type '{}' is not supported yet (Smart-VM runs pvh guests only)", type));
  }
  return fail(s, fmt::format("unknown type {} (expected pvh)", quoteForMessage(type)));
}

Status setBuilder(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const std::string builder, stringOf(s));
  if (builder == "hvm") return fail(s, "builder 'hvm' asks for type 'hvm', which is not supported yet");
  st.warnings.push_back(where(s) + ": xl's old name for type, ignored (Smart-VM boots pvh)");
  return Status::ok();
}

Status setMemory(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const uint64_t mib, integerIn(s, Rules::kMinMemoryMib, Rules::kMaxMemoryMib, " MiB"));
  st.config.set_memory_mib(mib);
  return Status::ok();
}

Status setVcpus(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const uint64_t n, integerIn(s, Rules::kMinVcpus, Rules::kMaxVcpus, ""));
  st.config.set_vcpus(static_cast<uint32_t>(n));
  return Status::ok();
}

Status setMaxEventChannels(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const uint64_t n, integerIn(s, Rules::kMinEventChannels, Rules::kMaxEventChannels, ""));
  st.config.set_max_event_channels(static_cast<uint32_t>(n));
  return Status::ok();
}

Status setMaxGrantFrames(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const uint64_t n, integerIn(s, Rules::kMinGrantFrames, Rules::kMaxGrantFrames, ""));
  st.config.set_max_grant_frames(static_cast<uint32_t>(n));
  return Status::ok();
}

Status setCpuWeight(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const uint64_t w, integerIn(s, 1, 65535, ""));
  st.config.set_cpu_weight(static_cast<uint32_t>(w));
  return Status::ok();
}

Status setCap(const XlSetting& s, const fs::path&, State& st) {
  // The hypervisor checks the cap against its pCPU count (Xen: at most 100 per pCPU).
  SMARTVM_ASSIGN_OR_RETURN(const uint64_t c, integerIn(s, 0, 100 * sched::kMaxPcpus, "%"));
  st.config.set_cpu_cap(static_cast<uint32_t>(c));
  return Status::ok();
}

Status setCpus(const XlSetting& s, const fs::path&, State& st) {
  if (s.value.kind == XlValue::Kind::List) {
    return fail(s, "per-vCPU lists are not supported; give one CPU list for all vCPUs (\"0-3\")");
  }
  SMARTVM_ASSIGN_OR_RETURN(const std::string list, stringOf(s));
  // Syntax only here; the hypervisor knows how many pCPUs there are.
  if (auto m = sched::parseCpuList(list, sched::kMaxPcpus); !m.isOk()) return fail(s, m.status().message());
  st.config.set_cpus(list);
  return Status::ok();
}

Status setSchedWork(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const std::string work, stringOf(s));
  if (work != "common" && work != "concurrent") {
    return fail(s, fmt::format("expected \"common\" or \"concurrent\", got {}", quoteForMessage(work)));
  }
  st.config.set_concurrent_work(work == "concurrent");
  return Status::ok();
}

Status setKernel(const XlSetting& s, const fs::path& baseDir, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const std::string path, readableFile(s, baseDir));
  st.config.set_kernel(path);
  return Status::ok();
}

Status setRamdisk(const XlSetting& s, const fs::path& baseDir, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const std::string path, readableFile(s, baseDir));
  st.config.set_ramdisk(path);
  return Status::ok();
}

Status setCmdline(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(st.cmdline, stringOf(s));
  return Status::ok();
}

Status setRoot(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(st.root, stringOf(s));
  return Status::ok();
}

Status setExtra(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(st.extra, stringOf(s));
  return Status::ok();
}

Status setOnPoweroff(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const v1::LifecycleAction a, actionOf(s));
  st.config.set_on_poweroff(a);
  return Status::ok();
}

Status setOnReboot(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const v1::LifecycleAction a, actionOf(s));
  st.config.set_on_reboot(a);
  return Status::ok();
}

Status setOnCrash(const XlSetting& s, const fs::path&, State& st) {
  SMARTVM_ASSIGN_OR_RETURN(const v1::LifecycleAction a, actionOf(s));
  st.config.set_on_crash(a);
  return Status::ok();
}

Status setDisks(const XlSetting& s, const fs::path& baseDir, State& st) {
  if (s.value.kind != XlValue::Kind::List) return fail(s, "expected a list of disk specs ['format=raw, vdev=xvda, target=...']");
  st.config.clear_disks();
  for (const XlValue& item : s.value.items) {
    if (item.kind == XlValue::Kind::List) return fail(s, "expected quoted disk specs inside the list");
    auto disk = XlDiskSpec::parse(item.text, baseDir);
    if (!disk.isOk()) return fail(s, disk.status().message());
    const uint32_t devid = XlDiskSpec::deviceNumber(disk->vdev()).value();
    for (const v1::DiskSpec& other : st.config.disks()) {
      if (XlDiskSpec::deviceNumber(other.vdev()).value() == devid) {
        return fail(s, fmt::format("vdev {} is used twice", disk->vdev()));
      }
    }
    *st.config.add_disks() = std::move(*disk);
  }
  return Status::ok();
}

struct KeyEntry {
  std::string_view key;
  XlKeys::Handler handler;
};

constexpr std::array<KeyEntry, 20> kKeys = {{
    {"name", setName},
    {"type", setType},
    {"builder", setBuilder},
    {"memory", setMemory},
    {"vcpus", setVcpus},
    {"max_event_channels", setMaxEventChannels},
    {"max_grant_frames", setMaxGrantFrames},
    {"cpu_weight", setCpuWeight},
    {"cap", setCap},
    {"cpus", setCpus},
    {"sched_work", setSchedWork},
    {"kernel", setKernel},
    {"ramdisk", setRamdisk},
    {"cmdline", setCmdline},
    {"root", setRoot},
    {"extra", setExtra},
    {"on_poweroff", setOnPoweroff},
    {"on_reboot", setOnReboot},
    {"on_crash", setOnCrash},
    {"disk", setDisks},
}};

/// xl keys that are meaningful to xl but not (yet) to Smart-VM.
constexpr std::array<std::string_view, 23> kXlKeysNotSupported = {
    "vif",
    "vfb",
    "vkb",
    "pci",
    "usbctrl",
    "usbdev",
    "channel",
    "serial",
    "maxmem",
    "maxvcpus",
    "cpus_soft",
    "uuid",
    "seclabel",
    "bootloader",
    "device_model_version",
    "firmware",
    "bios",
    "boot",
    "on_watchdog",
    "on_soft_reset",
    "tsc_mode",
    "max_maptrack_frames",
    "shadow_memory",
};

}  // namespace

XlKeys::Handler XlKeys::find(std::string_view key) {
  for (const KeyEntry& e : kKeys) {
    if (e.key == key) return e.handler;
  }
  return nullptr;
}

std::string XlKeys::unknownKeyWarning(const XlSetting& setting) {
  const bool xlKey =
      std::find(kXlKeysNotSupported.begin(), kXlKeysNotSupported.end(), setting.key) != kXlKeysNotSupported.end();
  return where(setting) + (xlKey ? ": not supported by Smart-VM yet, ignored" : ": unknown key, ignored");
}

}  // namespace smartvm::dom0
