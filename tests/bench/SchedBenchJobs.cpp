// smartvm-sched-bench: job sizes and host-side reference answers. The host
// recomputes each job the way workloads/user/ParJobs.cpp does (same operation
// order, no FMA contraction), so the guest's value= must match exactly.
#include "SchedBenchJobs.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "SchedBenchTypes.h"

namespace smartvm::schedbench {
namespace {

// Sizes are per task: four tasks of a quarter of the earlier one-task size, so
// `full` still makes one VM's parallel part (all four tasks) take roughly
// 0.5-2 s on this host (2 vCPUs on 2 idle pCPUs; measured with one task of the
// whole: dot 1.0 s, pi 1.1 s, rc4 1.0 s, nbody 1.1 s) and the two serial tasks
// ~0.3 s; `quick` a few tens of ms (the ctest smoke run). Layers per task are
// unchanged, so a layer is as long as before. dot is capped by guest RAM (16
// bytes per element): it stays short, so it is cut into many layers and mostly
// measures the barriers.
const std::vector<JobSpec> kJobs = {
    {"dot", "n", {1000000, 250, 60000000}, {125000, 10, 2000000}, 96, 25.61},
    {"pi", "steps", {100000000, 25, 60000000}, {5000000, 5, 4000000}, 64, 23.06},
    {"rc4", "keys", {250000, 25, 60000000}, {16384, 5, 4000000}, 64, 28.60},
    {"nbody", "bodies", {512, 100, 60000000}, {256, 5, 4000000}, 64, 26.27},
};

/// The guest's appendFixed (guests/lib/FormatDouble.cpp), digit for digit.
std::string fixedLike(double v, unsigned decimals) {
  if (v != v) return "nan";
  std::string out;
  if (v < 0) {
    out = "-";
    v = -v;
  }
  uint64_t scale = 1;
  for (unsigned i = 0; i < decimals; ++i) scale *= 10;
  if (v >= 9.0e18 / static_cast<double>(scale)) return out + "inf";
  uint64_t whole = static_cast<uint64_t>(v);
  uint64_t frac = static_cast<uint64_t>((v - static_cast<double>(whole)) * static_cast<double>(scale) + 0.5);
  if (frac >= scale) {
    whole += 1;
    frac -= scale;
  }
  char b[64];
  std::snprintf(b, sizeof b, "%llu.%0*llu", static_cast<unsigned long long>(whole), static_cast<int>(decimals),
                static_cast<unsigned long long>(frac));
  return out + b;
}

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string hexOf(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

std::string dotAnswer(uint64_t n) {
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; ++i) sum += (i % 1000) * ((i * 7) % 1000);
  return std::to_string(sum);
}

__attribute__((optimize("fp-contract=off"))) std::string piAnswer(uint64_t steps) {
  constexpr uint64_t kBlock = 4096;
  const double h = 1.0 / static_cast<double>(steps);
  double total = 0.0;
  for (uint64_t b = 0; b * kBlock < steps; ++b) {
    const uint64_t end = std::min((b + 1) * kBlock, steps);
    double sum = 0.0;
    for (uint64_t i = b * kBlock; i < end; ++i) {
      const double x = (static_cast<double>(i) + 0.5) * h;
      sum += 4.0 / (1.0 + x * x);
    }
    total += sum;
  }
  return fixedLike(total / static_cast<double>(steps), 10);
}

std::string rc4Answer(uint64_t keys) {
  uint64_t x = kRc4Seed;
  return hexOf(splitmix64(x) % keys);
}

__attribute__((optimize("fp-contract=off"))) std::string nbodyAnswer(uint64_t n, uint32_t layers) {
  uint64_t x = kNbodySeed;
  auto unitRandom = [&x] { return static_cast<double>(splitmix64(x) >> 11) * (2.0 / 9007199254740992.0) - 1.0; };
  std::vector<double> pos[2] = {std::vector<double>(3 * n), std::vector<double>(3 * n)};
  std::vector<double> vel(3 * n);
  for (auto& p : pos[0]) p = unitRandom();
  for (auto& v : vel) v = 0.1 * unitRandom();
  constexpr double kDt = 0.001, kSoftening2 = 0.01;
  const double mass = 1.0 / static_cast<double>(n);
  for (uint32_t layer = 0; layer < layers; ++layer) {
    const std::vector<double>& p = pos[layer % 2];
    std::vector<double>& q = pos[(layer + 1) % 2];
    for (uint64_t i = 0; i < n; ++i) {
      const double xi = p[3 * i], yi = p[3 * i + 1], zi = p[3 * i + 2];
      double ax = 0.0, ay = 0.0, az = 0.0;
      for (uint64_t j = 0; j < n; ++j) {
        const double dx = p[3 * j] - xi, dy = p[3 * j + 1] - yi, dz = p[3 * j + 2] - zi;
        const double r2 = dx * dx + dy * dy + dz * dz + kSoftening2;
        const double inv = 1.0 / (r2 * std::sqrt(r2));
        ax += dx * inv;
        ay += dy * inv;
        az += dz * inv;
      }
      vel[3 * i] += kDt * mass * ax;
      vel[3 * i + 1] += kDt * mass * ay;
      vel[3 * i + 2] += kDt * mass * az;
      q[3 * i] = xi + kDt * vel[3 * i];
      q[3 * i + 1] = yi + kDt * vel[3 * i + 1];
      q[3 * i + 2] = zi + kDt * vel[3 * i + 2];
    }
  }
  const std::vector<double>& p = pos[layers % 2];
  double sum = 0.0;
  for (uint64_t i = 0; i < n; ++i) sum += std::sqrt(p[3 * i] * p[3 * i] + p[3 * i + 1] * p[3 * i + 1] + p[3 * i + 2] * p[3 * i + 2]);
  uint64_t bits;
  __builtin_memcpy(&bits, &sum, sizeof bits);
  return fixedLike(sum, 12) + " checksum_bits=" + hexOf(bits);
}

}  // namespace

const std::vector<JobSpec>& allJobs() { return kJobs; }

const JobSpec* findJob(const std::string& name) {
  for (const JobSpec& j : kJobs)
    if (j.name == name) return &j;
  return nullptr;
}

std::string AnswerChecker::expected(const JobSpec& job, uint64_t size, uint32_t layers) {
  if (job.name == "dot") return dotAnswer(size);
  if (job.name == "pi") return piAnswer(size);
  if (job.name == "rc4") return rc4Answer(size);
  if (job.name == "nbody") return nbodyAnswer(size, layers);
  return {};
}

std::string AnswerChecker::checkOne(const std::string& key, const std::string& value) {
  const auto& ref = reference_.at(key);
  if (value != ref) return "value=" + value + ", want " + ref + " (computed on the host)";
  auto first = firstSeen_.emplace(key, value).first;
  if (first->second != value) return "value=" + value + " differs from an earlier VM's " + first->second;
  return {};
}

std::string AnswerChecker::check(const JobSpec& job, const JobSize& size, const VmSample& vm) {
  const uint32_t layers = size.layersPerTask;
  const std::string key = job.name + "/" + std::to_string(size.size) + "/" + std::to_string(layers);
  std::lock_guard lk(m_);
  if (reference_.find(key) == reference_.end()) reference_.emplace(key, expected(job, size.size, layers));
  if (std::string why = checkOne(key, vm.value); !why.empty()) return "RESULT " + why;
  for (size_t t = 0; t < vm.taskValues.size(); ++t)
    if (std::string why = checkOne(key, vm.taskValues[t]); !why.empty())
      return "task " + std::to_string(t + 1) + ": " + why;
  return {};
}

}  // namespace smartvm::schedbench
