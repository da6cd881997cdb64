// dot: integer dot product of a[i] = i % 1000 and b[i] = (i * 7) % 1000,
// uint64 with wrapping arithmetic, at CPL3. Phase 0 fills the vectors in
// RAM, phase 1 multiplies and sums.
#include "workloads/Workloads.h"

namespace {

constexpr uint64_t kModulus = 1000;
constexpr uint64_t kFactor = 7;

uint64_t* vectorA(const Job& job) { return static_cast<uint64_t*>(job.memory); }
uint64_t* vectorB(const Job& job) { return vectorA(job) + job.units; }

void fill(const Job& job, uint64_t begin, uint64_t end) {
  uint64_t* a = vectorA(job);
  uint64_t* b = vectorB(job);
  for (uint64_t i = begin; i < end; ++i) {
    a[i] = i % kModulus;
    b[i] = (i * kFactor) % kModulus;
  }
}

uint64_t multiply(const Job& job, uint64_t begin, uint64_t end) {
  const uint64_t* a = vectorA(job);
  const uint64_t* b = vectorB(job);
  uint64_t sum = 0;
  for (uint64_t i = begin; i < end; ++i) sum += a[i] * b[i];
  return sum;
}

Partial slice(const Job& job, uint32_t phase, uint64_t begin, uint64_t end) {
  Partial p{};
  if (phase == 0)
    fill(job, begin, end);
  else
    p.u[0] = multiply(job, begin, end);
  return p;
}

Partial combine(const Partial& a, const Partial& b) {
  Partial p{};
  p.u[0] = a.u[0] + b.u[0];
  return p;
}

void report(Job& job, const Partial& total) {
  job.result.str("RESULT dot value=").dec(total.u[0]).str(" n=").dec(job.units);
}

}  // namespace

extern const SlicedWorkload kDotWorkload = {
    {"n", 4000000}, {{nullptr, 0}, {nullptr, 0}}, 2 * sizeof(uint64_t), 2, slice, combine, report,
};
