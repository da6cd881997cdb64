// Console output: the Xen console ring once HVM_PARAM_CONSOLE_PFN/_EVTCHN
// name one (kernel/ConsoleRing.h), else HYPERVISOR_console_io(CONSOLEIO_write).
#pragma once
#include "lib/Format.h"

namespace console {

/// Writes raw bytes; does nothing before the hypercall page is installed.
void write(Str text);

/// Writes text followed by a newline, in one piece.
void print(Str text);
void print(const Line& line);

/// Waits (bounded) until the console ring's back end has taken all output.
void flush();

}  // namespace console
