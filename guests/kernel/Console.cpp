#include "kernel/Console.h"

#include "kernel/ConsoleRing.h"
#include "kernel/Hypercall.h"
#include "kernel/Xen.h"

namespace console {

void write(Str text) {
  if (!xen::ready() || text.size == 0) return;
  // The ring once it is up (kernel/ConsoleRing.h); what it cannot take goes
  // through console_io, so no output is ever lost.
  const size_t done = consolering::write(text);
  if (done < text.size) xen::consoleWrite(text.data + done, text.size - done);
}

void print(Str text) {
  char buf[Line::kCapacity + 1];
  size_t n = text.size < Line::kCapacity ? text.size : Line::kCapacity;
  memcpy(buf, text.data, n);
  buf[n] = '\n';
  write(Str(buf, n + 1));
}

void print(const Line& line) { print(line.view()); }

void flush() { consolering::flush(); }

}  // namespace console
