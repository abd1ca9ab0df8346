//! The research metrics and forecast scores on a hand-made study (see
//! `fixture/mod.rs` for its table), every expected number computed by
//! hand in the comments beside it.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod fixture;

use council_analysis::compare::{AdvisorMetrics, Comparison, RowStatus};
use council_analysis::score::ScoreInput;
use council_analysis::tables::{self, Summary};
use council_analysis::{compare, forecasts_in, score, RunInput, Scores};
use council_core::answers::Stance::{self, Mixed as M, Oppose as O, Support as S};
use council_core::outcome::{latest, Outcome, Resolution};
use council_core::synthesis::Answers;
use council_core::Transcript;
use fixture::{id, F1, F2, F3, Q1, Q2};

fn close(got: Option<f64>, want: f64) {
    let g = got.unwrap_or(f64::NAN);
    assert!((g - want).abs() < 1e-9, "got {got:?}, want {want}");
}

fn inputs() -> Vec<RunInput> {
    fixture::study()
        .into_iter()
        .map(|(label, events)| RunInput {
            label: label.into(),
            transcript: Transcript::from_events(&events).unwrap(),
            study: None,
        })
        .collect()
}

fn comparison() -> Comparison {
    compare(&inputs())
}

fn persona<'a>(c: &'a Comparison, key: &str) -> &'a AdvisorMetrics {
    c.personas.iter().find(|p| p.key == key).unwrap()
}

#[test]
fn flip_rate_and_conformity_per_persona() {
    let c = comparison();
    // a: q1-m1-r1 S S O O → pairs (S,S) (S,O) (O,O): one flip, to O, when
    // the others of round 2 (b S, c O, d O) held O by majority: it
    // conforms. q1-m1-r2 S S: one pair, no flip. q1-m2-r1: one round.
    // 1 flip in 4 pairs; 1 of 1 flips conforms.
    let a = persona(&c, "a");
    assert_eq!((a.flips, a.flip_pairs), (1, 4));
    close(a.flip_rate, 0.25);
    close(a.conformity, 1.0);
    // b: O→S (others of round 1: a S, c O, d O → majority O; not
    // conforming), S→O (others of round 2: a S, c O, d O → O; conforming),
    // O→M (others of round 3: all O; not conforming); then S S in
    // q1-m1-r2. 3 flips in 4 pairs, 1 of 3 conforming.
    let b = persona(&c, "b");
    assert_eq!((b.flips, b.flip_pairs, b.conforming_flips), (3, 4, 1));
    close(b.flip_rate, 0.75);
    close(b.conformity, 1.0 / 3.0);
    // c: O O O O (3 pairs, no flip), then O→S in q1-m1-r2 where the others
    // (a S, b S) held S: 1 flip in 4 pairs, conforming.
    let cc = persona(&c, "c");
    close(cc.flip_rate, 0.25);
    close(cc.conformity, 1.0);
    // d: O O O, then a failed turn: the pair (O, –) is not counted.
    let d = persona(&c, "d");
    assert_eq!((d.flips, d.flip_pairs, d.failed, d.turns), (0, 2, 1, 4));
    close(d.flip_rate, 0.0);
    assert_eq!(d.conformity, None, "no flip, no conformity");
    // e and f: a transcript without stances has no pairs at all.
    assert_eq!(persona(&c, "e").flip_rate, None);
    // Per model: m1 has q1-m1-r1 (11 pairs, 4 flips, 2 conforming) and
    // q1-m1-r2 (3 pairs, 1 flip, conforming): 5 / 14, 3 / 5.
    let m1 = c.models.iter().find(|m| m.key == "m1").unwrap();
    assert_eq!((m1.flips, m1.flip_pairs, m1.turns), (5, 14, 24));
    close(m1.conformity, 0.6);
    let m2 = c.models.iter().find(|m| m.key == "m2").unwrap();
    assert_eq!((m2.flip_pairs, m2.turns), (0, 2));
}

#[test]
fn conformity_looks_at_the_others_only_and_a_tie_never_conforms() {
    let run = |label: &str, panel: &[&'static str], rounds: &[&[Option<Stance>]]| RunInput {
        label: label.into(),
        transcript: Transcript::from_events(&fixture::stances_only(panel, rounds)).unwrap(),
        study: None,
    };
    let c = compare(&[
        // x: O → S while y held S: the other's majority was S, so x
        // conforms (counting x itself, O and S would tie).
        run(
            "pair",
            &["x", "y"],
            &[&[Some(O), Some(S)], &[Some(S), Some(S)]],
        ),
        // z: O → S while the others held S and M: a tie, not conforming.
        run(
            "three",
            &["z", "v", "w"],
            &[&[Some(O), Some(S), Some(M)], &[Some(S), Some(S), Some(M)]],
        ),
    ]);
    close(persona(&c, "x").conformity, 1.0);
    close(persona(&c, "z").conformity, 0.0);
    assert_eq!(persona(&c, "z").flips, 1);
}

#[test]
fn confidence_and_stance_by_round_moves_answers_words_and_tokens() {
    let c = comparison();
    let a = persona(&c, "a");
    assert_eq!(a.name, "Advisor A");
    assert_eq!((a.runs, a.turns), (3, 7));
    // Round 1: 60, 50, 40 → 50; round 2: 70, 60 → 65; then 80, 90.
    let means: Vec<Option<f64>> = a.by_round.iter().map(|r| r.mean_confidence).collect();
    assert_eq!(means, [Some(50.0), Some(65.0), Some(80.0), Some(90.0)]);
    assert_eq!(
        (a.by_round[0].support, a.by_round[2].oppose),
        (3, 1),
        "S in all three first rounds; O in round 3"
    );
    let b = persona(&c, "b");
    assert_eq!(b.by_round[3].mixed, 1);
    // a: six SHAREs and one CONCEDE (answering b and c, challenging nobody).
    assert_eq!(a.concessions, 1);
    close(a.moves[5].share, 1.0 / 7.0);
    close(a.moves[1].share, 6.0 / 7.0);
    assert_eq!(
        a.answers
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect::<Vec<_>>(),
        [("b", 1), ("c", 1)]
    );
    assert!(a.challenges.is_empty());
    // b challenges c once (CHALLENGE, round 4); d fact-checks a once.
    assert_eq!(b.challenges.get("c"), Some(&1));
    assert_eq!(persona(&c, "d").challenges.get("a"), Some(&1));
    // d's moves: SHARE, FACTCHECK, SHARE and a failed turn (no move): 1/3 fact-checks.
    close(persona(&c, "d").moves[3].share, 1.0 / 3.0);
    // a's words: 5 + 6 × 3 = 23 over 7 turns; prompt tokens 200 + 6 × 100 = 800 over 7.
    close(a.mean_words, 23.0 / 7.0);
    close(a.mean_prompt_tokens, 800.0 / 7.0);
    close(a.mean_completion_tokens, 160.0 / 7.0);
    // d's failed turn has no words and no usage: means over its 3 spoken turns.
    close(persona(&c, "d").mean_words, 3.0);
    close(persona(&c, "d").mean_prompt_tokens, 100.0);
    // c: one flagged turn of 6.
    close(persona(&c, "c").flagged_share, 1.0 / 6.0);
}

#[test]
fn forecast_extremity_and_spread_against_the_panel_median() {
    let c = comparison();
    // Medians: F1 (.8 .6 .2 .9) → (.6 + .8) / 2 = .7; F2 (.3 .5 .1) → .3;
    // F3 (1 0 .5) → .5; F4 (.4) → .4.
    // a: .8, .3, 1.0 → extremity (.3 + .2 + .5) / 3; spread (.1 + 0 + .5) / 3.
    let a = persona(&c, "a");
    assert_eq!(a.forecasts, 3);
    close(a.extremity, 1.0 / 3.0);
    close(a.spread, 0.2);
    // d: .9, .1 → extremity .4; spread (.2 + .2) / 2.
    let d = persona(&c, "d");
    close(d.extremity, 0.4);
    close(d.spread, 0.2);
    // c: .2 (F1), .5 (F3), .4 (F4) → extremity (.3 + 0 + .1) / 3; spread (.5 + 0 + 0) / 3.
    let cc = persona(&c, "c");
    close(cc.extremity, 0.4 / 3.0);
    close(cc.spread, 0.5 / 3.0);
}

#[test]
fn collapse_entropy_and_the_agreement_matrix_per_run() {
    let c = comparison();
    let a = &c.runs[0];
    assert_eq!(a.run, "q1-m1-r1");
    // Round 1 {S O O O}: −(¼ log₂ ¼ + ¾ log₂ ¾) = 0.811278; round 2
    // {S S O O}: 1 bit; round 3 {O O O O}: 0; round 4 {O M O} (d failed):
    // −(⅔ log₂ ⅔ + ⅓ log₂ ⅓) = 0.918296.
    close(a.entropy[0], 0.811_278_124_459_132_8);
    close(a.entropy[1], 1.0);
    close(a.entropy[2], 0.0);
    close(a.entropy[3], 0.918_295_834_054_489_6);
    // Every known stance agrees first in round 3, though b leaves in round 4.
    assert_eq!(a.collapse_round, Some(3));
    assert_eq!((a.flips, a.flip_pairs), (4, 11));
    // Final stances: a O, b M, c O, d O (its last known, round 3).
    assert_eq!(a.final_stances, [Some(O), Some(M), Some(O), Some(O)]);
    let (y, n) = (Some(1), Some(0));
    assert_eq!(
        a.agreement,
        [[y, n, y, y], [n, y, n, n], [y, n, y, y], [y, n, y, y]]
    );
    // Pairs ab 0, ac 1, ad 1, bc 0, bd 0, cd 1 → 3 / 6.
    close(a.agreement_rate, 0.5);
    // Vote: a O 95 → .8, b M 70 → .3, c O 85 → .5, d S 50 → .1; total 1.7.
    let t = a.tally.as_ref().unwrap();
    close(Some(t.support), 0.1 / 1.7);
    close(Some(t.oppose), 1.3 / 1.7);
    assert_eq!(a.verdict, Some(O));

    let b = &c.runs[1];
    // {S S O} then {S S S}: collapse in round 2.
    close(b.entropy[0], 0.918_295_834_054_489_6);
    assert_eq!(b.collapse_round, Some(2));
    close(b.agreement_rate, 1.0);
    let cr = &c.runs[2];
    assert_eq!(cr.collapse_round, None, "S against O in its only round");
    close(cr.entropy[0], 1.0);
    close(cr.agreement_rate, 0.0);
    let old = &c.runs[3];
    assert_eq!(old.entropy, [None], "no stance known: no entropy");
    assert_eq!(old.collapse_round, None);
    assert_eq!(old.agreement, [[None, None], [None, None]]);
    assert_eq!(old.tally, None);

    // Pooled: a × b agreed in q1-m1-r2 only of three runs; b × c in one of two.
    let p = &c.agreement;
    assert_eq!(p.personas, ["a", "b", "c", "d", "e", "f"]);
    assert_eq!((p.agree[0][1], p.pairs[0][1]), (1, 3));
    close(p.rate[1][2], 0.5);
    close(p.rate[0][2], 1.0);
    assert_eq!(p.rate[4][5], None);
}

#[test]
fn verdict_agreement_and_the_spread_of_vote_shares_per_question() {
    let c = comparison();
    assert_eq!(c.questions.len(), 2);
    let q = &c.questions[0];
    assert_eq!(q.question, Q1);
    assert_eq!((q.runs, q.verdicts), (3, 3));
    assert_eq!(q.models, ["m1", "m2"]);
    // Verdicts O, S, O → modal O, 2 of 3.
    assert_eq!(q.modal_verdict, Some(O));
    close(q.verdict_agreement, 2.0 / 3.0);
    // Support shares 1/17 (q1-m1-r1), 1.1/1.4 = 11/14 (q1-m1-r2: a S 100 →
    // 1.0, b S 60 → .1, c O 75 → .3), .5 (q1-m2-r1: .5 each way).
    // Mean 0.448179; sample sd √(Σ(x − mean)² / 2) = 0.366206.
    close(q.mean_support_share, 0.448_179_271_708_683_5);
    close(q.support_share_sd, 0.366_205_657_807_187_06);
    assert_eq!(q.collapsed, 2);
    let q2 = &c.questions[1];
    assert_eq!(q2.question, Q2);
    assert_eq!(
        (q2.verdicts, q2.modal_verdict, q2.support_share_sd),
        (0, None, None)
    );
}

#[test]
fn the_long_csv_parses_and_has_a_row_per_run_persona_and_round() {
    let c = comparison();
    let text = tables::long_csv(&c);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let head: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        &head[..19],
        [
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
            "flagged"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // Runs × personas × rounds: 4 × 4 + 3 × 2 + 2 × 1 + 2 × 1 = 26.
    assert_eq!(rows.len(), 26);
    let b2 = rows
        .iter()
        .find(|r| &r[0] == "q1-m1-r1" && &r[9] == "b" && &r[10] == "2")
        .unwrap();
    assert_eq!(&b2[1], "debate");
    assert_eq!(&b2[6], "debate", "the condition of a run outside a study");
    assert_eq!(&b2[7], Q1, "the question, commas and all, survives quoting");
    assert_eq!(
        (&b2[11], &b2[13], &b2[14], &b2[19]),
        ("support", "CONCEDE", "1", "0")
    );
    let d4 = rows
        .iter()
        .find(|r| &r[0] == "q1-m1-r1" && &r[9] == "d" && &r[10] == "4")
        .unwrap();
    assert_eq!((&d4[11], &d4[14], &d4[20]), ("", "", "failed"));
    // Every summary parses too, with one row per persona, model, run, question.
    for (which, n) in [
        (Summary::Persona, 6),
        (Summary::Model, 2),
        (Summary::Run, 4),
        (Summary::Question, 2),
    ] {
        let text = tables::summary_csv(&c, which);
        let mut r = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(r.records().count(), n, "{}", which.as_str());
    }
    // The agreement pairs: 6 + 3 + 1 + 1.
    let pairs = tables::agreement_csv(&c);
    assert_eq!(
        csv::Reader::from_reader(pairs.as_bytes()).records().count(),
        11
    );
    assert_eq!(
        c.rows
            .iter()
            .filter(|r| r.status == RowStatus::Failed)
            .count(),
        1
    );
}

#[test]
fn the_compare_json_matches_its_published_schema() {
    let c = comparison();
    let value = serde_json::to_value(&c).unwrap();
    let schema = council_analysis::compare::compare_schema();
    assert_eq!(schema["title"], "Comparison");
    for key in [
        "runs",
        "personas",
        "models",
        "questions",
        "agreement",
        "rows",
    ] {
        assert!(value.get(key).is_some(), "{key}");
        assert!(schema["properties"].get(key).is_some(), "{key}");
    }
    assert_eq!(value["rows"][0]["move"], "SHARE");
}

fn outcome(id: &str, r: Resolution) -> Outcome {
    Outcome {
        id: id.into(),
        outcome: r,
        date: None,
        recorded: None,
    }
}

fn scores(runs: &[RunInput], outcomes: &[Outcome]) -> Scores {
    let inputs: Vec<ScoreInput> = runs
        .iter()
        .map(|r| ScoreInput {
            run: r.label.clone(),
            forecasts: forecasts_in(&r.transcript, &Answers::from_transcript(&r.transcript)),
        })
        .collect();
    score(&inputs, &latest(outcomes))
}

/// F1 came true; F2 and F3 did not (F3 first recorded as yes, then
/// corrected: the last line wins); F4 is open; F-000000 names nothing.
fn the_outcomes() -> Vec<Outcome> {
    vec![
        outcome(&id(F1), Resolution::Yes),
        outcome(&id(F3), Resolution::Yes),
        outcome(&id(F2), Resolution::No),
        outcome("F-000000", Resolution::No),
        outcome(&id(F3), Resolution::No),
    ]
}

#[test]
fn brier_scores_and_log_loss_per_persona_model_median_and_baseline() {
    let s = scores(&inputs(), &the_outcomes());
    assert_eq!((s.resolved, s.unresolved), (3, 1));
    assert_eq!(s.open[0].id, id(fixture::F4));
    close(s.open[0].median, 0.4);
    assert_eq!(s.unmatched, ["F-000000"]);
    let line = |k: &str| s.personas.iter().find(|l| l.key == k).unwrap();
    // a: (.8, yes), (.3, no), (1.0, no) → Brier (.04 + .09 + 1) / 3;
    // log loss (−ln .8 − ln .7 − ln .01) / 3, 1.0 clipped to .99.
    assert_eq!(line("a").count, 3);
    close(line("a").brier, 1.13 / 3.0);
    close(line("a").log_loss, 1.728_329_560_413_677_7);
    // b: (.6, yes), (.5, no), (0, no) → (.16 + .25 + 0) / 3; 0 clipped to .01.
    close(line("b").brier, 0.41 / 3.0);
    close(line("b").log_loss, 0.404_674_380_059_812_43);
    // c: (.2, yes), (.5, no) → (.64 + .25) / 2; (−ln .2 − ln .5) / 2.
    close(line("c").brier, 0.445);
    close(line("c").log_loss, 1.151_292_546_497_022_7);
    // d: (.9, yes), (.1, no) → .01; −ln .9.
    close(line("d").brier, 0.01);
    close(line("d").log_loss, 0.105_360_515_657_826_28);
    // m1 gave all ten (3 + 3 + 2 + 2): (1.13 + .41 + .89 + .02) / 10.
    assert_eq!(s.models.len(), 1);
    assert_eq!(s.models[0].count, 10);
    close(s.models[0].brier, 0.245);
    // Panel median: .7 yes, .3 no, .5 no → (.09 + .09 + .25) / 3; (−2 ln .7 − ln .5) / 3.
    assert_eq!(s.median.count, 3);
    close(s.median.brier, 0.43 / 3.0);
    close(s.median.log_loss, 0.468_832_356_145_803_43);
    // Baseline 50% on the same three: .25 and ln 2.
    close(s.baseline.brier, 0.25);
    close(s.baseline.log_loss, std::f64::consts::LN_2);
}

#[test]
fn calibration_bins_of_tenths() {
    let s = scores(&inputs(), &the_outcomes());
    let bins = &s.calibration;
    assert_eq!(bins.len(), 10);
    // Probabilities (outcome): .8 .6 .2 .9 (yes); .3 .5 .1 (no); 1.0 0 .5 (no).
    let counts: Vec<usize> = bins.iter().map(|b| b.count).collect();
    assert_eq!(counts, [1, 1, 1, 1, 0, 2, 1, 0, 1, 2]);
    // Bin 9 holds .9 (yes) and 1.0 (no): mean .95, observed .5.
    close(bins[9].mean_predicted, 0.95);
    close(bins[9].observed, 0.5);
    close(bins[2].observed, 1.0);
    close(bins[5].observed, 0.0);
    assert_eq!(bins[4].mean_predicted, None);
    // The medians .7 (yes), .3 (no), .5 (no).
    let m: Vec<usize> = s.median_calibration.iter().map(|b| b.count).collect();
    assert_eq!(m, [0, 0, 0, 1, 0, 1, 0, 1, 0, 0]);
    close(s.median_calibration[7].observed, 1.0);
}

#[test]
fn a_vote_copied_into_a_variant_is_scored_once() {
    let mut runs = inputs();
    let mut variant = runs[0].transcript.clone();
    for p in &mut variant.synthesis {
        p.copied_from = Some("q1-m1-r1".into());
    }
    runs.push(RunInput {
        label: "q1-m1-r1/variants/brief".into(),
        transcript: variant,
        study: None,
    });
    let s = scores(&runs, &the_outcomes());
    assert_eq!(s.personas.iter().find(|l| l.key == "d").unwrap().count, 2);
    assert_eq!(s.median.count, 3);
}

#[test]
fn the_text_and_html_outputs_name_every_persona_and_escape_text() {
    let mut runs = inputs();
    runs[3].transcript.question = "<script>alert(1)</script>".into();
    let c = compare(&runs);
    let text = tables::compare_text(&c, None);
    for p in ["a", "b", "c", "d", "m1", "q1-m1-r1", "by question"] {
        assert!(text.contains(p), "{p}");
    }
    let only_runs = tables::compare_text(&c, Some(Summary::Run));
    assert!(!only_runs.contains("by persona"));
    let html = council_analysis::html::compare_html(&c);
    assert!(html.contains("&lt;script&gt;"));
    assert!(!html.contains("<script>"));
    assert!(html.contains("<svg"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external assets"
    );
    let s = scores(&inputs(), &the_outcomes());
    let svg = council_analysis::html::reliability_svg(&s);
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert!(tables::score_text(&s).contains("panel median"));
}

/// The fixture's runs placed in a two-condition study by hand: q1-m1-r1 is
/// the debate and q1-m1-r2 the vote of the same cell (q1, m1, repeat 1);
/// q1-m2-r1 is a debate with no vote; q2-old is outside the study.
fn paired_inputs() -> Vec<RunInput> {
    use council_analysis::StudyCell;
    use council_core::study::Condition;
    let cell = |model: &str, condition| StudyCell {
        question_id: "q1".into(),
        repeat: 1,
        seed: 1,
        model: model.into(),
        condition,
        study: "/s".into(),
    };
    inputs()
        .into_iter()
        .map(|mut r| {
            r.study = match r.label.as_str() {
                "q1-m1-r1" => Some(cell("m1", Condition::Debate)),
                "q1-m1-r2" => Some(cell("m1", Condition::Vote)),
                "q1-m2-r1" => Some(cell("m2", Condition::Debate)),
                _ => None,
            };
            r
        })
        .collect()
}

#[test]
fn paired_differences_match_hand_computed_values_and_count_what_is_dropped() {
    use council_analysis::paired::{paired, Metric, PairedOptions, Strata};
    use council_core::study::Condition;
    let runs = paired_inputs();
    let p = paired(&runs, &PairedOptions::default()).unwrap();
    assert_eq!(p.left_out, 1, "q2-old is not a study run");
    assert_eq!(p.studies.len(), 1);
    let s = &p.studies[0];
    assert_eq!(s.conditions, vec![Condition::Debate, Condition::Vote]);
    assert_eq!(s.baseline, Condition::Debate);
    let m = |metric: Metric| {
        s.strata[0]
            .metrics
            .iter()
            .find(|x| x.metric == metric)
            .unwrap()
    };
    // Support shares: q1-m1-r1 d S 50 → 0.1 of 0.8 + 0.3 + 0.5 + 0.1 = 1.7;
    // q1-m2-r1 a S 90 → 0.5 of 1.0; q1-m1-r2 a S 100, b S 60 → 1.1 of 1.4.
    let share = m(Metric::SupportShare);
    assert_eq!(share.values[0].n, 2);
    close(share.values[0].mean, (0.1 / 1.7 + 0.5) / 2.0);
    close(share.values[1].mean, 1.1 / 1.4);
    let d = &share.differences[0];
    assert_eq!(d.n_pairs, 1);
    assert_eq!(d.dropped, 1, "q1-m2-r1 has no vote counterpart");
    let want = 1.1 / 1.4 - 0.1 / 1.7;
    close(d.mean, want);
    // One pair: every resample is that pair.
    close(d.lower, want);
    close(d.upper, want);
    // Flip rates: q1-m1-r1 4 flips in 11 pairs; q1-m1-r2 1 in 3; q1-m2-r1 no pair.
    let flips = m(Metric::FlipRate);
    assert_eq!(flips.values[0].n, 1);
    close(flips.values[0].mean, 4.0 / 11.0);
    close(flips.differences[0].mean, 1.0 / 3.0 - 4.0 / 11.0);
    assert_eq!(flips.differences[0].dropped, 1);
    // Verdict agreement per question × model: (q1, m1) has one verdict per
    // condition (agreement 1 each), (q1, m2) only a debate.
    let va = m(Metric::VerdictAgreement);
    assert_eq!(va.values[0].n, 2);
    close(va.differences[0].mean, 0.0);
    assert_eq!(va.differences[0].n_pairs, 1);
    // No outcome given: no Brier or log loss.
    assert!(s.strata[0]
        .metrics
        .iter()
        .all(|x| x.metric != Metric::Brier));

    // By model: m1 pairs, m2 has only the baseline.
    let by_model = paired(
        &runs,
        &PairedOptions {
            strata: Strata::Model,
            baseline: Some(Condition::Vote),
            ..PairedOptions::default()
        },
    )
    .unwrap();
    let strata = &by_model.studies[0].strata;
    assert_eq!(strata.len(), 2);
    let m1 = strata
        .iter()
        .find(|s| s.model.as_deref() == Some("m1"))
        .unwrap();
    let share = m1
        .metrics
        .iter()
        .find(|x| x.metric == Metric::SupportShare)
        .unwrap();
    assert_eq!(share.differences[0].condition, Condition::Debate);
    close(share.differences[0].mean, -want);
    let m2 = strata
        .iter()
        .find(|s| s.model.as_deref() == Some("m2"))
        .unwrap();
    assert_eq!(m2.metrics[0].differences[0].n_pairs, 0);
    assert_eq!(m2.metrics[0].differences[0].lower, None);

    // A baseline with no run is refused, naming the conditions there are.
    let e = paired(
        &runs,
        &PairedOptions {
            baseline: Some(Condition::Single),
            ..PairedOptions::default()
        },
    )
    .unwrap_err();
    assert!(e.contains("debate, vote"), "{e}");
}

/// The study's runs with a variant of the first (every turn and vote a
/// copy) and a branch of it from round 3 (rounds 1–2 copied).
fn with_variant_and_branch() -> Vec<RunInput> {
    use council_core::variant::{Origin, OriginKind};
    let mut runs = inputs();
    let source = runs[0].transcript.clone();
    let origin = |kind, from_round| Origin {
        kind,
        source: "q1-m1-r1".into(),
        source_question: source.question.clone(),
        from_round,
        changes: Vec::new(),
        source_panel: Vec::new(),
        source_forecasts: Vec::new(),
    };
    let mut variant = source.clone();
    variant.origin = Some(origin(OriginKind::Variant, None));
    for t in variant.rounds.iter_mut().flat_map(|r| &mut r.turns) {
        t.copied_from = Some("q1-m1-r1".into());
    }
    for p in &mut variant.synthesis {
        p.copied_from = Some("q1-m1-r1".into());
    }
    let mut branch = source.clone();
    branch.origin = Some(origin(OriginKind::Branch, Some(3)));
    for r in branch.rounds.iter_mut().filter(|r| r.number < 3) {
        for t in &mut r.turns {
            t.copied_from = Some("q1-m1-r1".into());
        }
    }
    runs.push(RunInput::new("q1-m1-r1/variants/brief", variant, None));
    runs.push(RunInput::new("q1-m1-r1/branches/b1", branch, None));
    runs
}

#[test]
fn the_record_tables_count_each_turn_vote_and_probability_once() {
    use council_analysis::records::{forecast_records, turn_records, vote_records};
    let runs = with_variant_and_branch();
    let c = compare(&runs);
    let turns = turn_records(&runs);
    // As many turns as the long table has spoken or failed rows: the
    // variant adds none, the branch its rounds 3 and 4.
    let spoken = c
        .rows
        .iter()
        .filter(|r| r.status != RowStatus::Absent)
        .count();
    assert_eq!(turns.rows.len(), spoken);
    assert!(turns
        .rows
        .iter()
        .all(|t| t.id.run != "q1-m1-r1/variants/brief"));
    let branch_rounds: Vec<u32> = turns
        .rows
        .iter()
        .filter(|t| t.id.run == "q1-m1-r1/branches/b1")
        .map(|t| t.round)
        .collect();
    assert!(!branch_rounds.is_empty() && branch_rounds.iter().all(|r| *r >= 3));
    // Probabilities: as many as compare counts per persona.
    let forecasts = forecast_records(&runs, &latest(&the_outcomes()));
    let counted: usize = c.personas.iter().map(|p| p.forecasts).sum();
    assert_eq!(forecasts.rows.len(), counted);
    // The outcome in force: F3 was corrected to no; F4 is open.
    let of = |statement: &str| {
        forecasts
            .rows
            .iter()
            .find(|f| f.forecast_id == id(statement))
            .unwrap()
            .outcome
    };
    assert_eq!(of(F1), Some(Resolution::Yes));
    assert_eq!(of(F3), Some(Resolution::No));
    assert_eq!(of(fixture::F4), None);
    // Votes: the variant's are copies; the branch voted itself (its
    // synthesis is its own), as did each run of the study.
    let votes = vote_records(&runs);
    assert!(votes
        .rows
        .iter()
        .all(|v| v.id.run != "q1-m1-r1/variants/brief"));
    let per_run = |run: &str| votes.rows.iter().filter(|v| v.id.run == run).count();
    assert_eq!(per_run("q1-m1-r1/branches/b1"), per_run("q1-m1-r1"));
    assert!(per_run("q1-m1-r1") > 0);
    let w = votes.rows.iter().find(|v| v.id.run == "q1-m1-r1").unwrap();
    assert_eq!(w.weight, council_core::report::recalibrate(w.confidence));
}

#[test]
fn the_record_csvs_parse_and_their_json_matches_its_schema() {
    use council_analysis::records;
    let mut runs = inputs();
    runs[0].transcript.rounds[0].turns[0].text = "Yes, but \"only\" if\nmargins hold.".into();
    let turns = records::turn_records(&runs);
    let text = records::turns_csv(&turns);
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let want: Vec<&str> = records::RUN_COLUMNS
        .iter()
        .chain(records::TURN_COLUMNS.iter())
        .copied()
        .collect();
    assert_eq!(head, want);
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), turns.rows.len());
    let at = |c: &str| head.iter().position(|h| h == c).unwrap();
    assert_eq!(&rows[0][at("text")], "Yes, but \"only\" if\nmargins hold.");
    assert_eq!(&rows[0][at("condition")], "debate");
    for (schema, value) in [
        (
            records::turns_schema(),
            serde_json::to_value(&turns).unwrap(),
        ),
        (
            records::votes_schema(),
            serde_json::to_value(records::vote_records(&runs)).unwrap(),
        ),
        (
            records::forecasts_schema(),
            serde_json::to_value(records::forecast_records(&runs, &Default::default())).unwrap(),
        ),
    ] {
        let validator = jsonschema::validator_for(&schema).unwrap();
        assert!(!value["rows"].as_array().unwrap().is_empty());
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        // A row the schema does not describe fails it.
        let mut bad = value.clone();
        bad["rows"][0]["persona"] = serde_json::json!(3);
        assert!(!validator.is_valid(&bad));
    }
}
