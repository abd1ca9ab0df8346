#!/usr/bin/env bash
# Writes the strong-model fixture's report (tests/fixtures/strong/) to OUTDIR:
# report.md, .html, .json, .docx and .pdf (the PDF needs Chromium), and the
# replayed run folder run/ (for `council render OUTDIR/run ...`). Look at it
# after any change to the renderer.
# Usage: bash scripts/strong-report.sh OUTDIR [BRAND.toml]
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: bash scripts/strong-report.sh OUTDIR [BRAND.toml]" >&2
  exit 2
fi
out=$(realpath -m "$1")
brand=()
if [ $# -ge 2 ]; then brand=("$(realpath "$2")"); fi
cd "$(dirname "$0")/.."
flock /tmp/council-cargo.lock cargo run -q -p council-tests --example strong_report -- "$out" "${brand[@]}"
