#pragma once
// Xen's public event channel headers, made safe to include from C++: they
// assume <stdint.h> types are already declared.
#include <cstdint>

#include <xen/xen.h>
#include <xen/event_channel.h>
