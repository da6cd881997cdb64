#include "smartvm/dom0/config/XlDiskSpec.h"

#include <fmt/format.h>

#include <array>
#include <optional>
#include <vector>

namespace smartvm::dom0 {
namespace {

namespace fs = std::filesystem;

Status bad(std::string_view spec, const std::string& what) {
  return error(EINVAL, fmt::format("disk '{}': {}", spec, what));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Disk index of the letters after a vdev prefix: a..z, aa..zz, ... as Linux names them.
std::optional<uint32_t> letterIndex(std::string_view letters) {
  if (letters.empty() || letters.size() > 3) return std::nullopt;
  uint32_t n = 0;
  for (char c : letters) {
    if (c < 'a' || c > 'z') return std::nullopt;
    n = n * 26 + static_cast<uint32_t>(c - 'a' + 1);
  }
  return n - 1;
}

struct Parsed {
  std::optional<std::string> target, format, vdev, access, backendtype, devtype;
};

Status setOnce(std::optional<std::string>& field, std::string_view name, std::string_view value,
               std::string_view spec) {
  if (field) return bad(spec, fmt::format("{} given twice", name));
  field = std::string(value);
  return Status::ok();
}

/// Legacy `<prefix>:<path>` targets: the prefix names the format (phy, file and
/// aio mean raw, as in xl).
std::optional<std::string> legacyFormat(std::string_view& target) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kPrefixes = {{
      {"tap:aio:", "raw"},
      {"tap:qcow2:", "qcow2"},
      {"tap2:aio:", "raw"},
      {"phy:", "raw"},
      {"file:", "raw"},
      {"aio:", "raw"},
      {"raw:", "raw"},
      {"qcow2:", "qcow2"},
  }};
  for (const auto& [prefix, format] : kPrefixes) {
    if (target.substr(0, prefix.size()) == prefix) {
      target.remove_prefix(prefix.size());
      return std::string(format);
    }
  }
  return std::nullopt;
}

}  // namespace

Result<uint32_t> XlDiskSpec::deviceNumber(std::string_view vdev) {
  auto fail = [&] {
    return error(EINVAL, fmt::format("vdev '{}' is not a disk name (xvda, xvdb, ..., hda..hdd, sda..sdp)", vdev));
  };
  if (vdev.substr(0, 3) == "xvd") {
    const auto disk = letterIndex(vdev.substr(3));
    if (!disk || *disk >= (1u << 20)) return fail();
    if (*disk < 16) return (202u << 8) | (*disk << 4);
    return (1u << 28) | (*disk << 8);
  }
  if (vdev.size() == 3 && vdev.substr(0, 2) == "hd") {
    const auto disk = letterIndex(vdev.substr(2));
    if (!disk || *disk > 3) return fail();
    return ((*disk < 2 ? 3u : 22u) << 8) | ((*disk % 2) << 6);
  }
  if (vdev.size() == 3 && vdev.substr(0, 2) == "sd") {
    const auto disk = letterIndex(vdev.substr(2));
    if (!disk || *disk > 15) return fail();
    return (8u << 8) | (*disk << 4);
  }
  return fail();
}

Result<v1::DiskSpec> XlDiskSpec::parse(std::string_view spec, const fs::path& baseDir) {
  Parsed p;
  std::vector<std::string_view> positional;
  std::string_view rest = spec;
  while (!rest.empty()) {
    const std::string_view lead = trim(rest);
    if (lead.substr(0, 7) == "target=") {  // takes the rest of the spec, commas and all
      SMARTVM_TRY(setOnce(p.target, "target", lead.substr(7), spec));
      break;
    }
    const size_t comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) {
      positional.push_back(item);  // `,,xvda` leaves a positional slot empty
      continue;
    }
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      // Bare words that xl accepts as flags.
      if (item == "discard" || item == "no-discard" || item == "direct-io-safe") continue;
      if (item == "cdrom") return bad(spec, "CD-ROM devices are not supported");
      positional.push_back(item);
      continue;
    }
    const std::string_view key = trim(item.substr(0, eq));
    const std::string_view value = trim(item.substr(eq + 1));
    if (key == "format") {
      SMARTVM_TRY(setOnce(p.format, key, value, spec));
    } else if (key == "vdev") {
      SMARTVM_TRY(setOnce(p.vdev, key, value, spec));
    } else if (key == "access") {
      SMARTVM_TRY(setOnce(p.access, key, value, spec));
    } else if (key == "backendtype") {
      SMARTVM_TRY(setOnce(p.backendtype, key, value, spec));
    } else if (key == "devtype") {
      SMARTVM_TRY(setOnce(p.devtype, key, value, spec));
    } else if (key == "backend") {
      if (value != "0" && value != "Domain-0") return bad(spec, "only domain 0 serves disks (backend=0)");
    } else if (key == "script" || key == "specification" || key.substr(0, 7) == "colo-") {
      return bad(spec, fmt::format("'{}' is not supported", key));
    } else {
      return bad(spec, fmt::format("unknown parameter '{}'", key));
    }
  }

  // Positionals fill target, format, vdev, access in that order; a legacy
  // prefixed target (`phy:/dev/x,xvda,w`) has no format slot.
  std::array<std::optional<std::string>*, 4> slots = {&p.target, &p.format, &p.vdev, &p.access};
  size_t slot = 0;
  for (size_t i = 0; i < positional.size(); ++i) {
    std::string_view v = positional[i];
    if (slot == 0 && !v.empty()) {
      if (auto f = legacyFormat(v)) {
        SMARTVM_TRY(setOnce(p.target, "target", v, spec));
        if (p.format && *p.format != *f) return bad(spec, "the target's prefix and format= disagree");
        p.format = *f;
        slot = 2;
        continue;
      }
    }
    while (slot < slots.size() && slots[slot]->has_value()) ++slot;  // "so-far-unspecified" slots only
    if (slot >= slots.size()) return bad(spec, fmt::format("too many positional parameters at '{}'", v));
    if (!v.empty()) {
      const std::array<std::string_view, 4> names = {"target", "format", "vdev", "access"};
      SMARTVM_TRY(setOnce(*slots[slot], names[slot], v, spec));
    }
    ++slot;
  }

  if (p.devtype && *p.devtype != "disk") return bad(spec, fmt::format("devtype '{}' is not supported", *p.devtype));
  if (p.backendtype && *p.backendtype != "qdisk") {
    return bad(spec, fmt::format("backendtype '{}' is not supported: disks are served by qemu-storage-daemon (qdisk)",
                                 *p.backendtype));
  }
  if (!p.target || p.target->empty()) return bad(spec, "no target (the image path)");
  if (!p.vdev || p.vdev->empty()) return bad(spec, "no vdev (xvda, xvdb, ...)");
  SMARTVM_TRY(deviceNumber(*p.vdev).status());

  v1::DiskSpec out;
  fs::path target(*p.target);
  if (target.is_relative()) target = baseDir / target;
  out.set_target(target.lexically_normal().string());
  const std::string format = p.format.value_or("raw");
  if (format == "qcow" || format == "vhd" || format == "qed") {
    return bad(spec, fmt::format("format '{}' is not supported (raw or qcow2)", format));
  }
  if (format != "raw" && format != "qcow2") return bad(spec, fmt::format("unknown format '{}' (raw or qcow2)", format));
  out.set_format(format);
  out.set_vdev(*p.vdev);
  const std::string access = p.access.value_or("rw");
  if (access == "r" || access == "ro") {
    out.set_read_only(true);
  } else if (access != "w" && access != "rw") {
    return bad(spec, fmt::format("access '{}' is not ro or rw", access));
  }
  return out;
}

std::string XlDiskSpec::format(const v1::DiskSpec& disk) {
  return fmt::format("format={}, vdev={}, access={}, target={}", disk.format(), disk.vdev(),
                     disk.read_only() ? "ro" : "rw", disk.target());
}

}  // namespace smartvm::dom0
