// xl's CPU-list syntax: terms, ranges, exclusions, errors naming the term.
#include <gtest/gtest.h>

#include "smartvm/sched/CpuList.h"

namespace smartvm::sched {
namespace {

std::string roundTrip(std::string_view text, unsigned n) {
  auto m = parseCpuList(text, n);
  return m.isOk() ? formatCpuList(*m, n) : "error: " + m.status().message();
}

TEST(CpuList, TermsRangesAndExclusionsApplyLeftToRight) {
  EXPECT_EQ(roundTrip("3", 8), "3");
  EXPECT_EQ(roundTrip("0-3", 8), "0-3");
  EXPECT_EQ(roundTrip("0-2,5,7", 8), "0-2,5,7");
  EXPECT_EQ(roundTrip("0-7,^3", 8), "0-2,4-7");
  EXPECT_EQ(roundTrip("all,^2-3", 8), "0-1,4-7");
  EXPECT_EQ(roundTrip("^1,1", 4), "1") << "an exclusion before the CPU is undone";
  EXPECT_EQ(roundTrip("all", 4), "all");
  EXPECT_EQ(roundTrip("0-3", 4), "all");
  EXPECT_EQ(roundTrip(" 1 , 2 ", 4), "1-2");
}

TEST(CpuList, BadListsAreEinvalNamingTheTerm) {
  auto bad = [](std::string_view text, unsigned n) {
    auto m = parseCpuList(text, n);
    EXPECT_FALSE(m.isOk()) << text;
    if (!m.isOk()) {
      EXPECT_EQ(m.status().code(), EINVAL);
    }
    return m.isOk() ? std::string() : m.status().message();
  };
  EXPECT_EQ(bad("4", 4), "CPU 4 in '4' does not exist (CPUs 0..3)");
  EXPECT_EQ(bad("3-1", 4), "bad CPU range '3-1': 1 is below 3");
  EXPECT_EQ(bad("x", 4), "bad CPU list term 'x': expected N, N-M or ^N");
  EXPECT_EQ(bad("1,,2", 4), "empty term in CPU list '1,,2'");
  EXPECT_EQ(bad("", 4), "empty term in CPU list ''");
  EXPECT_EQ(bad("0-3,^0-3", 4), "CPU list '0-3,^0-3' names no CPU");
  EXPECT_EQ(bad("nodes:0", 4), "'nodes:0': NUMA node lists are not supported");
  EXPECT_EQ(bad("-1", 4), "bad CPU list term '-1': expected N, N-M or ^N");
  EXPECT_EQ(bad("99999999999999999999", 4), "bad CPU list term '99999999999999999999': expected N, N-M or ^N");
}

TEST(CpuList, FormatsEmptyAndSparseMasks) {
  EXPECT_EQ(formatCpuList(CpuMask(), 4), "");
  CpuMask m;
  m.set(0);
  m.set(2);
  m.set(9);  // beyond the count: not shown
  EXPECT_EQ(formatCpuList(m, 4), "0,2");
}

}  // namespace
}  // namespace smartvm::sched
