//! Paired statistics across study conditions (`council compare --by
//! condition`): each metric's value per condition and its paired
//! difference against a baseline condition, matched by question × model ×
//! repeat within one study, with a seeded percentile-bootstrap 95%
//! interval. The per-run values come from [`crate::compare`] and
//! [`crate::score`] (one definition of each metric); this module only
//! groups, pairs and resamples. The bootstrap is defined exactly in
//! [`bootstrap_interval`] (and in the README) so a script can recompute it.

use crate::compare::{compare, verdict_agreement, RunInput};
use crate::cost::{cost_of, PriceTable};
use crate::forecasts::forecasts_in;
use crate::score::{brier, log_loss};
use council_core::answers::Stance;
use council_core::outcome::Outcome;
use council_core::study::Condition;
use council_core::synthesis::Answers;
use council_core::variant::RunKind;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The version of the paired output (`council schema paired`).
pub const PAIRED_VERSION: u32 = 1;

/// Resamples when none are asked for.
pub const DEFAULT_RESAMPLES: u32 = 2000;

/// The bootstrap seed when none is given.
pub const DEFAULT_SEED: u64 = 1;

/// A SplitMix64 generator (Steele, Lea and Flood 2014; the generator
/// `java.util.SplittableRandom` and the xoshiro authors' seeders use): the
/// state advances by 0x9E3779B97F4A7C15 and each output is the state
/// mixed by two xor-shift-multiplies.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose state starts at `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The 1-based rank in `resamples` sorted means of the quantile `per_mille`/1000
/// (the inverse of the empirical distribution, Hyndman and Fan's type 1):
/// ⌈resamples · per_mille / 1000⌉, at least 1.
pub fn quantile_rank(resamples: u32, per_mille: u32) -> usize {
    ((u64::from(resamples) * u64::from(per_mille)).div_ceil(1000) as usize).max(1)
}

/// The seeded percentile-bootstrap 95% interval of the mean of `diffs`:
/// a new [`SplitMix64`] from `seed`; for each of `resamples` resamples,
/// `diffs.len()` indices each `next_u64() % n` (drawn in order, with
/// replacement), the resample's mean being the sum of those values in
/// draw order divided by n; the means sorted ascending, the interval is
/// the means of rank [`quantile_rank`]`(B, 25)` and `(B, 975)` (for 2,000
/// resamples the 50th and the 1,950th). `None` when `diffs` is empty or
/// `resamples` is 0.
pub fn bootstrap_interval(diffs: &[f64], resamples: u32, seed: u64) -> Option<(f64, f64)> {
    let n = diffs.len();
    if n == 0 || resamples == 0 {
        return None;
    }
    let mut rng = SplitMix64::new(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| {
            let mut sum = 0.0;
            for _ in 0..n {
                sum += diffs[(rng.next_u64() % n as u64) as usize];
            }
            sum / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let lo = quantile_rank(resamples, 25);
    let hi = quantile_rank(resamples, 975);
    Some((means[lo - 1], means[hi - 1]))
}

/// A metric compared across conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// The run's confidence-weighted vote share supporting ([`crate::compare::vote_tally`]).
    SupportShare,
    /// Per question × model: the share of its repeats' verdicts equal to the modal one ([`verdict_agreement`]).
    VerdictAgreement,
    /// The run's flips over its consecutive-round pairs with both stances known ([`crate::compare::flip`]).
    FlipRate,
    /// The run's flips toward the others' majority over its flips ([`crate::compare::conforms`]).
    Conformity,
    /// 1 when the run's panel collapsed into one stance in some round, else 0 ([`crate::compare::collapse_round`]); undefined for a run of no round.
    CollapseRate,
    /// The mean Brier score of the run's panel medians over its forecasts with an outcome ([`brier`]).
    Brier,
    /// The mean log loss of the run's panel medians over its forecasts with an outcome ([`log_loss`]).
    LogLoss,
    /// Prompt plus completion tokens of every call the run made ([`cost_of`]).
    Tokens,
    /// The run's cost in US dollars, when every call is priced ([`cost_of`]).
    CostUsd,
}

impl Metric {
    /// Every metric, in the order outputs list them.
    pub const ALL: [Metric; 9] = [
        Metric::SupportShare,
        Metric::VerdictAgreement,
        Metric::FlipRate,
        Metric::Conformity,
        Metric::CollapseRate,
        Metric::Brier,
        Metric::LogLoss,
        Metric::Tokens,
        Metric::CostUsd,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::SupportShare => "support_share",
            Metric::VerdictAgreement => "verdict_agreement",
            Metric::FlipRate => "flip_rate",
            Metric::Conformity => "conformity",
            Metric::CollapseRate => "collapse_rate",
            Metric::Brier => "brier",
            Metric::LogLoss => "log_loss",
            Metric::Tokens => "tokens",
            Metric::CostUsd => "cost_usd",
        }
    }

    /// What one value is measured over: a run, or a question × model (its repeats).
    pub fn unit(self) -> Unit {
        match self {
            Metric::VerdictAgreement => Unit::QuestionModel,
            _ => Unit::Run,
        }
    }
}

/// What one value of a metric is measured over, and so what a pair matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// One run; pairs match question × model × repeat.
    Run,
    /// One question × model over its repeats; pairs match question × model.
    QuestionModel,
}

/// How the paired statistics are broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strata {
    /// One block per study: every question and model together.
    #[default]
    All,
    /// One block per model.
    Model,
    /// One block per question × model.
    QuestionModel,
}

/// Whether the baseline was asked for or chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BaselineChoice {
    /// Given with `--baseline`.
    Given,
    /// The first condition in the study's order (its `study.json`).
    FirstOfStudy,
}

/// How the paired statistics are computed.
#[derive(Debug, Clone)]
pub struct PairedOptions {
    /// The breakdown.
    pub strata: Strata,
    /// The baseline condition; `None`: the first of each study's conditions.
    pub baseline: Option<Condition>,
    /// Bootstrap resamples (at least 1).
    pub resamples: u32,
    /// The bootstrap seed.
    pub seed: u64,
    /// Pool every study into one block (pairs still never cross studies).
    pub pool: bool,
    /// Each study's conditions in its order (study folder → conditions);
    /// a study missing here is ordered as [`Condition::ALL`].
    pub orders: BTreeMap<String, Vec<Condition>>,
    /// The outcome in force per forecast id; Brier and log loss are
    /// reported only when this holds any.
    pub outcomes: BTreeMap<String, Outcome>,
    /// Prices for the cost per run.
    pub prices: PriceTable,
}

impl Default for PairedOptions {
    fn default() -> Self {
        PairedOptions {
            strata: Strata::All,
            baseline: None,
            resamples: DEFAULT_RESAMPLES,
            seed: DEFAULT_SEED,
            pool: false,
            orders: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            prices: PriceTable::default(),
        }
    }
}

/// Everything the paired comparison reports.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Paired {
    /// Output format version.
    pub version: u32,
    /// The bootstrap seed (every interval starts a new SplitMix64 from it).
    pub seed: u64,
    /// Bootstrap resamples per interval.
    pub resamples: u32,
    /// The interval's coverage: 0.95 (percentile bootstrap, type-1 quantiles).
    pub confidence: f64,
    /// The breakdown.
    pub strata: Strata,
    /// Whether every study was pooled into one block.
    pub pooled: bool,
    /// Runs left out: not a study's run (a variant, a branch, a run outside a study).
    pub left_out: usize,
    /// One block per study (or one, pooled).
    pub studies: Vec<StudyPaired>,
}

/// The paired statistics of one study (or of the pooled studies).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct StudyPaired {
    /// The study's folder, or `(pooled)`.
    pub study: String,
    /// The study folders it holds.
    pub folders: Vec<String>,
    /// The conditions with runs, in the study's order.
    pub conditions: Vec<Condition>,
    /// The condition every other is compared against.
    pub baseline: Condition,
    /// Whether the baseline was asked for or chosen.
    pub baseline_choice: BaselineChoice,
    /// The study's runs compared.
    pub runs: usize,
    /// One block per stratum (one in all when not broken down).
    pub strata: Vec<Stratum>,
}

/// The paired statistics of one stratum.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Stratum {
    /// The question's id, when broken down by question × model.
    pub question_id: Option<String>,
    /// The model, when broken down by model.
    pub model: Option<String>,
    /// One entry per metric.
    pub metrics: Vec<MetricPaired>,
}

/// One metric's values and paired differences.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MetricPaired {
    /// The metric.
    pub metric: Metric,
    /// What one value is measured over.
    pub unit: Unit,
    /// Its value per condition, in the study's order.
    pub values: Vec<GroupValue>,
    /// Each other condition minus the baseline.
    pub differences: Vec<Difference>,
}

/// A metric's value in one condition.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct GroupValue {
    /// The condition.
    pub condition: Condition,
    /// Units (runs, or question × models) with a value.
    pub n: usize,
    /// The mean of those values.
    pub mean: Option<f64>,
}

/// The paired difference of one condition against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Difference {
    /// The condition.
    pub condition: Condition,
    /// The baseline.
    pub baseline: Condition,
    /// Pairs with a value on both sides.
    pub n_pairs: usize,
    /// Units of either side left out: no counterpart, or no value on one side.
    pub dropped: usize,
    /// The mean of (condition − baseline) over the pairs.
    pub mean: Option<f64>,
    /// The bootstrap interval's lower end ([`bootstrap_interval`]).
    pub lower: Option<f64>,
    /// The bootstrap interval's upper end.
    pub upper: Option<f64>,
}

/// One study run's values: where it sits and each per-run metric.
struct Unit1 {
    study: String,
    question_id: String,
    model: String,
    repeat: u32,
    condition: Condition,
    verdict: Option<Stance>,
    values: BTreeMap<Metric, Option<f64>>,
}

fn per_run(runs: &[RunInput], options: &PairedOptions) -> (Vec<Unit1>, usize) {
    let c = compare(runs);
    let mut conforming: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &c.rows {
        if row.conforms == Some(true) {
            *conforming.entry(row.run.as_str()).or_default() += 1;
        }
    }
    let mut out = Vec::new();
    let mut left_out = 0;
    for (input, m) in runs.iter().zip(&c.runs) {
        let Some(cell) = input
            .study
            .as_ref()
            .filter(|_| m.id.kind == RunKind::Debate)
        else {
            left_out += 1;
            continue;
        };
        let t = &input.transcript;
        let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
        let mut values = BTreeMap::new();
        values.insert(Metric::SupportShare, m.tally.as_ref().map(|t| t.support));
        values.insert(Metric::FlipRate, ratio(m.flips, m.flip_pairs));
        values.insert(
            Metric::Conformity,
            ratio(
                conforming.get(m.run.as_str()).copied().unwrap_or(0),
                m.flips,
            ),
        );
        // A run that spoke no round (a single answer) cannot collapse: undefined, not 0.
        values.insert(
            Metric::CollapseRate,
            (!t.rounds.is_empty()).then_some(if m.collapse_round.is_some() { 1.0 } else { 0.0 }),
        );
        if !options.outcomes.is_empty() {
            let pairs: Vec<(f64, f64)> = forecasts_in(t, &Answers::from_transcript(t))
                .iter()
                .filter(|f| f.probabilities.iter().any(|p| !p.copied))
                .filter_map(|f| {
                    let o = options.outcomes.get(&f.id)?;
                    Some((f.median?, o.outcome.as_f64()))
                })
                .collect();
            values.insert(Metric::Brier, brier(&pairs));
            values.insert(Metric::LogLoss, log_loss(&pairs));
        }
        let cost = cost_of(t, &options.prices).total;
        let tokens = match (cost.usage.prompt_tokens, cost.usage.completion_tokens) {
            (None, None) => None,
            (p, c) => Some((p.unwrap_or(0) + c.unwrap_or(0)) as f64),
        };
        values.insert(Metric::Tokens, tokens);
        values.insert(Metric::CostUsd, cost.usd);
        out.push(Unit1 {
            study: cell.study.clone(),
            question_id: cell.question_id.clone(),
            model: cell.model.clone(),
            repeat: cell.repeat,
            condition: cell.condition,
            verdict: m.verdict,
            values,
        });
    }
    (out, left_out)
}

/// A stratum: its question id and model, where the breakdown names them.
type StratumKey = (Option<String>, Option<String>);

/// A pairing key: study, question, model and (for a run) repeat.
type Key = (String, String, String, u32);

/// The values of one metric in one stratum: condition → key → value.
fn unit_values(
    units: &[&Unit1],
    metric: Metric,
) -> BTreeMap<Condition, BTreeMap<Key, Option<f64>>> {
    let mut out: BTreeMap<Condition, BTreeMap<Key, Option<f64>>> = BTreeMap::new();
    match metric.unit() {
        Unit::Run => {
            for u in units {
                let key = (
                    u.study.clone(),
                    u.question_id.clone(),
                    u.model.clone(),
                    u.repeat,
                );
                let v = u.values.get(&metric).copied().flatten();
                out.entry(u.condition).or_default().insert(key, v);
            }
        }
        Unit::QuestionModel => {
            let mut verdicts: BTreeMap<(Condition, Key), Vec<Stance>> = BTreeMap::new();
            for u in units {
                let key = (u.study.clone(), u.question_id.clone(), u.model.clone(), 0);
                let e = verdicts.entry((u.condition, key)).or_default();
                e.extend(u.verdict);
            }
            for ((c, key), vs) in verdicts {
                let v = verdict_agreement(&vs).map(|a| a.1);
                out.entry(c).or_default().insert(key, v);
            }
        }
    }
    out
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

fn metric_paired(
    units: &[&Unit1],
    metric: Metric,
    conditions: &[Condition],
    baseline: Condition,
    options: &PairedOptions,
) -> MetricPaired {
    let by = unit_values(units, metric);
    let empty = BTreeMap::new();
    let values = conditions
        .iter()
        .map(|c| {
            let vs: Vec<f64> = by
                .get(c)
                .unwrap_or(&empty)
                .values()
                .filter_map(|v| *v)
                .collect();
            GroupValue {
                condition: *c,
                n: vs.len(),
                mean: mean(&vs),
            }
        })
        .collect();
    let base = by.get(&baseline).unwrap_or(&empty);
    let differences = conditions
        .iter()
        .filter(|c| **c != baseline)
        .map(|c| {
            let other = by.get(c).unwrap_or(&empty);
            // Pairs in key order (study, question, model, repeat).
            let mut diffs = Vec::new();
            let keys: BTreeSet<&Key> = other.keys().chain(base.keys()).collect();
            let mut dropped = 0;
            for k in keys {
                match (
                    other.get(k).copied().flatten(),
                    base.get(k).copied().flatten(),
                ) {
                    (Some(a), Some(b)) => diffs.push(a - b),
                    _ => {
                        dropped +=
                            usize::from(other.contains_key(k)) + usize::from(base.contains_key(k));
                    }
                }
            }
            let interval = bootstrap_interval(&diffs, options.resamples, options.seed);
            Difference {
                condition: *c,
                baseline,
                n_pairs: diffs.len(),
                dropped,
                mean: mean(&diffs),
                lower: interval.map(|i| i.0),
                upper: interval.map(|i| i.1),
            }
        })
        .collect();
    MetricPaired {
        metric,
        unit: metric.unit(),
        values,
        differences,
    }
}

/// Computes each metric per condition and the paired differences against
/// the baseline, per study (or pooled) and stratum. Fails, naming the fix,
/// when the baseline has no run in a study. Pure: no IO.
pub fn paired(runs: &[RunInput], options: &PairedOptions) -> Result<Paired, String> {
    let (units, left_out) = per_run(runs, options);
    let metrics: Vec<Metric> = Metric::ALL
        .into_iter()
        .filter(|m| !matches!(m, Metric::Brier | Metric::LogLoss) || !options.outcomes.is_empty())
        .collect();
    // Blocks: study folder (or one pooled) → its units, in first-seen order.
    let mut blocks: Vec<(String, Vec<&Unit1>)> = Vec::new();
    for u in &units {
        let name = if options.pool {
            "(pooled)".to_string()
        } else {
            u.study.clone()
        };
        match blocks.iter_mut().find(|b| b.0 == name) {
            Some(b) => b.1.push(u),
            None => blocks.push((name, vec![u])),
        }
    }
    let mut studies = Vec::new();
    for (name, us) in blocks {
        let folders: Vec<String> = us
            .iter()
            .map(|u| u.study.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let present: BTreeSet<Condition> = us.iter().map(|u| u.condition).collect();
        let mut order: Vec<Condition> = Vec::new();
        for f in &folders {
            let listed = options.orders.get(f).cloned().unwrap_or_default();
            for c in listed.into_iter().chain(Condition::ALL) {
                if present.contains(&c) && !order.contains(&c) {
                    order.push(c);
                }
            }
        }
        let (baseline, baseline_choice) = match options.baseline {
            Some(b) if present.contains(&b) => (b, BaselineChoice::Given),
            Some(b) => {
                return Err(format!(
                    "--baseline {b}: the study {name} has no run in condition {b} (it has {}); choose one of those",
                    order.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                ))
            }
            None => (order[0], BaselineChoice::FirstOfStudy),
        };
        let mut strata: Vec<(StratumKey, Vec<&Unit1>)> = Vec::new();
        for u in &us {
            let key = match options.strata {
                Strata::All => (None, None),
                Strata::Model => (None, Some(u.model.clone())),
                Strata::QuestionModel => (Some(u.question_id.clone()), Some(u.model.clone())),
            };
            match strata.iter_mut().find(|s| s.0 == key) {
                Some(s) => s.1.push(u),
                None => strata.push((key, vec![u])),
            }
        }
        let strata = strata
            .into_iter()
            .map(|((question_id, model), su)| Stratum {
                question_id,
                model,
                metrics: metrics
                    .iter()
                    .map(|m| metric_paired(&su, *m, &order, baseline, options))
                    .collect(),
            })
            .collect();
        studies.push(StudyPaired {
            study: name,
            folders,
            conditions: order,
            baseline,
            baseline_choice,
            runs: us.len(),
            strata,
        });
    }
    if studies.is_empty() {
        return Err(
            "no study run to pair: paired statistics need the runs of a study (`council batch --conditions debate,vote`); give the study's folder".into(),
        );
    }
    Ok(Paired {
        version: PAIRED_VERSION,
        seed: options.seed,
        resamples: options.resamples,
        confidence: 0.95,
        strata: options.strata,
        pooled: options.pool,
        left_out,
        studies,
    })
}

/// The JSON Schema of the paired output (`council compare --by condition --format json`).
pub fn paired_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Paired)).unwrap_or_default()
}

/// Formats a value for the table and CSV (empty when undefined).
fn num(x: Option<f64>, decimals: usize) -> String {
    x.map_or_else(String::new, |v| format!("{v:.decimals$}"))
}

/// The paired statistics as CSV: one row per study × stratum × metric ×
/// condition, the seed and resamples in every row.
pub fn paired_csv(p: &Paired) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "study",
        "question_id",
        "model",
        "metric",
        "unit",
        "condition",
        "n",
        "value",
        "baseline",
        "n_pairs",
        "dropped",
        "diff",
        "lower",
        "upper",
        "seed",
        "resamples",
    ]);
    for s in &p.studies {
        for st in &s.strata {
            for m in &st.metrics {
                for v in &m.values {
                    let d = m.differences.iter().find(|d| d.condition == v.condition);
                    let unit = match m.unit {
                        Unit::Run => "run",
                        Unit::QuestionModel => "question_model",
                    };
                    let _ = w.write_record([
                        s.study.clone(),
                        st.question_id.clone().unwrap_or_default(),
                        st.model.clone().unwrap_or_default(),
                        m.metric.as_str().to_string(),
                        unit.to_string(),
                        v.condition.as_str().to_string(),
                        v.n.to_string(),
                        v.mean.map_or_else(String::new, |x| x.to_string()),
                        s.baseline.as_str().to_string(),
                        d.map_or_else(String::new, |d| d.n_pairs.to_string()),
                        d.map_or_else(String::new, |d| d.dropped.to_string()),
                        d.and_then(|d| d.mean)
                            .map_or_else(String::new, |x| x.to_string()),
                        d.and_then(|d| d.lower)
                            .map_or_else(String::new, |x| x.to_string()),
                        d.and_then(|d| d.upper)
                            .map_or_else(String::new, |x| x.to_string()),
                        p.seed.to_string(),
                        p.resamples.to_string(),
                    ]);
                }
            }
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The paired statistics as text tables for people.
pub fn paired_text(p: &Paired) -> String {
    let mut out = format!(
        "Paired comparison of conditions: mean per condition and mean paired difference (condition − baseline), matched by question × model × repeat (verdict_agreement: by question × model); percentile-bootstrap 95% interval, {} resamples, seed {} (README: \"Paired statistics\").\n",
        p.resamples, p.seed
    );
    if p.left_out > 0 {
        out.push_str(&format!(
            "{} run(s) left out: not a study's run (a variant, a branch, or a run outside a study).\n",
            p.left_out
        ));
    }
    for s in &p.studies {
        let chosen = match s.baseline_choice {
            BaselineChoice::Given => "given",
            BaselineChoice::FirstOfStudy => "the study's first condition; --baseline to choose",
        };
        out.push_str(&format!(
            "\nStudy {} ({} run{}; baseline {}: {chosen})\n",
            s.study,
            s.runs,
            if s.runs == 1 { "" } else { "s" },
            s.baseline
        ));
        for st in &s.strata {
            match (&st.question_id, &st.model) {
                (Some(q), Some(m)) => out.push_str(&format!("\n  question {q} · model {m}\n")),
                (None, Some(m)) => out.push_str(&format!("\n  model {m}\n")),
                _ => out.push('\n'),
            }
            let mut rows: Vec<[String; 7]> = vec![[
                "metric".into(),
                "condition".into(),
                "n".into(),
                "value".into(),
                "n pairs".into(),
                "diff".into(),
                "95% interval".into(),
            ]];
            for m in &st.metrics {
                let decimals = if matches!(m.metric, Metric::Tokens) {
                    1
                } else {
                    4
                };
                for v in &m.values {
                    let d = m.differences.iter().find(|d| d.condition == v.condition);
                    let (pairs, diff, ci) = match d {
                        Some(d) => (
                            format!("{} ({} dropped)", d.n_pairs, d.dropped),
                            num(d.mean, decimals),
                            match (d.lower, d.upper) {
                                (Some(l), Some(u)) => {
                                    format!(
                                        "[{}, {}]",
                                        num(Some(l), decimals),
                                        num(Some(u), decimals)
                                    )
                                }
                                _ => "no pairs".into(),
                            },
                        ),
                        None => ("baseline".into(), String::new(), String::new()),
                    };
                    rows.push([
                        m.metric.as_str().into(),
                        v.condition.as_str().into(),
                        v.n.to_string(),
                        num(v.mean, decimals),
                        pairs,
                        diff,
                        ci,
                    ]);
                }
            }
            let widths: Vec<usize> = (0..7)
                .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
                .collect();
            for r in rows {
                let line: Vec<String> = r
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                out.push_str(&format!("  {}\n", line.join("  ").trim_end()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_outputs() {
        // The first outputs from seed 0 of the reference C code (Vigna's splitmix64.c).
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(r.next_u64(), 0x06C4_5D18_8009_454F);
    }

    #[test]
    fn the_quantile_ranks_are_type_1() {
        assert_eq!(quantile_rank(2000, 25), 50);
        assert_eq!(quantile_rank(2000, 975), 1950);
        assert_eq!(quantile_rank(1, 25), 1);
        assert_eq!(quantile_rank(1, 975), 1);
        // 0.025 × 100 = 2.5 → the 3rd smallest.
        assert_eq!(quantile_rank(100, 25), 3);
    }

    #[test]
    fn a_constant_difference_has_a_point_interval_and_an_empty_one_none() {
        assert_eq!(bootstrap_interval(&[0.25; 7], 500, 9), Some((0.25, 0.25)));
        assert_eq!(bootstrap_interval(&[], 500, 9), None);
        assert_eq!(bootstrap_interval(&[1.0], 0, 9), None);
    }

    #[test]
    fn the_interval_holds_the_mean_depends_on_the_seed_and_repeats_with_it() {
        let d: Vec<f64> = (0..40).map(|i| f64::from(i % 7) - 2.0).collect();
        let m = d.iter().sum::<f64>() / d.len() as f64;
        let a = bootstrap_interval(&d, 2000, 7).unwrap();
        assert!(a.0 < m && m < a.1, "{a:?} around {m}");
        assert_eq!(bootstrap_interval(&d, 2000, 7), Some(a));
        assert_ne!(bootstrap_interval(&d, 2000, 8), Some(a));
        // Two values 0 and 1: every resample mean is k/2 for k in 0..=2.
        let (lo, hi) = bootstrap_interval(&[0.0, 1.0], 2000, 3).unwrap();
        assert_eq!((lo, hi), (0.0, 1.0));
    }
}
