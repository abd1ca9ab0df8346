"""Loads the record tables of a study with explicit column types, as a
researcher's script would (pandas dtypes in comments), and checks each
table's rows against the study's transcripts and reports.

Usage: tables_check.py STUDY_DIR FORECASTS.csv VOTES.csv TURNS.csv SCORE.csv
Prints a JSON summary of the counts on success; exits 1 naming the first
problem otherwise. Needs only the standard library.
"""

import csv
import json
import os
import sys

STANCES = {"support", "mixed", "oppose"}
MOVES = {"WARN", "SHARE", "REFRAME", "FACTCHECK", "CHALLENGE", "CONCEDE"}
CONDITIONS = {"debate", "vote", "single", "anonymous", "no-persona"}


def text(v):  # pandas: string
    return v


def integer(v):  # pandas: int64
    return int(v)


def uint64(v):  # pandas: uint64 (a seed can exceed int64)
    x = int(v)
    if not 0 <= x < 2**64:
        raise ValueError(f"{v} is not a u64")
    return x


def real(v):  # pandas: float64
    return float(v)


def prob(v):  # pandas: float64, 0-1
    x = float(v)
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"{v} is not a probability")
    return x


def nullable(f):  # pandas: the nullable type (Int64, Float64, string): empty is missing
    def parse(v):
        return None if v == "" else f(v)

    return parse


def one_of(values, allow_empty=False):  # pandas: category
    def parse(v):
        if v == "" and allow_empty:
            return None
        if v not in values:
            raise ValueError(f"{v!r} is not one of {sorted(values)}")
        return v

    return parse


RUN = [
    ("run", text),
    ("kind", one_of({"debate", "branch"})),
    ("question_id", nullable(text)),
    ("condition", one_of(CONDITIONS)),
    ("model", text),
    ("repeat", nullable(integer)),
    ("seed", uint64),
]

TABLES = {
    "forecasts": RUN
    + [
        ("forecast_id", text),
        ("statement", text),
        ("horizon_months", integer),
        ("persona", text),
        ("probability", prob),
        ("panel_median", nullable(prob)),
        ("outcome", one_of({"yes", "no"}, allow_empty=True)),
    ],
    "votes": RUN
    + [
        ("persona", text),
        ("stance", one_of(STANCES, allow_empty=True)),
        ("confidence", integer),
        ("weight", prob),
        ("reason", text),
    ],
    "turns": RUN
    + [
        ("round", integer),
        ("persona", text),
        ("status", one_of({"ok", "failed"})),
        ("stance", one_of(STANCES, allow_empty=True)),
        ("move", one_of(MOVES, allow_empty=True)),
        ("confidence", nullable(integer)),
        ("text", text),
        ("responds_to", text),
        ("citations", text),
    ],
    "score": [
        ("group", one_of({"panel", "persona", "model"})),
        ("key", text),
        ("count", integer),
        ("brier", nullable(real)),
        ("log_loss", nullable(real)),
    ],
}


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def load(path, name):
    columns = TABLES[name]
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header != [c for c, _ in columns]:
            fail(f"{name}: header {header} is not {[c for c, _ in columns]}")
        rows = []
        for n, rec in enumerate(reader, start=2):
            if len(rec) != len(columns):
                fail(f"{name} line {n}: {len(rec)} fields, not {len(columns)}")
            row = {}
            for (col, parse), v in zip(columns, rec):
                try:
                    row[col] = parse(v)
                except ValueError as e:
                    fail(f"{name} line {n} column {col}: {e}")
            rows.append(row)
    return rows


def main():
    study, fpath, vpath, tpath, spath = sys.argv[1:6]
    forecasts = load(fpath, "forecasts")
    votes = load(vpath, "votes")
    turns = load(tpath, "turns")
    score = load(spath, "score")

    runs_dir = os.path.join(study, "runs")
    want_turns, want_votes, want_probs, medians = {}, {}, {}, {}
    conditions = {}
    for run in sorted(os.listdir(runs_dir)):
        with open(os.path.join(runs_dir, run, "transcript.json"), encoding="utf-8") as f:
            t = json.load(f)
        with open(os.path.join(runs_dir, run, "report.json"), encoding="utf-8") as f:
            r = json.load(f)
        conditions[run] = t.get("condition", "debate")
        want_turns[run] = [
            (turn["round"], turn["persona"], turn["text"])
            for rnd in t["rounds"]
            for turn in rnd["turns"]
        ]
        want_votes[run] = sorted(
            (v["persona"], v["confidence"], v["reason"])
            for v in r["votes"]
            if v.get("confidence") is not None
        )
        want_probs[run] = sorted(
            (fc["id"], p[0], round(p[1], 6)) for fc in r["forecasts"] for p in fc["probabilities"]
        )
        for fc in r["forecasts"]:
            medians[(run, fc["id"])] = fc["median"]

    def by_run(rows, key):
        out = {run: [] for run in conditions}
        for row in rows:
            if row["run"] not in out:
                fail(f"row of unknown run {row['run']}")
            if row["condition"] != conditions[row["run"]]:
                fail(f"{row['run']}: condition {row['condition']}, transcript says {conditions[row['run']]}")
            out[row["run"]].append(key(row))
        return out

    got_turns = by_run(turns, lambda x: (x["round"], x["persona"], x["text"]))
    got_votes = by_run(votes, lambda x: (x["persona"], x["confidence"], x["reason"]))
    got_probs = by_run(forecasts, lambda x: (x["forecast_id"], x["persona"], round(x["probability"], 6)))
    for run in conditions:
        if got_turns[run] != want_turns[run]:
            fail(f"{run}: turns {got_turns[run][:2]}… differ from the transcript's {want_turns[run][:2]}…")
        if sorted(got_votes[run]) != want_votes[run]:
            fail(f"{run}: votes {got_votes[run]} differ from report.json's {want_votes[run]}")
        if sorted(got_probs[run]) != want_probs[run]:
            fail(f"{run}: probabilities differ from report.json's")
    for row in forecasts:
        want = medians[(row["run"], row["forecast_id"])]
        if want is None or abs(row["panel_median"] - want) > 1e-6:
            fail(f"{row['run']} {row['forecast_id']}: median {row['panel_median']}, report says {want}")

    per_condition = {}
    for row in turns:
        c = per_condition.setdefault(row["condition"], {"turns": 0, "max_round": 0})
        c["turns"] += 1
        c["max_round"] = max(c["max_round"], row["round"])
    summary = {
        "runs": len(conditions),
        "turns": len(turns),
        "votes": len(votes),
        "forecasts": len(forecasts),
        "outcomes": sum(1 for r in forecasts if r["outcome"] is not None),
        "texts_with_comma_quote_newline": sum(
            1 for r in turns if "," in r["text"] and '"' in r["text"] and "\n" in r["text"]
        ),
        "score_rows": len(score),
        "scored_median": next(r["count"] for r in score if r["key"] == "panel median"),
        "per_condition": per_condition,
    }
    print(json.dumps(summary, sort_keys=True))


main()
