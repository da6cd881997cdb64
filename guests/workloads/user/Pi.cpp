// pi: midpoint-rule integral of 4 / (1 + x^2) over [0, 1], at CPL3.
#include "workloads/Workloads.h"

namespace {

// Summing in blocks keeps the running total's rounding error far below the
// 10 printed decimals (a plain running sum of 2e7 terms would not).
constexpr uint64_t kBlock = 4096;
constexpr unsigned kDecimals = 10;

double blockSum(uint64_t begin, uint64_t end, double h) {
  double sum = 0.0;
  for (uint64_t i = begin; i < end; ++i) {
    double x = (static_cast<double>(i) + 0.5) * h;
    sum += 4.0 / (1.0 + x * x);
  }
  return sum;
}

Partial slice(const Job& job, uint32_t, uint64_t begin, uint64_t end) {
  const double h = 1.0 / static_cast<double>(job.units);
  double total = 0.0;
  for (uint64_t b = begin; b < end; b += kBlock) total += blockSum(b, end - b > kBlock ? b + kBlock : end, h);
  Partial p{};
  p.f[0] = total;
  return p;
}

Partial combine(const Partial& a, const Partial& b) {
  Partial p{};
  p.f[0] = a.f[0] + b.f[0];
  return p;
}

void report(Job& job, const Partial& total) {
  double pi = total.f[0] / static_cast<double>(job.units);
  job.result.str("RESULT pi value=");
  appendFixed(job.result, pi, kDecimals);
  job.result.str(" steps=").dec(job.units);
}

}  // namespace

extern const SlicedWorkload kPiWorkload = {
    {"steps", 20000000}, {{nullptr, 0}, {nullptr, 0}}, 0, 1, slice, combine, report,
};
