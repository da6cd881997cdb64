#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs packages, builds
# (warnings are errors), runs every test, then the unit tests again under
# ASan + UBSan. Tests that need /dev/kvm or root skip with a printed reason.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

scripts/install-deps.sh
cmake --preset dev
cmake --build --preset dev -j "$JOBS"
ctest --preset dev -j "$JOBS" --timeout 600

if [ "${SMARTVM_SKIP_ASAN:-0}" != 1 ]; then
  cmake --preset asan
  cmake --build --preset asan -j "$JOBS"
  # Guests under ASan are slow and prove nothing more: sanitise the unit tests.
  ctest --preset asan -j "$JOBS" --timeout 600 -L unit
fi
