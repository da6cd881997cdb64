#include "FakeBackend.h"

namespace smartvm::hv::test {

VcpuExit& FakeVcpu::run() {
  runs.fetch_add(1);
  std::unique_lock lk(m_);
  cv_.wait(lk, [this] { return kicked_ || !queue_.empty(); });
  if (!queue_.empty()) {
    current_ = queue_.front();
    queue_.pop_front();
    return current_;
  }
  kicked_ = false;  // like immediate_exit: one kick, one Interrupted
  current_ = VcpuExit{};
  current_.reason = ExitReason::Interrupted;
  return current_;
}

void FakeVcpu::kick() {
  {
    std::lock_guard lk(m_);
    kicked_ = true;
  }
  cv_.notify_all();
}

void FakeVcpu::script(const VcpuExit& e) {
  {
    std::lock_guard lk(m_);
    queue_.push_back(e);
  }
  cv_.notify_all();
}

Status FakeVm::setMemorySlot(uint32_t slot, uint64_t gpa, uint64_t size, void* hva) {
  std::lock_guard lk(rec_->m);
  rec_->slotCalls.push_back(slot);
  if (size == 0) rec_->slots.erase(slot);
  else rec_->slots[slot] = {gpa, size, hva};
  return Status::ok();
}

Status FakeVm::signalMsi(uint32_t apicId, uint8_t vector) {
  std::lock_guard lk(rec_->m);
  rec_->msis.emplace_back(apicId, vector);
  return Status::ok();
}

Status FakeVm::createIrqchip() {
  std::lock_guard lk(rec_->m);
  rec_->irqchip = true;
  rec_->irqchipBeforeSlots = rec_->slotCalls.empty();
  return Status::ok();
}

Status FakeVm::trapMsrs(const std::vector<uint32_t>& msrs) {
  std::lock_guard lk(rec_->m);
  rec_->trappedMsrs.insert(rec_->trappedMsrs.end(), msrs.begin(), msrs.end());
  return Status::ok();
}

Result<std::unique_ptr<VcpuBackend>> FakeVm::createVcpu(uint32_t id) {
  {
    std::lock_guard lk(rec_->m);
    rec_->vcpuIds.push_back(id);
  }
  auto v = std::make_unique<FakeVcpu>(id);
  if (platform_.onCreateVcpu) platform_.onCreateVcpu(*v);
  return std::unique_ptr<VcpuBackend>(std::move(v));
}

namespace {
kvm_cpuid_entry2 entry(uint32_t fn, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  kvm_cpuid_entry2 e{};
  e.function = fn;
  e.eax = a;
  e.ebx = b;
  e.ecx = c;
  e.edx = d;
  return e;
}
}  // namespace

std::vector<kvm_cpuid_entry2> fakeHostCpuid() {
  return {
      entry(0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69),  // "GenuineIntel"
      entry(1, 0x000906ea, 0xab010800, 0x7ffafbff, 0xbfebfbff),
      entry(0x40000000, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d),  // "KVMKVMKVM\0\0\0"
      entry(0x40000001, 0x01007afb, 0, 0, 0),
      entry(0x80000000, 0x80000008, 0, 0, 0),
  };
}

FakePlatform::FakePlatform() : cpuid_(fakeHostCpuid()) {}

Result<std::unique_ptr<VmBackend>> FakePlatform::createVm() {
  auto rec = std::make_shared<FakeVmRecord>();
  {
    std::lock_guard lk(m_);
    vms_.push_back(rec);
  }
  return std::unique_ptr<VmBackend>(std::make_unique<FakeVm>(*this, rec));
}

}  // namespace smartvm::hv::test
