// What a value of the toolstack's control/shutdown node asks the guest to do,
// as Linux's drivers/xen/manage.c reads it (its shutdown_handlers table):
// "poweroff" and "halt" power off, "reboot" reboots; "" (the node cleared)
// asks nothing; anything else ("suspend", which this guest cannot do, or
// garbage) is ignored and not acknowledged. Pure logic, unit tested on the host.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "lib/String.h"

namespace pvshutdown {

enum class Request { None, Poweroff, Halt, Reboot, Unsupported };

Request parse(Str value);

/// The SCHEDOP_shutdown reason for a request the guest honours
/// (SHUTDOWN_poweroff for Poweroff and Halt, SHUTDOWN_reboot for Reboot); -1 otherwise.
int reason(Request r);

/// True for the requests the guest acknowledges by clearing the node: only
/// those it acts on, as Linux does, so the toolstack's wait for an
/// acknowledgement ends in a timeout for the rest.
bool acknowledged(Request r);

/// "none", "poweroff", "halt", "reboot" or "unsupported".
const char* name(Request r);

/// Replaces every byte outside printable ASCII with '?', so a hostile value
/// cannot forge console lines; returns len.
size_t makePrintable(char* buf, size_t len);

}  // namespace pvshutdown
