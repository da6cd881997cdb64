// Ending the domain: SCHEDOP_shutdown with poweroff, crash or another reason.
#pragma once
#include "lib/Format.h"

/// SHUTDOWN_poweroff: the workload succeeded.
[[noreturn]] void powerOff();

/// SHUTDOWN_crash without a message.
[[noreturn]] void crash();

/// SCHEDOP_shutdown with any reason (SHUTDOWN_reboot: the toolstack asked for a reboot).
[[noreturn]] void shutdownWith(unsigned reason);

/// Prints "FAIL <reason>" and crashes.
[[noreturn]] void fail(Str reason);
[[noreturn]] void fail(const Line& reason);
