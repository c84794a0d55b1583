#!/bin/bash
# The whole test suite, as CI runs it (bash .ci/run):
#   1. scripts/install-deps.sh   (needs root only when something is missing)
#   2. make modules              (build/nginx/ngx_http_ingest_module.so)
#   3. make unit                 (C unit tests of src/core)
#      ... the worker's tests, the Debian packages (t/packaging, as root)
#   4. scripts/run-integration.sh (real nginx + real clients, pytest),
#      first against the module and the worker built with ASan+UBSan,
#      then the normal ones
# Stops at the first failure with its exit code. The integration run is
# last, so the last line printed is pytest's summary line.

set -euo pipefail

cd "$(dirname "$0")/.."

step() { echo "== $*"; }

step "installing dependencies"
scripts/install-deps.sh

step "make modules tools"
make --no-print-directory modules tools

step "make unit"
make --no-print-directory unit

step "docs/tokens.md examples (shell, Python, Node)"
bash t/docs/tokens_examples.sh

step "make worker worker-unit"
make --no-print-directory worker worker-unit

step "ffmpeg-worker integration tests (and valgrind memcheck of one job)"
/usr/bin/python3 -m pytest -q -p no:cacheprovider t/worker

# the worker built with ASan+UBSan (build/worker-asan), its tests again;
# the ASan integration run below uses it as well
step "make worker-asan; ffmpeg-worker tests with ASan+UBSan"
make --no-print-directory worker-asan
WORKER_ASAN="$PWD/build/worker-asan/ingest-worker"
INGEST_WORKER_BIN="$WORKER_ASAN" \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider t/worker

# make deb's packages installed with dpkg, exercised and purged (root
# only: skipped otherwise; refuses a machine where they already are)
step "Debian packages (build, install, upload, purge)"
/usr/bin/python3 -m pytest -q -p no:cacheprovider t/packaging

# the same suite against the module built with ASan+UBSan (the harness
# preloads the runtime and fails on any report); then the normal build,
# whose pytest summary is the last line
step "make modules SANITIZE=1 (build/nginx-asan)"
make --no-print-directory NGX_BUILD="$PWD/build/nginx-asan" SANITIZE=1 modules

step "integration tests, module with ASan+UBSan"
INGEST_MODULE="$PWD/build/nginx-asan/ngx_http_ingest_module.so" \
INGEST_SRT_MODULE="$PWD/build/nginx-asan/ngx_srt_module.so" \
INGEST_WORKER_BIN="$WORKER_ASAN" \
    bash scripts/run-integration.sh

step "integration tests"
exec bash scripts/run-integration.sh
