#include "smartvm/hv/DomainBoot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartvm/hv/builder/PvhBuilder.h"

namespace smartvm::hv {

Result<std::vector<uint8_t>> readFileLimited(const std::string& path, uint64_t limit, const char* what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errnoStatus(std::string("cannot open ") + what + " " + path);
  struct stat st {};
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return error(EINVAL, std::string(what) + " " + path + " is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > limit) {
    ::close(fd);
    return error(E2BIG, std::string(what) + " " + path + " is larger than " + std::to_string(limit >> 20) + " MiB");
  }
  std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = errnoStatus(std::string("reading ") + what + " " + path);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return data;
}

Result<PvhEntry> loadPvhKernel(GuestRam& ram, const smartvm::v1::DomainConfig& config) {
  if (config.kernel().empty()) return error(EINVAL, "no kernel given");
  SMARTVM_ASSIGN_OR_RETURN(std::vector<uint8_t> kernel, readFileLimited(config.kernel(), kMaxImageBytes, "kernel"));
  std::vector<uint8_t> ramdisk;
  if (!config.ramdisk().empty()) {
    SMARTVM_ASSIGN_OR_RETURN(ramdisk, readFileLimited(config.ramdisk(), ram.ramBytes(), "ramdisk"));
  }
  PvhBuildParams params{kernel, ramdisk, config.cmdline()};
  auto built = buildPvh(ram, params);
  if (!built) return error(built.status().code(), config.kernel() + ": " + built.status().message());
  return PvhEntry{built->entry, built->startInfoGpa};
}

Status setPvhBootState(VcpuBackend& vcpu, const PvhEntry& entry) {
  SMARTVM_ASSIGN_OR_RETURN(kvm_sregs s, vcpu.fetchSregs());
  kvm_segment code{};
  code.base = 0;
  code.limit = 0xffffffff;
  code.selector = 0x08;
  code.type = 0xb;  // execute/read, accessed
  code.present = 1;
  code.db = 1;
  code.s = 1;
  code.g = 1;
  kvm_segment data = code;
  data.selector = 0x10;
  data.type = 0x3;  // read/write, accessed
  s.cs = code;
  s.ds = s.es = s.fs = s.gs = s.ss = data;
  s.tr = {};
  s.tr.limit = 0x67;
  s.tr.selector = 0x18;
  s.tr.type = 0xb;  // 32-bit busy TSS
  s.tr.present = 1;
  s.cr0 = 0x11;  // PE | ET; paging off
  s.cr4 = 0;
  s.efer = 0;
  SMARTVM_TRY(vcpu.setSregs(s));
  kvm_regs r{};
  r.rip = entry.entry;
  r.rbx = entry.startInfo;
  r.rflags = 0x2;  // interrupts off
  return vcpu.setRegs(r);
}

}  // namespace smartvm::hv
