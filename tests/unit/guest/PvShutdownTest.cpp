// The pvcontrol workload's reading of control/shutdown values, checked
// against Linux's drivers/xen/manage.c: which words it honours, with which
// SCHEDOP_shutdown reason, and which it leaves unacknowledged.
#include <gtest/gtest.h>
#include <xen/sched.h>

#include <cstring>
#include <string>

#include "lib/PvShutdown.h"

namespace {

using pvshutdown::Request;

Request parse(const std::string& s) { return pvshutdown::parse(Str(s.data(), s.size())); }

TEST(PvShutdown, HonouredCommandsMapToTheirShutdownReasons) {
  EXPECT_EQ(parse("poweroff"), Request::Poweroff);
  EXPECT_EQ(parse("halt"), Request::Halt);
  EXPECT_EQ(parse("reboot"), Request::Reboot);
  EXPECT_EQ(pvshutdown::reason(Request::Poweroff), SHUTDOWN_poweroff);
  EXPECT_EQ(pvshutdown::reason(Request::Halt), SHUTDOWN_poweroff) << "Linux's halt handler powers off";
  EXPECT_EQ(pvshutdown::reason(Request::Reboot), SHUTDOWN_reboot);
  for (Request r : {Request::Poweroff, Request::Halt, Request::Reboot}) EXPECT_TRUE(pvshutdown::acknowledged(r));
  EXPECT_STREQ(pvshutdown::name(Request::Reboot), "reboot");
}

TEST(PvShutdown, EmptyValueAsksNothing) {
  EXPECT_EQ(parse(""), Request::None);
  EXPECT_FALSE(pvshutdown::acknowledged(Request::None));
  EXPECT_EQ(pvshutdown::reason(Request::None), -1);
}

TEST(PvShutdown, UnknownAndNearMissValuesAreUnsupportedAndNotAcknowledged) {
  for (const char* v : {"suspend", "crash", "POWEROFF", "poweroff ", "power", "poweroffx", "reboot\n"}) {
    EXPECT_EQ(parse(v), Request::Unsupported) << v;
  }
  // An embedded NUL is not the end of the word.
  EXPECT_EQ(parse(std::string("halt\0", 5)), Request::Unsupported);
  EXPECT_FALSE(pvshutdown::acknowledged(Request::Unsupported));
  EXPECT_EQ(pvshutdown::reason(Request::Unsupported), -1);
  EXPECT_STREQ(pvshutdown::name(Request::Unsupported), "unsupported");
}

TEST(PvShutdown, HostileBytesCannotForgeConsoleLines) {
  char v[] = "x\nRESULT pvcontrol\r\x01\x7f\xff ok";
  const size_t len = std::strlen(v);
  EXPECT_EQ(pvshutdown::makePrintable(v, len), len);
  EXPECT_STREQ(v, "x?RESULT pvcontrol???? ok");
}

}  // namespace
