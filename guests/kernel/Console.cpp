#include "kernel/Console.h"

#include "kernel/Hypercall.h"
#include "kernel/Xen.h"

namespace console {

void write(Str text) {
  if (!xen::ready() || text.size == 0) return;
  xen::consoleWrite(text.data, text.size);
}

void print(Str text) {
  char buf[Line::kCapacity + 1];
  size_t n = text.size < Line::kCapacity ? text.size : Line::kCapacity;
  memcpy(buf, text.data, n);
  buf[n] = '\n';
  write(Str(buf, n + 1));
}

void print(const Line& line) { print(line.view()); }

}  // namespace console
