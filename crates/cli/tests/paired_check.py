#!/usr/bin/env python3
"""Recomputes one metric's paired statistics of `council compare --by
condition --format json` from a study's transcripts, independently of the
Rust code: the per-run values, the pairs, SplitMix64 and the percentile
bootstrap as README's "Paired statistics" defines them. Standard library
only.

usage: paired_check.py STUDY_DIR PAIRED.json METRIC
METRIC: collapse_rate, tokens or support_share. Prints "match ..." and
exits 0 when every value, pair count, mean and interval end agrees (to
1e-9), else prints the mismatch and exits 1.
"""

import json
import os
import sys

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


def rank(b, per_mille):
    """1-based rank of the type-1 quantile per_mille/1000 among b sorted values."""
    return max(1, -(-b * per_mille // 1000))


def bootstrap(diffs, resamples, seed):
    n = len(diffs)
    if n == 0:
        return None
    rng = SplitMix64(seed)
    means = []
    for _ in range(resamples):
        s = 0.0
        for _ in range(n):
            s += diffs[rng.next() % n]
        means.append(s / n)
    means.sort()
    return means[rank(resamples, 25) - 1], means[rank(resamples, 975) - 1]


def recalibrate(c):
    if c <= 60:
        return 0.1
    if c <= 80:
        return 0.3
    if c <= 90:
        return 0.5
    if c <= 99:
        return 0.8
    return 1.0


def collapse_rate(t):
    if not t["rounds"]:
        return None  # no round spoken (a single answer): undefined
    for r in t["rounds"]:
        known = [x["stance"] for x in r["turns"] if x.get("stance")]
        if len(known) >= 2 and all(s == known[0] for s in known):
            return 1.0
    return 0.0


def tokens(t):
    u = t.get("usage") or {}
    p, c = u.get("prompt_tokens"), u.get("completion_tokens")
    if p is None and c is None:
        return None
    return float((p or 0) + (c or 0))


def support_share(t):
    votes = {}
    for part in t.get("synthesis", []):
        if part["part"].startswith("vote:") and isinstance(part.get("value"), dict):
            votes[part["part"][5:]] = part["value"]
    w = {"support": 0.0, "mixed": 0.0, "oppose": 0.0}
    counted = 0
    for p in t["panel"]:
        v = votes.get(p["id"])
        if not v or not v.get("stance"):
            continue
        counted += 1
        w[v["stance"]] += recalibrate(min(int(v["confidence"]), 100))
    total = w["support"] + w["mixed"] + w["oppose"]
    if counted == 0:
        return None
    return w["support"] / total if total > 0 else 0.0


METRICS = {"collapse_rate": collapse_rate, "tokens": tokens, "support_share": support_share}


def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def main():
    study, paired_file, metric = sys.argv[1], sys.argv[2], sys.argv[3]
    value_of = METRICS[metric]
    records = {}
    with open(os.path.join(study, "runs.jsonl")) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                records[r["folder"]] = r  # the last line of a run wins
    values = {}  # condition -> {(question, model, repeat): value}
    for folder, r in records.items():
        with open(os.path.join(study, folder, "transcript.json")) as f:
            t = json.load(f)
        cond = r.get("condition", "debate")
        values.setdefault(cond, {})[(r["question"], r["model"], r["repeat"])] = value_of(t)

    p = json.load(open(paired_file))
    real = os.path.realpath(study)
    block = next(s for s in p["studies"] if real in s["folders"])
    m = next(x for x in block["strata"][0]["metrics"] if x["metric"] == metric)
    base = block["baseline"]
    bad = []
    for g in m["values"]:
        vs = [v for v in values.get(g["condition"], {}).values() if v is not None]
        mean = sum(vs) / len(vs) if vs else None
        if len(vs) != g["n"] or not close(mean, g["mean"]):
            bad.append(f"{g['condition']}: n {len(vs)} mean {mean} vs {g['n']} {g['mean']}")
    for d in m["differences"]:
        other, b = values.get(d["condition"], {}), values.get(base, {})
        diffs = []
        for k in sorted(set(other) | set(b)):
            x, y = other.get(k), b.get(k)
            if x is not None and y is not None:
                diffs.append(x - y)
        mean = sum(diffs) / len(diffs) if diffs else None
        ci = bootstrap(diffs, p["resamples"], p["seed"])
        lo, hi = ci if ci else (None, None)
        ok = (
            len(diffs) == d["n_pairs"]
            and close(mean, d["mean"])
            and close(lo, d["lower"])
            and close(hi, d["upper"])
        )
        line = (
            f"{metric} {d['condition']} - {base}: n pairs {len(diffs)}, mean {mean}, "
            f"95% [{lo}, {hi}] (seed {p['seed']}, {p['resamples']} resamples)"
        )
        if ok:
            print("match " + line)
        else:
            bad.append(f"recomputed {line}; council said {json.dumps(d)}")
    if bad:
        print("MISMATCH\n" + "\n".join(bad))
        sys.exit(1)


if __name__ == "__main__":
    main()
