#pragma once
// A VM exit decoded out of KVM's kvm_run, so exit handlers and their tests
// never touch kvm_run. Response fields (I/O-in data, MMIO-read data, MSR data
// and error) point back into the backend's buffer; handlers write them there.
#include <cstdint>

namespace smartvm::hv {

enum class ExitReason : uint8_t {
  Io,
  Mmio,
  MsrRead,
  MsrWrite,
  Hlt,
  Shutdown,       ///< triple fault
  InternalError,  ///< KVM could not emulate or deliver
  FailEntry,      ///< VM entry failed (bad guest state)
  Interrupted,    ///< KVM_RUN returned EINTR: a kick, the normal preemption path
  Unknown,        ///< an exit reason Smart-VM does not handle
  Count
};

const char* exitReasonName(ExitReason r);

struct IoExit {
  uint16_t port;
  uint8_t size;    ///< 1, 2 or 4 bytes per access
  bool in;
  uint32_t count;  ///< > 1 for rep ins/outs
  uint8_t* data;   ///< count * size bytes; handlers fill it for `in`
};

struct MmioExit {
  uint64_t addr;
  uint32_t len;    ///< 1..8
  bool write;
  uint8_t* data;   ///< 8 bytes; handlers fill it for reads
};

struct MsrExit {
  uint32_t index;
  uint32_t reason;  ///< KVM_MSR_EXIT_REASON_*
  uint64_t* data;   ///< value written, or where to put the value read
  uint8_t* error;   ///< set to 1 to inject #GP
};

struct InternalErrorExit {
  uint32_t suberror;
  uint32_t ndata;
  uint64_t data[16];
};

struct VcpuExit {
  ExitReason reason = ExitReason::Unknown;
  uint32_t rawReason = 0;  ///< KVM_EXIT_* as reported
  IoExit io{};
  MmioExit mmio{};
  MsrExit msr{};
  InternalErrorExit internal{};
  uint64_t failEntryReason = 0;
};

}  // namespace smartvm::hv
