#include "smartvm/hv/devices/XenConsole.h"

#include <string>

#include "smartvm/hv/RateLimitedLog.h"

namespace smartvm::hv {

Result<std::unique_ptr<XenConsole>> XenConsole::attach(Dom0EventChannels& dom0, uint16_t domid, uint32_t guestPort,
                                                       xencons_interface* page,
                                                       std::shared_ptr<ConsoleBuffer> history, spdlog::logger& log) {
  if (page == nullptr || !history) return error(EINVAL, "console ring without a page or history");
  std::unique_ptr<XenConsole> c(new XenConsole(dom0, page, std::move(history), log));
  // The callback holds a raw pointer: the destructor closes the port, which
  // waits out a drain in flight, before the object goes.
  XenConsole* self = c.get();
  SMARTVM_ASSIGN_OR_RETURN(c->dom0Port_, dom0.bindInternal(domid, guestPort, [self] { self->drain(); }));
  c->bound_ = true;
  return c;
}

XenConsole::~XenConsole() {
  if (bound_) dom0_.closeInternal(dom0Port_);
  flush();
}

void XenConsole::noteBogus(uint64_t before, const char* half) {
  if (ring_.bogusIndexes() == before) return;
  if (shouldLog(bogusLogged_)) {
    log_.warn("console ring: bogus {} indexes (more than a ring apart); ignored until the guest fixes them", half);
  }
}

size_t XenConsole::takeOutput() {
  std::string out;
  {
    std::lock_guard lk(m_);
    const uint64_t before = ring_.bogusIndexes();
    ring_.drainOutput(out);
    noteBogus(before, "out");
    // Appended under m_: two drains (doorbell thread, flush) keep the ring's order.
    if (!out.empty()) history_->append(out.data(), out.size());
  }
  return out.size();
}

void XenConsole::drain() {
  // xenconsoled tells the guest its output was taken: room it may be waiting for.
  if (takeOutput() != 0) (void)dom0_.sendInternal(dom0Port_);
}

void XenConsole::flush() { (void)takeOutput(); }

size_t XenConsole::write(std::string_view data) {
  size_t n = 0;
  {
    std::lock_guard lk(m_);
    const uint64_t before = ring_.bogusIndexes();
    n = ring_.pushInput(data.data(), data.size());
    noteBogus(before, "in");
  }
  if (n != 0) (void)dom0_.sendInternal(dom0Port_);
  return n;
}

uint64_t XenConsole::bogusIndexes() const {
  std::lock_guard lk(m_);
  return ring_.bogusIndexes();
}

}  // namespace smartvm::hv
