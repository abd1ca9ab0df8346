//! A [`Comparison`] and [`Scores`] as tables: CSV for pandas, polars or R
//! (the long table, one row per run × persona × round, and one file per
//! summary), and aligned text for people. Pure: strings in memory.

use crate::compare::{AdvisorMetrics, Comparison, QuestionMetrics, RunMetrics, TurnRow};
use crate::score::{CalibrationBin, ScoreLine, Scores};
use council_core::answers::Stance;
use council_core::Move;
use std::fmt::Write;

/// Which summary table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    /// One row per persona.
    Persona,
    /// One row per model.
    Model,
    /// One row per run.
    Run,
    /// One row per question.
    Question,
}

impl Summary {
    /// Every summary, in the order text output shows them.
    pub const ALL: [Summary; 4] = [
        Summary::Persona,
        Summary::Model,
        Summary::Run,
        Summary::Question,
    ];

    /// Its name, as `--by` and the CSV file suffixes spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Summary::Persona => "persona",
            Summary::Model => "model",
            Summary::Run => "run",
            Summary::Question => "question",
        }
    }
}

/// The columns of the long table, in order.
pub const LONG_COLUMNS: [&str; 21] = [
    "run",
    "kind",
    "source",
    "question_id",
    "repeat",
    "seed",
    "condition",
    "question",
    "model",
    "persona",
    "round",
    "stance",
    "confidence",
    "move",
    "flip",
    "words",
    "prompt_tokens",
    "completion_tokens",
    "flagged",
    "conforms",
    "status",
];

/// A number as CSV and text show it: at most six decimals, no trailing
/// zeros; empty when undefined.
pub(crate) fn num(x: Option<f64>) -> String {
    match x {
        None => String::new(),
        Some(x) => {
            let s = format!("{x:.6}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            if s == "-0" {
                "0".into()
            } else {
                s.to_string()
            }
        }
    }
}

pub(crate) fn opt<T: ToString>(x: Option<T>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

pub(crate) fn flag(x: Option<bool>) -> String {
    x.map(|b| if b { "1" } else { "0" }.to_string())
        .unwrap_or_default()
}

pub(crate) fn stance(x: Option<Stance>) -> String {
    x.map(|s| s.as_str().to_string()).unwrap_or_default()
}

/// CSV written into memory.
pub(crate) struct Csv(csv::Writer<Vec<u8>>);

impl Csv {
    pub(crate) fn new() -> Csv {
        Csv(csv::Writer::from_writer(Vec::new()))
    }

    pub(crate) fn row<I: IntoIterator<Item = S>, S: AsRef<[u8]>>(&mut self, fields: I) {
        // Writing to a Vec in memory cannot fail; every record of a table
        // has the same number of fields.
        #[allow(clippy::expect_used)]
        self.0
            .write_record(fields)
            .expect("a CSV record written to memory");
    }

    pub(crate) fn finish(self) -> String {
        // Flushing into a Vec cannot fail, and every field came from a
        // Rust string, so the bytes are UTF-8.
        let bytes = self.0.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }
}

/// A run's kind, source, question id, repeat, seed and condition as CSV fields.
fn id_fields(id: &crate::compare::RunId) -> [String; 6] {
    [
        id.kind.as_str().to_string(),
        id.source.clone().unwrap_or_default(),
        id.question_id.clone().unwrap_or_default(),
        opt(id.repeat),
        id.seed.to_string(),
        id.condition.as_str().to_string(),
    ]
}

fn long_fields(r: &TurnRow) -> [String; 21] {
    let [kind, source, question_id, repeat, seed, condition] = id_fields(&r.id);
    [
        r.run.clone(),
        kind,
        source,
        question_id,
        repeat,
        seed,
        condition,
        r.question.clone(),
        r.model.clone(),
        r.persona.clone(),
        r.round.to_string(),
        stance(r.stance),
        opt(r.confidence),
        opt(r.move_),
        flag(r.flip),
        opt(r.words),
        opt(r.prompt_tokens),
        opt(r.completion_tokens),
        flag(r.flagged),
        flag(r.conforms),
        r.status.as_str().to_string(),
    ]
}

/// The long table: a header of [`LONG_COLUMNS`], then one row per run ×
/// persona × round (booleans as 1/0, unknowns empty).
pub fn long_csv(c: &Comparison) -> String {
    let mut w = Csv::new();
    w.row(LONG_COLUMNS);
    for r in &c.rows {
        w.row(long_fields(r));
    }
    w.finish()
}

/// The largest round number in `c`.
fn max_round(c: &Comparison) -> u32 {
    c.rows.iter().map(|r| r.round).max().unwrap_or(0)
}

fn map_text(m: &std::collections::BTreeMap<String, usize>) -> String {
    let mut v: Vec<(&String, &usize)> = m.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(k, n)| format!("{k}:{n}"))
        .collect::<Vec<_>>()
        .join(";")
}

fn advisor_csv(rows: &[AdvisorMetrics], key: &str, rounds: u32) -> String {
    let mut w = Csv::new();
    let mut head: Vec<String> = [
        key,
        "name",
        "runs",
        "turns",
        "failed",
        "flip_pairs",
        "flips",
        "flip_rate",
        "conforming_flips",
        "conformity",
        "concessions",
    ]
    .map(String::from)
    .to_vec();
    head.extend(
        Move::ALL
            .iter()
            .map(|m| format!("{}_share", m.as_str().to_lowercase())),
    );
    head.extend(
        [
            "answers",
            "challenges",
            "mean_words",
            "mean_prompt_tokens",
            "mean_completion_tokens",
            "flagged",
            "flagged_share",
            "forecasts",
            "extremity",
            "spread",
        ]
        .map(String::from),
    );
    for r in 1..=rounds {
        head.extend([
            format!("confidence_r{r}"),
            format!("support_r{r}"),
            format!("mixed_r{r}"),
            format!("oppose_r{r}"),
            format!("unknown_r{r}"),
        ]);
    }
    w.row(&head);
    for a in rows {
        let mut f: Vec<String> = vec![
            a.key.clone(),
            a.name.clone(),
            a.runs.to_string(),
            a.turns.to_string(),
            a.failed.to_string(),
            a.flip_pairs.to_string(),
            a.flips.to_string(),
            num(a.flip_rate),
            a.conforming_flips.to_string(),
            num(a.conformity),
            a.concessions.to_string(),
        ];
        f.extend(a.moves.iter().map(|m| num(m.share)));
        f.extend([
            map_text(&a.answers),
            map_text(&a.challenges),
            num(a.mean_words),
            num(a.mean_prompt_tokens),
            num(a.mean_completion_tokens),
            a.flagged.to_string(),
            num(a.flagged_share),
            a.forecasts.to_string(),
            num(a.extremity),
            num(a.spread),
        ]);
        for r in 1..=rounds {
            match a.by_round.iter().find(|x| x.round == r) {
                Some(x) => f.extend([
                    num(x.mean_confidence),
                    x.support.to_string(),
                    x.mixed.to_string(),
                    x.oppose.to_string(),
                    x.unknown.to_string(),
                ]),
                None => f.extend(std::iter::repeat_n(String::new(), 5)),
            }
        }
        w.row(&f);
    }
    w.finish()
}

fn run_csv(runs: &[RunMetrics], rounds: u32) -> String {
    let mut w = Csv::new();
    let mut head: Vec<String> = [
        "run",
        "kind",
        "source",
        "question_id",
        "repeat",
        "seed",
        "condition",
        "question",
        "date",
        "status",
        "models",
        "rounds",
        "personas",
        "verdict",
        "support_share",
        "mixed_share",
        "oppose_share",
        "votes_counted",
        "flip_pairs",
        "flips",
        "collapse_round",
        "agreement_rate",
        "forecasts",
        "repeated_probabilities",
    ]
    .map(String::from)
    .to_vec();
    head.extend((1..=rounds).map(|r| format!("entropy_r{r}")));
    w.row(&head);
    for r in runs {
        let t = r.tally.as_ref();
        let mut f = vec![r.run.clone()];
        f.extend(id_fields(&r.id));
        f.extend([
            r.question.clone(),
            r.date.clone(),
            format!("{:?}", r.status).to_lowercase(),
            r.models.join(";"),
            r.rounds.to_string(),
            r.personas.len().to_string(),
            stance(r.verdict),
            num(t.map(|t| t.support)),
            num(t.map(|t| t.mixed)),
            num(t.map(|t| t.oppose)),
            t.map_or(0, |t| t.counted).to_string(),
            r.flip_pairs.to_string(),
            r.flips.to_string(),
            opt(r.collapse_round),
            num(r.agreement_rate),
            r.forecasts.to_string(),
            r.repeated_probabilities.to_string(),
        ]);
        f.extend((0..rounds as usize).map(|i| num(r.entropy.get(i).copied().flatten())));
        w.row(&f);
    }
    w.finish()
}

fn question_csv(qs: &[QuestionMetrics]) -> String {
    let mut w = Csv::new();
    w.row([
        "question",
        "runs",
        "models",
        "verdicts",
        "modal_verdict",
        "verdict_agreement",
        "tallied",
        "mean_support_share",
        "support_share_sd",
        "collapsed",
    ]);
    for q in qs {
        w.row([
            q.question.clone(),
            q.runs.to_string(),
            q.models.join(";"),
            q.verdicts.to_string(),
            stance(q.modal_verdict),
            num(q.verdict_agreement),
            q.tallied.to_string(),
            num(q.mean_support_share),
            num(q.support_share_sd),
            q.collapsed.to_string(),
        ]);
    }
    w.finish()
}

/// Each run's agreement matrix in long form: one row per pair of its
/// personas (each pair once), `agree` 1, 0 or empty.
pub fn agreement_csv(c: &Comparison) -> String {
    let mut w = Csv::new();
    w.row([
        "run",
        "persona_a",
        "persona_b",
        "stance_a",
        "stance_b",
        "agree",
    ]);
    for r in &c.runs {
        for i in 0..r.personas.len() {
            for j in i + 1..r.personas.len() {
                w.row([
                    r.run.clone(),
                    r.personas[i].clone(),
                    r.personas[j].clone(),
                    stance(r.final_stances[i]),
                    stance(r.final_stances[j]),
                    opt(r.agreement[i][j]),
                ]);
            }
        }
    }
    w.finish()
}

/// One summary table as CSV.
pub fn summary_csv(c: &Comparison, which: Summary) -> String {
    let rounds = max_round(c);
    match which {
        Summary::Persona => advisor_csv(&c.personas, "persona", rounds),
        Summary::Model => advisor_csv(&c.models, "model", rounds),
        Summary::Run => run_csv(&c.runs, rounds),
        Summary::Question => question_csv(&c.questions),
    }
}

// ------------------------------------------------------------ text

/// Aligned text columns: the first left-aligned, the rest right-aligned.
fn text_table(head: &[String], rows: &[Vec<String>]) -> String {
    let cols = head.len();
    let width = |i: usize| {
        rows.iter()
            .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
            .chain([head[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..cols).map(width).collect();
    let mut out = String::new();
    for row in std::iter::once(head).chain(rows.iter().map(Vec::as_slice)) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            if i == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |x| format!("{:.0}%", x * 100.0))
}

fn dec(x: Option<f64>, places: usize) -> String {
    x.map_or_else(|| "–".into(), |x| format!("{x:.places$}"))
}

fn cut(s: &str, n: usize) -> String {
    council_core::excerpt(s, n)
}

fn advisor_text(rows: &[AdvisorMetrics], key: &str, rounds: u32) -> String {
    let mut head: Vec<String> = vec![key.into(), "runs".into(), "turns".into()];
    head.extend((1..=rounds).map(|r| format!("conf r{r}")));
    head.extend(
        [
            "flips",
            "flip rate",
            "conformity",
            "concede",
            "words",
            "tok in",
            "tok out",
            "flagged",
            "fcasts",
            "extremity",
            "spread",
        ]
        .map(String::from),
    );
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|a| {
            let mut r = vec![cut(&a.key, 28), a.runs.to_string(), a.turns.to_string()];
            r.extend((1..=rounds).map(|n| {
                dec(
                    a.by_round
                        .iter()
                        .find(|x| x.round == n)
                        .and_then(|x| x.mean_confidence),
                    0,
                )
            }));
            r.extend([
                format!("{}/{}", a.flips, a.flip_pairs),
                pct(a.flip_rate),
                pct(a.conformity),
                a.concessions.to_string(),
                dec(a.mean_words, 0),
                dec(a.mean_prompt_tokens, 0),
                dec(a.mean_completion_tokens, 0),
                pct(a.flagged_share),
                a.forecasts.to_string(),
                dec(a.extremity, 2),
                dec(a.spread, 2),
            ]);
            r
        })
        .collect();
    let mut out = text_table(&head, &body);
    // Stance by round and moves, a second table: the first is wide enough.
    let mut head: Vec<String> = vec![key.into()];
    head.extend((1..=rounds).map(|r| format!("r{r} s/m/o")));
    head.extend(Move::ALL.iter().map(|m| m.as_str().to_lowercase()));
    head.push("answers most".into());
    head.push("challenges most".into());
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|a| {
            let mut r = vec![cut(&a.key, 28)];
            r.extend((1..=rounds).map(|n| {
                a.by_round.iter().find(|x| x.round == n).map_or_else(
                    || "–".into(),
                    |x| format!("{}/{}/{}", x.support, x.mixed, x.oppose),
                )
            }));
            r.extend(a.moves.iter().map(|m| pct(m.share)));
            let top = |m: &std::collections::BTreeMap<String, usize>| {
                let t = map_text(m);
                cut(&t.split(';').take(2).collect::<Vec<_>>().join(" "), 44)
            };
            r.push(top(&a.answers));
            r.push(top(&a.challenges));
            r
        })
        .collect();
    out.push('\n');
    out.push_str(&text_table(&head, &body));
    out
}

fn run_text(runs: &[RunMetrics], rounds: u32) -> String {
    let mut head: Vec<String> = [
        "run", "kind", "models", "verdict", "support", "flips", "collapse", "agree",
    ]
    .map(String::from)
    .to_vec();
    head.extend((1..=rounds).map(|r| format!("H r{r}")));
    let body: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let mut row = vec![
                cut(&r.run, 36),
                r.id.kind.as_str().to_string(),
                cut(&r.models.join("+"), 24),
                r.verdict.map_or("–", |s| s.as_str()).to_string(),
                pct(r.tally.as_ref().map(|t| t.support)),
                format!("{}/{}", r.flips, r.flip_pairs),
                r.collapse_round
                    .map_or_else(|| "none".into(), |n| format!("r{n}")),
                pct(r.agreement_rate),
            ];
            row.extend((0..rounds as usize).map(|i| dec(r.entropy.get(i).copied().flatten(), 2)));
            row
        })
        .collect();
    text_table(&head, &body)
}

fn question_text(qs: &[QuestionMetrics]) -> String {
    let head: Vec<String> = [
        "question",
        "runs",
        "models",
        "verdict",
        "agreement",
        "support mean",
        "support sd",
        "collapsed",
    ]
    .map(String::from)
    .to_vec();
    let body: Vec<Vec<String>> = qs
        .iter()
        .map(|q| {
            vec![
                cut(&q.question, 48),
                q.runs.to_string(),
                q.models.len().to_string(),
                q.modal_verdict.map_or("–", |s| s.as_str()).to_string(),
                pct(q.verdict_agreement),
                pct(q.mean_support_share),
                dec(q.support_share_sd.map(|x| x * 100.0), 1),
                format!("{}/{}", q.collapsed, q.runs),
            ]
        })
        .collect();
    text_table(&head, &body)
}

/// The summaries as aligned text: `which`, or all four when `None`.
pub fn compare_text(c: &Comparison, which: Option<Summary>) -> String {
    let rounds = max_round(c);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} runs, {} personas, {} models, {} questions",
        c.runs.len(),
        c.personas.len(),
        c.models.len(),
        c.questions.len()
    );
    for s in Summary::ALL {
        if which.is_some_and(|w| w != s) {
            continue;
        }
        out.push('\n');
        let (title, body) = match s {
            Summary::Persona => ("by persona", advisor_text(&c.personas, "persona", rounds)),
            Summary::Model => ("by model", advisor_text(&c.models, "model", rounds)),
            Summary::Run => (
                "by run (H: stance entropy in bits)",
                run_text(&c.runs, rounds),
            ),
            Summary::Question => (
                "by question (support: weighted vote share; sd in points)",
                question_text(&c.questions),
            ),
        };
        let _ = writeln!(out, "{title}");
        out.push_str(&body);
    }
    out
}

fn score_rows(lines: &[&ScoreLine]) -> Vec<Vec<String>> {
    lines
        .iter()
        .map(|l| {
            vec![
                cut(&l.key, 36),
                l.count.to_string(),
                dec(l.brier, 4),
                dec(l.log_loss, 4),
            ]
        })
        .collect()
}

fn calibration_rows(bins: &[CalibrationBin]) -> Vec<Vec<String>> {
    bins.iter()
        .map(|b| {
            vec![
                format!(
                    "[{:.1}, {:.1}{}",
                    b.lower,
                    b.upper,
                    if b.upper >= 1.0 { "]" } else { ")" }
                ),
                b.count.to_string(),
                dec(b.mean_predicted, 3),
                dec(b.observed, 3),
            ]
        })
        .collect()
}

/// The columns of `council score --format csv`, in order.
pub const SCORE_COLUMNS: [&str; 5] = ["group", "key", "count", "brier", "log_loss"];

/// The scores as CSV: one row per forecaster, the panel median and the 50%
/// baseline first (group `panel`), then each persona (`persona`) and each
/// model (`model`); Brier and log loss empty where nothing was scored.
pub fn score_csv(s: &Scores) -> String {
    let mut w = Csv::new();
    w.row(SCORE_COLUMNS);
    let lines = [(&s.median, "panel"), (&s.baseline, "panel")]
        .into_iter()
        .chain(s.personas.iter().map(|l| (l, "persona")))
        .chain(s.models.iter().map(|l| (l, "model")));
    for (l, group) in lines {
        w.row([
            group.to_string(),
            l.key.clone(),
            l.count.to_string(),
            num(l.brier),
            num(l.log_loss),
        ]);
    }
    w.finish()
}

/// The scores as aligned text: forecasters, then the calibration tables.
pub fn score_text(s: &Scores) -> String {
    let head =
        |k: &str| -> Vec<String> { [k, "n", "brier", "log loss"].map(String::from).to_vec() };
    let mut out = format!(
        "{} forecasts scored, {} without an outcome yet\n",
        s.resolved, s.unresolved
    );
    if !s.unmatched.is_empty() {
        let _ = writeln!(
            out,
            "outcomes naming no forecast of these runs: {}",
            s.unmatched.join(", ")
        );
    }
    out.push_str("\npanel\n");
    out.push_str(&text_table(
        &head("forecaster"),
        &score_rows(&[&s.median, &s.baseline]),
    ));
    out.push_str("\nby persona\n");
    out.push_str(&text_table(
        &head("persona"),
        &score_rows(&s.personas.iter().collect::<Vec<_>>()),
    ));
    out.push_str("\nby model\n");
    out.push_str(&text_table(
        &head("model"),
        &score_rows(&s.models.iter().collect::<Vec<_>>()),
    ));
    let cal_head: Vec<String> = ["bin", "n", "mean predicted", "observed"]
        .map(String::from)
        .to_vec();
    out.push_str("\ncalibration: every advisor probability\n");
    out.push_str(&text_table(&cal_head, &calibration_rows(&s.calibration)));
    out.push_str("\ncalibration: panel medians\n");
    out.push_str(&text_table(
        &cal_head,
        &calibration_rows(&s.median_calibration),
    ));
    if !s.open.is_empty() {
        const SHOWN: usize = 20;
        out.push_str("\nopen forecasts (record with `council outcome DIR ID yes|no`)\n");
        let rows: Vec<Vec<String>> = s
            .open
            .iter()
            .take(SHOWN)
            .map(|f| {
                vec![
                    f.id.clone(),
                    cut(&f.run, 30),
                    dec(f.median, 2),
                    cut(&f.statement, 60),
                ]
            })
            .collect();
        let head: Vec<String> = ["id", "run", "median", "statement"]
            .map(String::from)
            .to_vec();
        out.push_str(&text_table(&head, &rows));
        if s.open.len() > SHOWN {
            let _ = writeln!(
                out,
                "… and {} more (--format json lists them all)",
                s.open.len() - SHOWN
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_lose_trailing_zeros_and_unknowns_are_empty() {
        assert_eq!(num(Some(0.5)), "0.5");
        assert_eq!(num(Some(1.0)), "1");
        assert_eq!(num(Some(1.0 / 3.0)), "0.333333");
        assert_eq!(num(Some(-0.0000001)), "0");
        assert_eq!(num(None), "");
    }
}
