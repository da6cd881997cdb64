// The jobs of workload=par, at CPL3 (native speed, SSE2). Each job's answer
// is independent of the number of vCPUs and of layers: integer sums are exact,
// floating point sums run in a fixed order whoever computes the terms.
#include "workloads/Parallel.h"

namespace par {
namespace {

/// The range of `units` that vCPU cpu handles in layer `layer`: the units are
/// cut into `layers` consecutive chunks, each chunk into `vcpus` shares.
struct Range {
  uint64_t begin, end;
};

Range share(const State& s, uint32_t cpu, uint32_t layer) {
  const uint64_t c0 = splitStart(s.units, layer, s.layers);
  const uint64_t c1 = splitStart(s.units, layer + 1, s.layers);
  return {c0 + splitStart(c1 - c0, cpu, s.vcpus), c0 + splitStart(c1 - c0, cpu + 1, s.vcpus)};
}

void clearParts(State& s, uint64_t u) {
  for (CpuPart& p : s.part) {
    p.u = u;
    p.f = 0.0;
  }
}

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// A double in [-1, 1) from 53 random bits.
double unitRandom(uint64_t& x) {
  return static_cast<double>(splitmix64(x) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

double squareRoot(double v) {
  double r;
  asm("sqrtsd %1, %0" : "=x"(r) : "x"(v));
  return r;
}

// ---- pi: midpoint rule for 4 / (1 + x^2) on [0, 1]; units = blocks of kPiBlock steps.

double piBlock(uint64_t begin, uint64_t end, double h) {
  double sum = 0.0;
  for (uint64_t i = begin; i < end; ++i) {
    const double x = (static_cast<double>(i) + 0.5) * h;
    sum += 4.0 / (1.0 + x * x);
  }
  return sum;
}

double* piBlocks(const State& s) { return static_cast<double*>(s.memory); }

void piSetup(State& s) { s.units = (s.size + kPiBlock - 1) / kPiBlock; }

// Every block is rewritten by each task; the parts are cleared for uniformity.
void piStart(State& s) { clearParts(s, 0); }

void piWork(State& s, uint32_t cpu, uint32_t layer) {
  const Range r = share(s, cpu, layer);
  const double h = 1.0 / static_cast<double>(s.size);
  double* blocks = piBlocks(s);
  for (uint64_t b = r.begin; b < r.end; ++b) {
    const uint64_t end = (b + 1) * kPiBlock;
    blocks[b] = piBlock(b * kPiBlock, end < s.size ? end : s.size, h);
  }
}

void piFinish(State& s) {
  double total = 0.0;
  const double* blocks = piBlocks(s);
  for (uint64_t b = 0; b < s.units; ++b) total += blocks[b];  // block order: same for any split
  appendFixed(s.value, total / static_cast<double>(s.size), 10);
}

// ---- dot: a[i] = i % 1000, b[i] = (i * 7) % 1000, wrapping uint64 sum (as workload=dot).

uint64_t* dotA(const State& s) { return static_cast<uint64_t*>(s.memory); }
uint64_t* dotB(const State& s) { return dotA(s) + s.size; }

void dotSetup(State& s) {
  s.units = s.size;
  uint64_t* a = dotA(s);
  uint64_t* b = dotB(s);
  for (uint64_t i = 0; i < s.size; ++i) {
    a[i] = i % 1000;
    b[i] = (i * 7) % 1000;
  }
}

void dotStart(State& s) { clearParts(s, 0); }

void dotWork(State& s, uint32_t cpu, uint32_t layer) {
  const Range r = share(s, cpu, layer);
  const uint64_t* a = dotA(s);
  const uint64_t* b = dotB(s);
  uint64_t sum = 0;
  for (uint64_t i = r.begin; i < r.end; ++i) sum += a[i] * b[i];
  s.part[cpu].u += sum;
}

void dotFinish(State& s) {
  uint64_t total = 0;
  for (uint32_t c = 0; c < s.vcpus; ++c) total += s.part[c].u;
  s.value.dec(total);
}

// ---- rc4: which 3-byte key (bytes = the key number, little endian, below
// `keys`) makes RC4 encrypt kRc4Plain to the known ciphertext.

constexpr char kRc4Plain[] = "Smart-VM par rc4";  // 16 bytes
constexpr unsigned kRc4Len = 16;
constexpr unsigned kRc4Check = 8;  // keystream bytes compared per candidate

struct Rc4 {
  uint8_t s[256];
  uint8_t i = 0, j = 0;

  explicit Rc4(uint64_t key) {
    const uint8_t k[3] = {static_cast<uint8_t>(key), static_cast<uint8_t>(key >> 8), static_cast<uint8_t>(key >> 16)};
    for (unsigned n = 0; n < 256; ++n) s[n] = static_cast<uint8_t>(n);
    uint8_t jj = 0;
    for (unsigned n = 0; n < 256; ++n) {
      jj = static_cast<uint8_t>(jj + s[n] + k[n % 3]);
      const uint8_t t = s[n];
      s[n] = s[jj];
      s[jj] = t;
    }
  }
  uint8_t next() {
    i = static_cast<uint8_t>(i + 1);
    j = static_cast<uint8_t>(j + s[i]);
    const uint8_t t = s[i];
    s[i] = s[j];
    s[j] = t;
    return s[static_cast<uint8_t>(s[i] + s[j])];
  }
};

bool rc4Matches(const State& s, uint64_t key, unsigned len) {
  Rc4 rc4(key);
  for (unsigned n = 0; n < len; ++n)
    if ((rc4.next() ^ static_cast<uint8_t>(kRc4Plain[n])) != s.rc4Cipher[n]) return false;
  return true;
}

void rc4Setup(State& s) {
  s.units = s.size;
  uint64_t x = s.seed;
  s.rc4Key = splitmix64(x) % s.size;
  Rc4 rc4(s.rc4Key);
  for (unsigned n = 0; n < kRc4Len; ++n) s.rc4Cipher[n] = static_cast<uint8_t>(kRc4Plain[n]) ^ rc4.next();
}

void rc4Start(State& s) { clearParts(s, kNoKey); }

void rc4Work(State& s, uint32_t cpu, uint32_t layer) {
  const Range r = share(s, cpu, layer);
  uint64_t found = s.part[cpu].u;
  for (uint64_t k = r.begin; k < r.end; ++k) {
    if (k < found && rc4Matches(s, k, kRc4Check) && rc4Matches(s, k, kRc4Len)) found = k;
  }
  s.part[cpu].u = found;
}

void rc4Finish(State& s) {
  uint64_t key = kNoKey;
  for (uint32_t c = 0; c < s.vcpus; ++c)
    if (s.part[c].u < key) key = s.part[c].u;
  if (key == kNoKey)
    s.value.str("none");
  else
    s.value.hex(key);
}

// ---- nbody: softened gravity, unit total mass, leapfrog-like Euler steps.
// Layout: position buffers 0 and 1 (3 doubles per body each), then velocities.
// Layer l reads buffer l % 2 and writes buffer (l + 1) % 2; each body's
// acceleration sums over j = 0..N-1 in order, so its new state is the same
// whichever vCPU computes it.

constexpr double kDt = 0.001;
constexpr double kSoftening2 = 0.01;

double* nbodyPos(const State& s, uint32_t buffer) { return static_cast<double*>(s.memory) + buffer * 3 * s.size; }
double* nbodyVel(const State& s) { return static_cast<double*>(s.memory) + 6 * s.size; }

void nbodySetup(State& s) { s.units = s.size; }

// The layers move the bodies, so each task starts again from the seed's
// initial conditions (cheap next to one O(N^2) layer).
void nbodyStart(State& s) {
  uint64_t x = s.seed;
  double* p = nbodyPos(s, 0);
  double* v = nbodyVel(s);
  for (uint64_t i = 0; i < 3 * s.size; ++i) p[i] = unitRandom(x);
  for (uint64_t i = 0; i < 3 * s.size; ++i) v[i] = 0.1 * unitRandom(x);
  clearParts(s, 0);
}

void nbodyWork(State& s, uint32_t cpu, uint32_t layer) {
  const uint64_t n = s.size;
  const uint64_t begin = splitStart(n, cpu, s.vcpus);
  const uint64_t end = splitStart(n, cpu + 1, s.vcpus);
  const double* p = nbodyPos(s, layer % 2);
  double* q = nbodyPos(s, (layer + 1) % 2);
  double* v = nbodyVel(s);
  const double mass = 1.0 / static_cast<double>(n);
  for (uint64_t i = begin; i < end; ++i) {
    const double xi = p[3 * i], yi = p[3 * i + 1], zi = p[3 * i + 2];
    double ax = 0.0, ay = 0.0, az = 0.0;
    for (uint64_t j = 0; j < n; ++j) {
      const double dx = p[3 * j] - xi, dy = p[3 * j + 1] - yi, dz = p[3 * j + 2] - zi;
      const double r2 = dx * dx + dy * dy + dz * dz + kSoftening2;
      const double inv = 1.0 / (r2 * squareRoot(r2));
      ax += dx * inv;
      ay += dy * inv;
      az += dz * inv;
    }
    v[3 * i] += kDt * mass * ax;
    v[3 * i + 1] += kDt * mass * ay;
    v[3 * i + 2] += kDt * mass * az;
    q[3 * i] = xi + kDt * v[3 * i];
    q[3 * i + 1] = yi + kDt * v[3 * i + 1];
    q[3 * i + 2] = zi + kDt * v[3 * i + 2];
  }
}

void nbodyFinish(State& s) {
  const double* p = nbodyPos(s, s.layers % 2);
  double sum = 0.0;
  for (uint64_t i = 0; i < s.size; ++i)
    sum += squareRoot(p[3 * i] * p[3 * i] + p[3 * i + 1] * p[3 * i + 1] + p[3 * i + 2] * p[3 * i + 2]);
  appendFixed(s.value, sum, 12);
  uint64_t bits;
  __builtin_memcpy(&bits, &sum, sizeof bits);
  s.value.str(" checksum_bits=").hex(bits);
}

}  // namespace

const Job kJobs[] = {
    {"dot", "n", 1000000, dotSetup, dotStart, dotWork, dotFinish},
    {"pi", "steps", 20000000, piSetup, piStart, piWork, piFinish},
    {"rc4", "keys", 1u << 20, rc4Setup, rc4Start, rc4Work, rc4Finish},
    {"nbody", "bodies", 512, nbodySetup, nbodyStart, nbodyWork, nbodyFinish},
    {nullptr, nullptr, 0, nullptr, nullptr, nullptr, nullptr},
};

void serialTask(State& s) {
  const double h = 1.0 / static_cast<double>(s.serialSteps);
  double total = 0.0;
  for (uint64_t b = 0; b < s.serialSteps; b += kPiBlock)
    total += piBlock(b, s.serialSteps - b > kPiBlock ? b + kPiBlock : s.serialSteps, h);
  s.serialValue = total * h;
}

}  // namespace par
