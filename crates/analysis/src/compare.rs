//! Research metrics over many transcripts (`council compare`): how each
//! persona (and each model) argues across rounds, whether a run's panel
//! collapses into consensus, and how stable a question's verdict is across
//! repeats and models. Every metric is a small pure function below; its
//! doc comment is its definition (the README's "Research" section repeats
//! them). [`compare`] puts them together into a [`Comparison`], whose JSON
//! is what `council compare --format json` prints.

use crate::forecasts::RunForecast;
use council_core::answers::Stance;
use council_core::report::{tally, Tally};
use council_core::study::Condition;
use council_core::synthesis::Answers;
use council_core::variant::RunKind;
use council_core::{Move, RunStatus, Transcript, Turn, TurnStatus};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The version of `council compare`'s JSON output (2: runs and rows carry
/// their kind, source, question id, repeat and seed; copies count once;
/// 3: and their study condition).
pub const COMPARE_VERSION: u32 = 3;

/// Where a study's run sits in its study.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyCell {
    /// The question's id in the study file.
    pub question_id: String,
    /// The repeat, from 1.
    pub repeat: u32,
    /// The run's seed.
    pub seed: u64,
    /// The model the study asked it with.
    pub model: String,
    /// The condition it was played in.
    pub condition: council_core::study::Condition,
    /// The study's folder, as found (runs of different studies are never paired).
    pub study: String,
}

/// A run to compare: a label naming it (its folder, as found), its
/// transcript and, for a study's run, where it sits in the study.
#[derive(Debug, Clone)]
pub struct RunInput {
    /// How the run is named in every table (unique among the runs compared).
    pub label: String,
    /// The run's transcript.
    pub transcript: Transcript,
    /// Its question, repeat and seed in its study, if it is a study's run.
    pub study: Option<StudyCell>,
}

impl RunInput {
    /// A run to compare.
    pub fn new(label: impl Into<String>, transcript: Transcript, study: Option<StudyCell>) -> Self {
        RunInput {
            label: label.into(),
            transcript,
            study,
        }
    }
}

/// How runs are compared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompareOptions {
    /// Pool variants and branches with a question's repeats in the
    /// per-question statistics (by default only debates are pooled).
    pub include_derived: bool,
}

/// Which run a row or a run's metrics come from: its kind, its source and
/// where it sits in its study.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RunId {
    /// A debate, a variant (adds no data) or a branch (adds what it spoke).
    pub kind: RunKind,
    /// For a variant or branch: the run it came from, as recorded.
    pub source: Option<String>,
    /// For a study's run: the question's id in the study file.
    pub question_id: Option<String>,
    /// For a study's run: the repeat, from 1.
    pub repeat: Option<u32>,
    /// The run's seed.
    pub seed: u64,
    /// The study condition it was played in (`debate` for a run outside a study).
    pub condition: Condition,
}

/// Everything `council compare` reports.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Comparison {
    /// Output format version.
    pub version: u32,
    /// One entry per run, in the order given.
    pub runs: Vec<RunMetrics>,
    /// One entry per persona id, over every run it sat in.
    pub personas: Vec<AdvisorMetrics>,
    /// One entry per model, over every turn and vote it produced.
    pub models: Vec<AdvisorMetrics>,
    /// One entry per question text (repeats and models of it together).
    pub questions: Vec<QuestionMetrics>,
    /// Final-stance agreement of each pair of personas, pooled over runs.
    pub agreement: PooledAgreement,
    /// The long table: one row per run × persona × round.
    pub rows: Vec<TurnRow>,
}

/// Whether a persona spoke in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RowStatus {
    /// It spoke.
    Ok,
    /// Its calls failed.
    Failed,
    /// It has no turn in that round (a branch's departed or new member, an unfinished run).
    Absent,
}

impl RowStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Ok => "ok",
            RowStatus::Failed => "failed",
            RowStatus::Absent => "absent",
        }
    }
}

/// One persona in one round of one run: a row of the long table.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TurnRow {
    /// The run's label.
    pub run: String,
    /// The run's kind, source, question id, repeat, seed and condition.
    #[serde(flatten)]
    pub id: RunId,
    /// The run's question.
    pub question: String,
    /// The model that produced the turn (empty when absent or unknown).
    pub model: String,
    /// Persona id.
    pub persona: String,
    /// Round number, from 1.
    pub round: u32,
    /// Spoken, failed or absent.
    pub status: RowStatus,
    /// The turn's stance on the question, if known.
    pub stance: Option<Stance>,
    /// The turn's confidence 0–100, if given.
    pub confidence: Option<u8>,
    /// The turn's move, if spoken.
    #[serde(rename = "move")]
    pub move_: Option<Move>,
    /// Whether the stance differs from this persona's in the round before
    /// (see [`flip`]); `None` in round 1 or when either stance is unknown.
    pub flip: Option<bool>,
    /// For a flip: whether it went to the previous round's majority of the
    /// others (see [`conforms`]); `None` when there was no flip.
    pub conforms: Option<bool>,
    /// Words in the turn's text ([`word_count`]), if spoken.
    pub words: Option<usize>,
    /// Prompt tokens, if reported.
    pub prompt_tokens: Option<u64>,
    /// Completion tokens, if reported.
    pub completion_tokens: Option<u64>,
    /// Whether the turn carries any flag; `None` when absent.
    pub flagged: Option<bool>,
}

/// Stances and confidences of one round, summed over a persona's or a
/// model's turns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct RoundStats {
    /// Round number.
    pub round: u32,
    /// Turns (spoken or failed) in this round.
    pub turns: usize,
    /// Mean confidence over the turns that gave one.
    pub mean_confidence: Option<f64>,
    /// Turns supporting.
    pub support: usize,
    /// Turns mixed.
    pub mixed: usize,
    /// Turns opposing.
    pub oppose: usize,
    /// Turns with no known stance (failed, or a transcript before stances).
    pub unknown: usize,
}

/// How often one move was made.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MoveShare {
    /// The move.
    #[serde(rename = "move")]
    pub move_: Move,
    /// Turns making it.
    pub count: usize,
    /// Its share of the turns that made a move.
    pub share: Option<f64>,
}

/// The metrics of one persona (or one model) over every run compared.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AdvisorMetrics {
    /// Persona id, or model name.
    pub key: String,
    /// A persona's display name (for a model: the model name).
    pub name: String,
    /// Runs in which it has a turn.
    pub runs: usize,
    /// Turns, spoken or failed.
    pub turns: usize,
    /// Turns whose calls failed.
    pub failed: usize,
    /// Per round: mean confidence and stance counts.
    pub by_round: Vec<RoundStats>,
    /// Consecutive-round pairs with both stances known.
    pub flip_pairs: usize,
    /// Of those, pairs whose stance changed.
    pub flips: usize,
    /// `flips / flip_pairs` ([`flip`]).
    pub flip_rate: Option<f64>,
    /// Flips toward the others' majority of the round before ([`conforms`]).
    pub conforming_flips: usize,
    /// `conforming_flips / flips`.
    pub conformity: Option<f64>,
    /// Turns whose move is CONCEDE.
    pub concessions: usize,
    /// The share of each move over turns that made one, in canonical order.
    pub moves: Vec<MoveShare>,
    /// Whom its turns answer: persona id → times named in `responds_to`.
    pub answers: BTreeMap<String, usize>,
    /// Whom it challenges: persona id → times named in `responds_to` of a
    /// CHALLENGE or FACTCHECK turn.
    pub challenges: BTreeMap<String, usize>,
    /// Mean words per spoken turn.
    pub mean_words: Option<f64>,
    /// Mean prompt tokens per turn that reported them.
    pub mean_prompt_tokens: Option<f64>,
    /// Mean completion tokens per turn that reported them.
    pub mean_completion_tokens: Option<f64>,
    /// Turns carrying at least one flag.
    pub flagged: usize,
    /// `flagged / turns`.
    pub flagged_share: Option<f64>,
    /// Forecast probabilities given (one per forecast per run).
    pub forecasts: usize,
    /// Mean |p − 0.5| over those probabilities ([`extremity`]).
    pub extremity: Option<f64>,
    /// Mean |p − panel median| over those probabilities ([`spread`]).
    pub spread: Option<f64>,
}

/// The metrics of one run.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RunMetrics {
    /// The run's label.
    pub run: String,
    /// The run's kind, source, question id, repeat, seed and condition.
    #[serde(flatten)]
    pub id: RunId,
    /// Its question.
    pub question: String,
    /// Its date.
    pub date: String,
    /// How it ended.
    pub status: RunStatus,
    /// The models its turns came from, sorted.
    pub models: Vec<String>,
    /// Rounds in the transcript.
    pub rounds: u32,
    /// The personas with a row, in panel order (then any other speaker).
    pub personas: Vec<String>,
    /// The verdict's stance, if known.
    pub verdict: Option<Stance>,
    /// The confidence-weighted vote ([`vote_tally`]), when any vote counted.
    pub tally: Option<Tally>,
    /// Consecutive-round pairs with both stances known, over all personas.
    pub flip_pairs: usize,
    /// Of those, pairs whose stance changed.
    pub flips: usize,
    /// The first round where every known stance agrees ([`collapse_round`]).
    pub collapse_round: Option<u32>,
    /// Stance entropy in bits per round ([`stance_entropy`]), round 1 first.
    pub entropy: Vec<Option<f64>>,
    /// Each persona's final stance ([`final_stance`]), in `personas` order.
    pub final_stances: Vec<Option<Stance>>,
    /// Pairwise agreement of final stances ([`agreement_matrix`]), rows and
    /// columns in `personas` order.
    pub agreement: Vec<Vec<Option<u8>>>,
    /// The mean of the defined pairs of `agreement` ([`agreement_rate`]).
    pub agreement_rate: Option<f64>,
    /// Forecasts the run made (as its report shows them).
    pub forecasts: usize,
    /// Forecasts a vote gave several probabilities (the first counts).
    pub repeated_probabilities: usize,
}

/// The metrics of one question over its runs (repeats and models).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct QuestionMetrics {
    /// The question (runs are grouped by its trimmed text).
    pub question: String,
    /// Runs of it.
    pub runs: usize,
    /// Models used across those runs, sorted.
    pub models: Vec<String>,
    /// Runs whose verdict's stance is known.
    pub verdicts: usize,
    /// The most common verdict stance ([`verdict_agreement`]).
    pub modal_verdict: Option<Stance>,
    /// The share of known verdicts equal to the modal one.
    pub verdict_agreement: Option<f64>,
    /// Runs whose vote counted at least one stance.
    pub tallied: usize,
    /// Mean weighted support share over those runs.
    pub mean_support_share: Option<f64>,
    /// Sample standard deviation of the weighted support share ([`sample_sd`]).
    pub support_share_sd: Option<f64>,
    /// Runs whose panel collapsed into one stance in some round.
    pub collapsed: usize,
}

/// Final-stance agreement per pair of personas, pooled over every run in
/// which both sat with a known final stance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct PooledAgreement {
    /// Persona ids, rows and columns in this order.
    pub personas: Vec<String>,
    /// Runs in which both of the pair had a known final stance.
    pub pairs: Vec<Vec<usize>>,
    /// Of those, runs in which the two final stances were the same.
    pub agree: Vec<Vec<usize>>,
    /// `agree / pairs`, `None` where `pairs` is 0.
    pub rate: Vec<Vec<Option<f64>>>,
}

// ------------------------------------------------------------ the metrics

/// The majority stance: the one held by strictly more of `stances` than
/// any other (a plurality); `None` when empty or when the top two tie.
pub fn majority(stances: &[Stance]) -> Option<Stance> {
    let counts = Stance::ALL.map(|s| (s, stances.iter().filter(|x| **x == s).count()));
    let best = counts.iter().map(|c| c.1).max()?;
    let mut top = counts.iter().filter(|c| c.1 == best && best > 0);
    match (top.next(), top.next()) {
        (Some(c), None) => Some(c.0),
        _ => None,
    }
}

/// A flip between two consecutive rounds of one persona: `Some(true)` when
/// both stances are known and differ, `Some(false)` when both are known
/// and equal, `None` when either is unknown (the pair is not counted).
pub fn flip(before: Option<Stance>, after: Option<Stance>) -> Option<bool> {
    Some(before? != after?)
}

/// Whether a flip to `after` conforms: `after` equals the [`majority`] of
/// the other advisors' known stances in the round before
/// (`others_before`). With no majority there (a tie, or no known stance)
/// the flip does not conform.
pub fn conforms(after: Stance, others_before: &[Stance]) -> bool {
    majority(others_before) == Some(after)
}

/// Shannon entropy in bits of the known stances of a round:
/// −Σ pᵢ·log₂ pᵢ over support, mixed and oppose, pᵢ being each one's share
/// of `stances`. 0 when all agree, log₂ 3 ≈ 1.585 when evenly split three
/// ways; `None` when no stance is known.
pub fn stance_entropy(stances: &[Stance]) -> Option<f64> {
    if stances.is_empty() {
        return None;
    }
    let n = stances.len() as f64;
    let h: f64 = Stance::ALL
        .iter()
        .map(|s| stances.iter().filter(|x| *x == s).count() as f64 / n)
        .filter(|p| *p > 0.0)
        .map(|p| -p * p.log2())
        .sum();
    // `+ 0.0` turns the -0.0 of a consensus into 0.0 (printed "-0.00" otherwise).
    Some(h.max(0.0) + 0.0)
}

/// Disagreement collapse: the number of the first round in which at least
/// two stances are known and all known stances are the same; `None` when
/// no round does. `rounds` holds each round's number and known stances.
pub fn collapse_round(rounds: &[(u32, Vec<Stance>)]) -> Option<u32> {
    rounds
        .iter()
        .find(|(_, s)| s.len() >= 2 && s.iter().all(|x| *x == s[0]))
        .map(|(n, _)| *n)
}

/// A persona's final stance: its stance in the last round in which it is
/// known (`track` holds its stance per round, in order).
pub fn final_stance(track: &[Option<Stance>]) -> Option<Stance> {
    track.iter().rev().find_map(|s| *s)
}

/// Pairwise agreement of final stances: entry (i, j) is 1 when both are
/// known and equal, 0 when both are known and differ, `None` when either
/// is unknown (the diagonal is 1 where the stance is known).
pub fn agreement_matrix(finals: &[Option<Stance>]) -> Vec<Vec<Option<u8>>> {
    finals
        .iter()
        .map(|a| {
            finals
                .iter()
                .map(|b| Some(u8::from(a.as_ref()? == b.as_ref()?)))
                .collect()
        })
        .collect()
}

/// The share of agreeing pairs: the mean of the defined entries above the
/// diagonal of an [`agreement_matrix`]; `None` when no pair is defined.
pub fn agreement_rate(matrix: &[Vec<Option<u8>>]) -> Option<f64> {
    let cells: Vec<u8> = matrix
        .iter()
        .enumerate()
        .flat_map(|(i, row)| row.iter().skip(i + 1).filter_map(|c| *c))
        .collect();
    mean(cells.iter().map(|c| f64::from(*c)))
}

/// Words in a turn: runs of non-whitespace characters (a text in a
/// language written without spaces counts as few words).
pub fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// The run's confidence-weighted vote, as the report computes it: each
/// panel member's vote weighted by its recalibrated confidence
/// ([`council_core::report::recalibrate`]: ≤60 → 0.1, ≤80 → 0.3, ≤90 → 0.5, <100 → 0.8,
/// 100 → 1.0), shares normalised to sum to 1 ([`tally`]).
pub fn vote_tally(t: &Transcript, a: &Answers) -> Tally {
    tally(&a.report_votes(&t.panel))
}

/// Extremity of a forecast probability: |p − 0.5| (0 for a coin flip,
/// 0.5 for certainty either way).
pub fn extremity(p: f64) -> f64 {
    (p - 0.5).abs()
}

/// Spread of a forecast probability from the panel: |p − m|, m being the
/// panel median for that forecast.
pub fn spread(p: f64, panel_median: f64) -> f64 {
    (p - panel_median).abs()
}

/// The sample standard deviation (n − 1 in the denominator, as pandas'
/// `std()` and R's `sd()`); `None` for fewer than two values.
pub fn sample_sd(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (xs.len() - 1) as f64).sqrt())
}

/// How often verdicts agree: the modal stance of `verdicts` (the most
/// common; a tie goes to the first in support, mixed, oppose order) and
/// the share of verdicts equal to it; `None` when there are none.
pub fn verdict_agreement(verdicts: &[Stance]) -> Option<(Stance, f64)> {
    let (stance, count) = Stance::ALL
        .iter()
        .map(|s| (*s, verdicts.iter().filter(|v| *v == s).count()))
        .fold(None, |best: Option<(Stance, usize)>, c| match best {
            Some(b) if b.1 >= c.1 => Some(b),
            _ => Some(c),
        })?;
    (count > 0).then(|| (stance, count as f64 / verdicts.len() as f64))
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

// ------------------------------------------------------------ one run

/// One run laid out as a grid: personas × rounds, each cell the turn.
struct Grid<'t> {
    personas: Vec<&'t str>,
    rounds: Vec<u32>,
    cells: Vec<Vec<Option<&'t Turn>>>,
}

impl<'t> Grid<'t> {
    fn of(t: &'t Transcript) -> Grid<'t> {
        let mut personas: Vec<&str> = t.panel.iter().map(|p| p.id.as_str()).collect();
        for turn in t.rounds.iter().flat_map(|r| &r.turns) {
            if !personas.contains(&turn.persona.as_str()) {
                personas.push(&turn.persona);
            }
        }
        let rounds: Vec<u32> = t.rounds.iter().map(|r| r.number).collect();
        let cells = personas
            .iter()
            .map(|p| {
                t.rounds
                    .iter()
                    .map(|r| r.turns.iter().find(|x| x.persona == *p))
                    .collect()
            })
            .collect();
        Grid {
            personas,
            rounds,
            cells,
        }
    }

    fn stance(&self, p: usize, r: usize) -> Option<Stance> {
        self.cells[p][r].and_then(|t| t.stance)
    }

    /// The known stances of round index `r`, leaving out persona `skip`.
    fn stances_of_round(&self, r: usize, skip: Option<usize>) -> Vec<Stance> {
        (0..self.personas.len())
            .filter(|p| Some(*p) != skip)
            .filter_map(|p| self.stance(p, r))
            .collect()
    }
}

/// What one run contributes: its metrics, its rows (with the turns behind
/// them, for the per-persona and per-model sums) and its forecasts.
struct RunPart<'t> {
    metrics: RunMetrics,
    rows: Vec<(TurnRow, Option<&'t Turn>)>,
    forecasts: Vec<RunForecast>,
    names: Vec<(String, String)>,
}

/// What one run adds. Only what it spoke itself counts: a variant's turns,
/// votes and forecasts are copies (it adds no row, no stance, no vote); a
/// branch adds the rounds from its branch point on (a flip pair counts when
/// its later turn was spoken in the branch, so at least one of its two
/// turns was) and its own synthesis. The copies count in the run they came
/// from.
fn run_part<'t>(input: &'t RunInput) -> RunPart<'t> {
    let t = &input.transcript;
    let label = input.label.as_str();
    let kind = RunKind::of(t.origin.as_ref());
    let first_own = kind.first_own_round(t.origin.as_ref());
    let id = RunId {
        kind,
        source: t.origin.as_ref().map(|o| o.source.clone()),
        question_id: input.study.as_ref().map(|s| s.question_id.clone()),
        repeat: input.study.as_ref().map(|s| s.repeat),
        seed: input.study.as_ref().map_or(t.seed, |s| s.seed),
        condition: t.condition,
    };
    let answers = Answers::from_transcript(t);
    let g = Grid::of(t);
    // A round the run spoke itself (its own turns, not copies).
    let own = |r: usize| g.rounds[r] >= first_own;
    let mut rows = Vec::new();
    let (mut flips, mut flip_pairs) = (0, 0);
    for (p, persona) in g.personas.iter().enumerate() {
        for (r, round) in g.rounds.iter().enumerate() {
            let turn = g.cells[p][r];
            if !own(r) || turn.is_some_and(|x| x.copied_from.is_some()) {
                continue;
            }
            let consecutive = r > 0 && g.rounds[r - 1] + 1 == *round;
            let flipped = if consecutive {
                flip(g.stance(p, r - 1), g.stance(p, r))
            } else {
                None
            };
            if let Some(f) = flipped {
                flip_pairs += 1;
                flips += usize::from(f);
            }
            let conformed = match (flipped, g.stance(p, r)) {
                (Some(true), Some(now)) => Some(conforms(now, &g.stances_of_round(r - 1, Some(p)))),
                _ => None,
            };
            let spoken = turn.filter(|x| x.status == TurnStatus::Ok);
            let row = TurnRow {
                run: label.to_string(),
                id: id.clone(),
                question: t.question.clone(),
                model: turn.map(|x| x.model.clone()).unwrap_or_default(),
                persona: persona.to_string(),
                round: *round,
                status: match turn {
                    None => RowStatus::Absent,
                    Some(x) if x.status == TurnStatus::Failed => RowStatus::Failed,
                    Some(_) => RowStatus::Ok,
                },
                stance: g.stance(p, r),
                confidence: turn.and_then(|x| x.confidence),
                move_: turn.and_then(|x| x.move_),
                flip: flipped,
                conforms: conformed,
                words: spoken.map(|x| word_count(&x.text)),
                prompt_tokens: turn.and_then(|x| x.usage.prompt_tokens),
                completion_tokens: turn.and_then(|x| x.usage.completion_tokens),
                flagged: turn.map(|x| !x.flags.is_empty()),
            };
            rows.push((row, turn));
        }
    }
    let by_round: Vec<(u32, Vec<Stance>)> = g
        .rounds
        .iter()
        .enumerate()
        .map(|(r, n)| {
            let stances = if own(r) {
                g.stances_of_round(r, None)
            } else {
                Vec::new()
            };
            (*n, stances)
        })
        .collect();
    let final_stances: Vec<Option<Stance>> = (0..g.personas.len())
        .map(|p| {
            let track: Vec<Option<Stance>> = (0..g.rounds.len())
                .map(|r| g.stance(p, r).filter(|_| own(r)))
                .collect();
            final_stance(&track)
        })
        .collect();
    let agreement = agreement_matrix(&final_stances);
    // A variant's vote and verdict stance are its source's (held to it).
    let spoke_synthesis = kind != RunKind::Variant;
    let vote = vote_tally(t, &answers);
    let models: Vec<String> = rows
        .iter()
        .filter_map(|(_, turn)| *turn)
        .filter(|x| !x.model.is_empty())
        .map(|x| x.model.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let table = council_core::forecasts::panel_forecasts_with(t, &answers);
    let metrics = RunMetrics {
        run: label.to_string(),
        id,
        question: t.question.clone(),
        date: t.date.clone(),
        status: t.status,
        models,
        rounds: g.rounds.len() as u32,
        personas: g.personas.iter().map(|p| p.to_string()).collect(),
        verdict: answers
            .verdict
            .as_ref()
            .and_then(|v| v.stance)
            .filter(|_| spoke_synthesis),
        tally: (vote.counted > 0 && spoke_synthesis).then_some(vote),
        flip_pairs,
        flips,
        collapse_round: collapse_round(&by_round),
        entropy: by_round.iter().map(|(_, s)| stance_entropy(s)).collect(),
        agreement_rate: agreement_rate(&agreement),
        final_stances,
        agreement,
        forecasts: table.kept.len(),
        repeated_probabilities: table.several.len(),
    };
    let names = g
        .personas
        .iter()
        .map(|p| (p.to_string(), t.name_of(p).to_string()))
        .collect();
    RunPart {
        metrics,
        rows,
        forecasts: table.kept,
        names,
    }
}

// ------------------------------------------------------------ sums

#[derive(Default)]
struct RoundAcc {
    turns: usize,
    confidence: (f64, usize),
    stances: [usize; 3],
    unknown: usize,
}

/// The running sums behind one [`AdvisorMetrics`].
#[derive(Default)]
struct Acc {
    name: String,
    runs: BTreeSet<usize>,
    turns: usize,
    failed: usize,
    rounds: BTreeMap<u32, RoundAcc>,
    flip_pairs: usize,
    flips: usize,
    conforming: usize,
    moves: [usize; 6],
    answers: BTreeMap<String, usize>,
    challenges: BTreeMap<String, usize>,
    words: (f64, usize),
    prompt: (f64, usize),
    completion: (f64, usize),
    flagged: usize,
    forecasts: usize,
    extremity: f64,
    spread: (f64, usize),
}

fn stance_index(s: Stance) -> usize {
    match s {
        Stance::Support => 0,
        Stance::Mixed => 1,
        Stance::Oppose => 2,
    }
}

impl Acc {
    fn add_row(&mut self, run: usize, row: &TurnRow, turn: Option<&Turn>) {
        let Some(turn) = turn else { return };
        self.runs.insert(run);
        self.turns += 1;
        self.failed += usize::from(turn.status == TurnStatus::Failed);
        let r = self.rounds.entry(row.round).or_default();
        r.turns += 1;
        if let Some(c) = row.confidence {
            r.confidence.0 += f64::from(c);
            r.confidence.1 += 1;
        }
        match row.stance {
            Some(s) => r.stances[stance_index(s)] += 1,
            None => r.unknown += 1,
        }
        if let Some(f) = row.flip {
            self.flip_pairs += 1;
            self.flips += usize::from(f);
        }
        self.conforming += usize::from(row.conforms == Some(true));
        if let Some(m) = row.move_ {
            if let Some(i) = Move::ALL.iter().position(|x| *x == m) {
                self.moves[i] += 1;
            }
        }
        for peer in &turn.responds_to {
            *self.answers.entry(peer.clone()).or_default() += 1;
            if matches!(row.move_, Some(Move::Challenge | Move::Factcheck)) {
                *self.challenges.entry(peer.clone()).or_default() += 1;
            }
        }
        if let Some(w) = row.words {
            self.words.0 += w as f64;
            self.words.1 += 1;
        }
        if let Some(p) = row.prompt_tokens {
            self.prompt.0 += p as f64;
            self.prompt.1 += 1;
        }
        if let Some(c) = row.completion_tokens {
            self.completion.0 += c as f64;
            self.completion.1 += 1;
        }
        self.flagged += usize::from(row.flagged == Some(true));
    }

    fn add_probability(&mut self, p: f64, panel_median: Option<f64>) {
        self.forecasts += 1;
        self.extremity += extremity(p);
        if let Some(m) = panel_median {
            self.spread.0 += spread(p, m);
            self.spread.1 += 1;
        }
    }

    fn finish(self, key: String) -> AdvisorMetrics {
        let moved: usize = self.moves.iter().sum();
        let avg = |(s, n): (f64, usize)| (n > 0).then(|| s / n as f64);
        AdvisorMetrics {
            name: if self.name.is_empty() {
                key.clone()
            } else {
                self.name
            },
            key,
            runs: self.runs.len(),
            turns: self.turns,
            failed: self.failed,
            by_round: self
                .rounds
                .into_iter()
                .map(|(round, r)| RoundStats {
                    round,
                    turns: r.turns,
                    mean_confidence: avg(r.confidence),
                    support: r.stances[0],
                    mixed: r.stances[1],
                    oppose: r.stances[2],
                    unknown: r.unknown,
                })
                .collect(),
            flip_pairs: self.flip_pairs,
            flips: self.flips,
            flip_rate: ratio(self.flips, self.flip_pairs),
            conforming_flips: self.conforming,
            conformity: ratio(self.conforming, self.flips),
            concessions: Move::ALL
                .iter()
                .zip(self.moves)
                .find(|(m, _)| **m == Move::Concede)
                .map_or(0, |(_, n)| n),
            moves: Move::ALL
                .iter()
                .zip(self.moves)
                .map(|(m, count)| MoveShare {
                    move_: *m,
                    count,
                    share: ratio(count, moved),
                })
                .collect(),
            answers: self.answers,
            challenges: self.challenges,
            mean_words: avg(self.words),
            mean_prompt_tokens: avg(self.prompt),
            mean_completion_tokens: avg(self.completion),
            flagged: self.flagged,
            flagged_share: ratio(self.flagged, self.turns),
            forecasts: self.forecasts,
            extremity: (self.forecasts > 0).then(|| self.extremity / self.forecasts as f64),
            spread: avg(self.spread),
        }
    }
}

fn finish_all(accs: Vec<(String, Acc)>) -> Vec<AdvisorMetrics> {
    accs.into_iter().map(|(k, a)| a.finish(k)).collect()
}

/// An ordered map from key to accumulator that keeps first-seen order.
struct Groups {
    index: HashMap<String, usize>,
    accs: Vec<(String, Acc)>,
}

impl Groups {
    fn new() -> Groups {
        Groups {
            index: HashMap::new(),
            accs: Vec::new(),
        }
    }

    fn get(&mut self, key: &str) -> &mut Acc {
        let i = match self.index.get(key) {
            Some(i) => *i,
            None => {
                self.accs.push((key.to_string(), Acc::default()));
                self.index.insert(key.to_string(), self.accs.len() - 1);
                self.accs.len() - 1
            }
        };
        &mut self.accs[i].1
    }
}

// ------------------------------------------------------------ all runs

/// Computes every metric over `runs`: per run, per persona, per model, per
/// question, the pooled agreement and the long table. Pure: no IO. Each
/// turn, vote and probability counts once, in the run that spoke it (see
/// [`compare_with`]).
pub fn compare(runs: &[RunInput]) -> Comparison {
    compare_with(runs, CompareOptions::default())
}

/// [`compare`], with variants and branches pooled into the per-question
/// statistics when `options.include_derived` says so (by default a
/// question's statistics are over its debates: repeats and models).
pub fn compare_with(runs: &[RunInput], options: CompareOptions) -> Comparison {
    let parts: Vec<RunPart<'_>> = runs.iter().map(run_part).collect();
    combine(parts, options)
}

fn combine(parts: Vec<RunPart<'_>>, options: CompareOptions) -> Comparison {
    let mut personas = Groups::new();
    let mut models = Groups::new();
    for (i, part) in parts.iter().enumerate() {
        for (row, turn) in &part.rows {
            personas.get(&row.persona).add_row(i, row, *turn);
            if turn.is_some() {
                let m = if row.model.is_empty() {
                    "(unknown)"
                } else {
                    &row.model
                };
                models.get(m).add_row(i, row, *turn);
            }
        }
        for (id, name) in &part.names {
            let acc = personas.get(id);
            if acc.name.is_empty() {
                acc.name = name.clone();
            }
        }
        for f in &part.forecasts {
            // A copied vote's probability counts where it was given.
            for p in f.probabilities.iter().filter(|p| !p.copied) {
                personas
                    .get(&p.persona)
                    .add_probability(p.probability, f.median);
                let m = if p.model.is_empty() {
                    "(unknown)"
                } else {
                    &p.model
                };
                models.get(m).add_probability(p.probability, f.median);
            }
        }
    }
    let run_metrics: Vec<RunMetrics> = parts.iter().map(|p| p.metrics.clone()).collect();
    let pooled: Vec<RunMetrics> = run_metrics
        .iter()
        .filter(|r| options.include_derived || r.id.kind == RunKind::Debate)
        .cloned()
        .collect();
    let questions = questions(&pooled);
    let agreement = pooled_agreement(&run_metrics);
    let rows = parts
        .into_iter()
        .flat_map(|p| p.rows.into_iter().map(|(row, _)| row))
        .collect();
    Comparison {
        version: COMPARE_VERSION,
        runs: run_metrics,
        personas: finish_all(personas.accs),
        models: finish_all(models.accs),
        questions,
        agreement,
        rows,
    }
}

fn questions(runs: &[RunMetrics]) -> Vec<QuestionMetrics> {
    let mut order: Vec<&str> = Vec::new();
    let mut by: HashMap<&str, Vec<&RunMetrics>> = HashMap::new();
    for r in runs {
        let q = r.question.trim();
        if !by.contains_key(q) {
            order.push(q);
        }
        by.entry(q).or_default().push(r);
    }
    order
        .into_iter()
        .map(|q| {
            let rs = &by[q];
            let verdicts: Vec<Stance> = rs.iter().filter_map(|r| r.verdict).collect();
            let shares: Vec<f64> = rs
                .iter()
                .filter_map(|r| r.tally.as_ref().map(|t| t.support))
                .collect();
            let agreement = verdict_agreement(&verdicts);
            QuestionMetrics {
                question: q.to_string(),
                runs: rs.len(),
                models: rs
                    .iter()
                    .flat_map(|r| r.models.iter().cloned())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                verdicts: verdicts.len(),
                modal_verdict: agreement.map(|a| a.0),
                verdict_agreement: agreement.map(|a| a.1),
                tallied: shares.len(),
                mean_support_share: mean(shares.iter().copied()),
                support_share_sd: sample_sd(&shares),
                collapsed: rs.iter().filter(|r| r.collapse_round.is_some()).count(),
            }
        })
        .collect()
}

fn pooled_agreement(runs: &[RunMetrics]) -> PooledAgreement {
    let mut ids: Vec<String> = Vec::new();
    for r in runs {
        for p in &r.personas {
            if !ids.contains(p) {
                ids.push(p.clone());
            }
        }
    }
    let at: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_str(), i))
        .collect();
    let n = ids.len();
    let mut pairs = vec![vec![0usize; n]; n];
    let mut agree = vec![vec![0usize; n]; n];
    for r in runs {
        for (i, a) in r.personas.iter().enumerate() {
            for (j, b) in r.personas.iter().enumerate() {
                if let Some(v) = r.agreement[i][j] {
                    let (x, y) = (at[a.as_str()], at[b.as_str()]);
                    pairs[x][y] += 1;
                    agree[x][y] += usize::from(v);
                }
            }
        }
    }
    let rate = pairs
        .iter()
        .zip(&agree)
        .map(|(p, a)| p.iter().zip(a).map(|(p, a)| ratio(*a, *p)).collect())
        .collect();
    PooledAgreement {
        personas: ids,
        pairs,
        agree,
        rate,
    }
}

/// The JSON Schema of `council compare --format json`'s output.
pub fn compare_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Comparison)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Stance::{Mixed, Oppose, Support};

    #[test]
    fn the_majority_is_a_unique_plurality() {
        assert_eq!(majority(&[Support, Support, Oppose]), Some(Support));
        assert_eq!(majority(&[Support, Oppose, Mixed, Mixed]), Some(Mixed));
        assert_eq!(majority(&[Support, Oppose]), None, "a tie has no majority");
        assert_eq!(majority(&[]), None);
    }

    #[test]
    fn a_flip_needs_both_stances_known() {
        assert_eq!(flip(Some(Support), Some(Oppose)), Some(true));
        assert_eq!(flip(Some(Mixed), Some(Mixed)), Some(false));
        assert_eq!(flip(None, Some(Mixed)), None);
        assert_eq!(flip(Some(Mixed), None), None);
    }

    #[test]
    fn entropy_is_zero_for_consensus_and_log2_3_for_an_even_three_way_split() {
        assert_eq!(stance_entropy(&[Oppose, Oppose]), Some(0.0));
        assert!(stance_entropy(&[Oppose, Oppose])
            .unwrap()
            .is_sign_positive());
        assert_eq!(stance_entropy(&[]), None);
        let even = stance_entropy(&[Support, Mixed, Oppose]).unwrap();
        assert!((even - 3f64.log2()).abs() < 1e-12);
        // 2 support, 2 oppose: exactly one bit.
        let one = stance_entropy(&[Support, Oppose, Support, Oppose]).unwrap();
        assert!((one - 1.0).abs() < 1e-12);
    }

    #[test]
    fn collapse_needs_two_known_stances_that_all_agree() {
        let rounds = vec![
            (1, vec![Support, Oppose]),
            (2, vec![Oppose]),
            (3, vec![Oppose, Oppose, Oppose]),
        ];
        assert_eq!(collapse_round(&rounds), Some(3));
        assert_eq!(collapse_round(&rounds[..2]), None);
    }

    #[test]
    fn the_agreement_matrix_leaves_unknown_pairs_undefined() {
        let m = agreement_matrix(&[Some(Support), Some(Support), Some(Oppose), None]);
        assert_eq!(m[0], vec![Some(1), Some(1), Some(0), None]);
        assert_eq!(m[3], vec![None, None, None, None]);
        // Pairs: (0,1)=1, (0,2)=0, (1,2)=0 → 1/3.
        let rate = agreement_rate(&m).unwrap();
        assert!((rate - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn verdict_agreement_is_the_modal_share() {
        assert_eq!(
            verdict_agreement(&[Support, Oppose, Support, Mixed]),
            Some((Support, 0.5))
        );
        assert_eq!(verdict_agreement(&[Oppose, Support]), Some((Support, 0.5)));
        assert_eq!(verdict_agreement(&[]), None);
    }

    #[test]
    fn the_sample_sd_divides_by_n_minus_one() {
        assert_eq!(sample_sd(&[0.5]), None);
        // mean 0.5; squares 0.04 + 0.04 = 0.08; / 1 → sd √0.08.
        let sd = sample_sd(&[0.3, 0.7]).unwrap();
        assert!((sd - 0.08f64.sqrt()).abs() < 1e-12);
    }
}
