// Console output through HYPERVISOR_console_io(CONSOLEIO_write).
#pragma once
#include "lib/Format.h"

namespace console {

/// Writes raw bytes; does nothing before the hypercall page is installed.
void write(Str text);

/// Writes text followed by a newline, in one hypercall.
void print(Str text);
void print(const Line& line);

}  // namespace console
