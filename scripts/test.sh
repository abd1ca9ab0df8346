#!/usr/bin/env bash
# Runs Council's whole test suite: unit, integration (a real llama.cpp
# server from PyPI, the embedded model) and CLI tests.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

# Build exactly what `cargo test` builds (a narrower `cargo run -p` would
# resolve build-dependency features differently and compile llama.cpp again).
echo "==> building" >&2
cargo test --workspace --no-run

echo "==> embedded default model" >&2
"${CARGO_TARGET_DIR:-target}/debug/council" -q fetch-model >/dev/null

# llama.cpp's OpenAI-compatible server, the real peer of the HTTP backend.
XLLAMACPP=xllamacpp==2026.10.11549
if ! .venv/bin/python -c "import xllamacpp" 2>/dev/null; then
  echo "==> creating .venv with $XLLAMACPP" >&2
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check "$XLLAMACPP"
fi
export COUNCIL_TEST_PYTHON="$PWD/.venv/bin/python"

echo "==> cargo test --workspace" >&2
cargo test --workspace
