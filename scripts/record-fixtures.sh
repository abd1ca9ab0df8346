#!/usr/bin/env bash
# Re-records the debate cassette the replay tests use, on the embedded model.
# Run it after changing prompts, schemas or anything else that changes the
# requests a debate sends (the replay tests then fail with a cassette miss).
set -euo pipefail
cd "$(dirname "$0")/.."
cassette=tests/fixtures/debate.cassette.json
rm -f "$cassette"
out=$(mktemp -d)
# The same build as `cargo test --workspace` (see scripts/test.sh).
cargo test --workspace --no-run -q
target/debug/council --embedded --record "$cassette" -q ask \
  "$(cat tests/fixtures/debate-question.txt)" \
  --panel cfo,cto,brand-strategist,org-psychologist --seed 11 --date 2026-11-26 \
  --out "$out/run"
rm -rf "$out"
echo "recorded $(grep -c '"summary"' "$cassette") exchanges into $cassette"
