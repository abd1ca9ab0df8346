#!/usr/bin/env bash
# Measures a large study: `council batch` (2 rounds, no synthesis) against
# the in-process fake server, printing wall time, calls a second, calls in
# flight against --max-calls, and the council process's memory and open
# file descriptors (tests/examples/study_scale.rs says what each figure is).
#   bash scripts/study-scale.sh [--release] [RUNS…] [--max-calls N] [--latency-ms MS]
# Defaults: 1000 and 10000 runs, --max-calls 256, 500 ms a call; a debug
# build unless --release. A study folder of 10,000 runs takes about 1 GB
# under $TMPDIR while it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=debug
flags=()
if [[ "${1:-}" == "--release" ]]; then
  profile=release
  flags=(--release)
  shift
fi
cargo build ${flags[@]+"${flags[@]}"} -p council-cli --bin council
cargo run ${flags[@]+"${flags[@]}"} -q -p council-tests --example study_scale -- "target/$profile/council" "$@"
