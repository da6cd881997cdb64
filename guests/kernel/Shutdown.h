// Ending the domain: SCHEDOP_shutdown with poweroff or crash.
#pragma once
#include "lib/Format.h"

/// SHUTDOWN_poweroff: the workload succeeded.
[[noreturn]] void powerOff();

/// SHUTDOWN_crash without a message.
[[noreturn]] void crash();

/// Prints "FAIL <reason>" and crashes.
[[noreturn]] void fail(Str reason);
[[noreturn]] void fail(const Line& reason);
