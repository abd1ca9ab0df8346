//! Building the [`Report`] from a transcript and its typed synthesis
//! answers, with zero model calls, and verifying what it quotes: every
//! quote attributed to an advisor must be found in that advisor's turns
//! ([`quote_matches`]: in order, negations and numbers exact), and every
//! forecast id a milestone cites must exist.

use crate::synthesis::{add_days, add_months};
use council_core::answers::{FollowupAnswer, Scenario};
use council_core::lang::is_language_flag;
use council_core::report::{
    tally, Action, Backing, Evidence, FollowupSection, Forecast, FuturePath, Milestone, PanelEntry,
    Producer, Quality, Risk, RoundQuality, SourceRef, Verification, WEAK_CONFIDENCE,
};
use council_core::synthesis::Answers;
use council_core::synthesis::SynthesisKind;
use council_core::text::has_words;
use council_core::{quote_matches, PanelMember, Report, Transcript, TurnStatus, REPORT_VERSION};
use std::collections::BTreeSet;

/// Builds the report from a transcript and its typed synthesis answers
/// ([`Answers::from_transcript`]); `lang` overrides its language. Pure: no
/// model, no IO, no clock.
pub fn build_report(t: &Transcript, a: &Answers, lang: Option<&str>) -> Report {
    let mut flags: Vec<String> = t.notes.iter().map(|n| format!("casting: {n}")).collect();
    flags.extend(a.problems.iter().cloned());
    let name_of = |id: &str| t.name_of(id).to_string();
    let turns_of = |id: &str| -> Vec<&str> {
        t.rounds
            .iter()
            .flat_map(|r| &r.turns)
            .filter(|x| x.persona == id && x.status == TurnStatus::Ok)
            .map(|x| x.text.as_str())
            .collect()
    };
    let mut verification = Verification::default();
    let mut verify = |section: &str, persona: &str, quote: &str| -> bool {
        verification.quotes_checked += 1;
        let ok = turns_of(persona)
            .iter()
            .any(|text| quote_matches(quote, text));
        if !ok {
            verification.unverified_quotes.push((
                section.to_string(),
                persona.to_string(),
                quote.to_string(),
            ));
        }
        ok
    };

    // Which forecasts exist, their probabilities and medians: one home,
    // shared with `compare`, `score` and `outcome`.
    let table = council_core::forecasts::panel_forecasts_with(t, a);
    flags.extend(table.flags(|id| name_of(id)));
    let mut votes = a.report_votes(&t.panel);
    for v in &mut votes {
        if !v.reason.is_empty() && !has_words(&v.reason) {
            flags.push(format!("vote: {}'s reason has no words; left out", v.name));
            v.reason.clear();
        }
    }
    let forecasts: Vec<Forecast> = table
        .kept
        .iter()
        .map(|f| Forecast {
            id: f.id.clone(),
            // A variant may word the statement anew; id and probabilities stay.
            statement: a
                .forecast_wording
                .get(&f.id)
                .cloned()
                .unwrap_or_else(|| f.statement.clone()),
            horizon: add_months(&t.date, f.horizon_months)
                .unwrap_or_else(|| format!("+{} months", f.horizon_months)),
            range: f.range,
            median: f.median,
            probabilities: f
                .probabilities
                .iter()
                .map(|p| (p.persona.clone(), p.probability))
                .collect(),
        })
        .collect();

    let wordless_actions = a.actions.iter().filter(|x| !has_words(&x.action)).count();
    if wordless_actions > 0 {
        flags.push(format!(
            "action plan: {wordless_actions} action(s) without a word left out"
        ));
    }
    // The same action given again (a weak model's loop) is shown once.
    let mut seen = BTreeSet::new();
    let repeated = a
        .actions
        .iter()
        .filter(|x| has_words(&x.action))
        .filter(|x| !seen.insert(x.action.trim().to_lowercase()))
        .count();
    if repeated > 0 {
        flags.push(format!(
            "action plan: {repeated} action(s) repeating an earlier one left out"
        ));
    }
    let mut seen = BTreeSet::new();
    let mut kept: Vec<_> = a
        .actions
        .iter()
        .filter(|x| has_words(&x.action))
        .filter(|x| seen.insert(x.action.trim().to_lowercase()))
        .collect();
    // The plan reads in date order: by start, then by end (a stable sort
    // keeps the panel's order between actions of the same days).
    kept.sort_by_key(|x| (x.start_day, x.end_day.max(x.start_day)));
    let actions: Vec<Action> = kept
        .into_iter()
        .map(|x| {
            let start = u32::from(x.start_day.min(365));
            let end = u32::from(x.end_day.min(365)).max(start);
            let from = add_days(&t.date, start).unwrap_or_else(|| format!("day {start}"));
            let to = add_days(&t.date, end).unwrap_or_else(|| format!("day {end}"));
            Action {
                action: x.action.trim().to_string(),
                owner: x.owner.trim().to_string(),
                when: if from == to {
                    from
                } else {
                    format!("{from} – {to}")
                },
                script: non_empty(&x.script),
                trigger: non_empty(&x.trigger),
            }
        })
        .collect();

    let mut unknown_ids = BTreeSet::new();
    let paths: Vec<FuturePath> = a
        .paths
        .iter()
        .map(|p| {
            // A milestone without a word (a weak model's brackets or
            // timestamps) says nothing that could happen: left out, and said.
            let wordless = p
                .milestones
                .iter()
                .filter(|(_, m)| !has_words(&m.event))
                .count();
            let title = p.title.trim();
            if wordless > 0 {
                flags.push(format!(
                    "future path \"{}\": {wordless} milestone(s) without a word left out",
                    if has_words(title) {
                        title
                    } else {
                        p.scenario.map_or("a path", Scenario::as_str)
                    }
                ));
            }
            let premise = p.premise.trim();
            if !premise.is_empty() && !has_words(premise) {
                flags.push(format!(
                    "future path {}: its premise has no words (\"{}\"); left out",
                    p.scenario.map_or("a path", Scenario::as_str),
                    council_core::excerpt(premise, 40)
                ));
            }
            if !title.is_empty() && !has_words(title) {
                flags.push(format!(
                    "future path {}: its title has no words (\"{}\"); left out",
                    p.scenario.map_or("a path", Scenario::as_str),
                    council_core::excerpt(title, 40)
                ));
            }
            let milestones: Vec<Milestone> = p
                .milestones
                .iter()
                .filter(|(_, m)| has_words(&m.event))
                .map(|(month, m)| {
                    let fid = m.forecast_id.trim().to_string();
                    let persona = m.persona.trim().to_string();
                    let quote = m.quote.trim().to_string();
                    let backing = if !fid.is_empty() {
                        let found = forecasts.iter().find(|f| f.id == fid);
                        if found.is_none() {
                            unknown_ids.insert(fid.clone());
                        }
                        Backing::Forecast {
                            probability: found.and_then(|f| f.median),
                            valid: found.is_some(),
                            id: fid,
                        }
                    } else if !persona.is_empty() && !quote.is_empty() {
                        let verified = verify("future paths", &persona, &quote);
                        Backing::Quote {
                            persona,
                            quote,
                            verified,
                        }
                    } else {
                        Backing::None
                    };
                    Milestone {
                        month: *month,
                        event: m.event.trim().to_string(),
                        backing,
                    }
                })
                .collect();
            FuturePath {
                scenario: p.scenario,
                title: if has_words(title) {
                    title.to_string()
                } else {
                    String::new()
                },
                premise: if has_words(premise) {
                    premise.to_string()
                } else {
                    String::new()
                },
                milestones,
            }
        })
        .collect();
    flags.extend(path_problems(&paths));

    // Source number → evidence items citing it that the run does not have.
    let mut bad_sources: std::collections::BTreeMap<u32, usize> = Default::default();
    let evidence: Vec<Evidence> = a
        .evidence
        .iter()
        .map(|e| {
            let persona = non_empty(&e.persona);
            let quote = non_empty(&e.quote);
            let source = Some(u32::from(e.source)).filter(|n| *n > 0);
            let source_ok = source.is_some_and(|n| t.sources.iter().any(|s| s.number == n));
            if let (Some(n), false) = (source, source_ok) {
                *bad_sources.entry(n).or_default() += 1;
            }
            let verified = match (&persona, &quote) {
                (Some(p), Some(q)) => verify("evidence", p, q) && (source.is_none() || source_ok),
                _ => source_ok,
            };
            Evidence {
                claim: e.claim.trim().to_string(),
                source,
                persona,
                quote,
                verified,
            }
        })
        .collect();

    // A paragraph without a single word (a weak model's stray brackets) is no story.
    let (story, empty): (Vec<String>, Vec<String>) = a
        .story
        .iter()
        .cloned()
        .partition(|p| p.chars().any(char::is_alphanumeric));
    if !empty.is_empty() {
        flags.push(format!(
            "story: {} paragraph(s) without a word left out",
            empty.len()
        ));
    }

    let wordless_risks = a.risks.iter().filter(|r| !has_words(&r.risk)).count();
    if wordless_risks > 0 {
        flags.push(format!(
            "risks: {wordless_risks} risk(s) without a word left out"
        ));
    }
    let risks: Vec<Risk> = a
        .risks
        .iter()
        .filter(|r| has_words(&r.risk))
        .map(|r| Risk {
            risk: r.risk.trim().to_string(),
            why: r.why.trim().to_string(),
        })
        .collect();

    verification.unknown_forecast_ids = unknown_ids.into_iter().collect();
    // An answered call's usage counts the answers it took: 1 means valid
    // at once. A failed call's counts its requests, and it has no answer.
    let calls = t
        .rounds
        .iter()
        .flat_map(|r| &r.turns)
        .filter(|x| x.status != TurnStatus::Failed)
        .map(|x| x.usage.calls)
        .chain(
            t.synthesis
                .iter()
                .filter(|p| p.error.is_none())
                .map(|p| p.usage.calls),
        )
        .filter(|c| *c > 0);
    for c in calls {
        verification.answers += 1;
        verification.first_try += u32::from(c == 1);
    }
    for (n, times) in bad_sources {
        flags.push(match times {
            1 => {
                format!("evidence: an item cites [{n}], which is not a library source of this run")
            }
            _ => format!(
                "evidence: {times} items cite [{n}], which is not a library source of this run"
            ),
        });
    }
    // How often each source was cited, by turns and by the evidence.
    let mut cited: std::collections::BTreeMap<u32, u32> = std::collections::BTreeMap::new();
    let numbers = t
        .rounds
        .iter()
        .flat_map(|r| &r.turns)
        .flat_map(|x| {
            x.citations
                .iter()
                .filter_map(|c| council_core::citation_number(c))
        })
        .chain(evidence.iter().filter_map(|e| e.source));
    for n in numbers {
        if t.sources.iter().any(|s| s.number == n) {
            *cited.entry(n).or_default() += 1;
        }
    }
    let (sources_used, sources_unused): (Vec<SourceRef>, Vec<SourceRef>) = t
        .sources
        .iter()
        .map(|s| SourceRef {
            number: s.number,
            title: s.title.clone(),
            location: shown_location(&s.location),
            cited: cited.get(&s.number).copied().unwrap_or(0),
        })
        .partition(|s| s.cited > 0);
    for (section, persona, quote) in &verification.unverified_quotes {
        flags.push(format!(
            "{section}: quote attributed to {} not found in their turns: \"{quote}\"",
            name_of(persona)
        ));
    }
    for id in &verification.unknown_forecast_ids {
        flags.push(format!("future paths: forecast id {id} does not exist"));
    }
    for r in &t.rounds {
        if r.summary
            .as_deref()
            .is_some_and(crate::validate::is_repetitive)
        {
            flags.push(format!(
                "round {}: the moderator's summary repeats itself",
                r.number
            ));
        }
        for f in r.summary_call.iter().flat_map(|c| &c.flags) {
            flags.push(format!("round {}, the moderator's summary: {f}", r.number));
        }
        for x in &r.turns {
            if x.status == TurnStatus::Failed {
                flags.push(format!(
                    "round {}, {}: no turn, the model call failed ({})",
                    r.number,
                    name_of(&x.persona),
                    x.error.as_deref().unwrap_or("unknown error")
                ));
            }
            for f in &x.flags {
                flags.push(format!("round {}, {}: {f}", r.number, name_of(&x.persona)));
            }
        }
    }

    let followups = followup_sections(t, &mut flags);

    let trajectories = t.confidence_trajectories();
    let panel: Vec<PanelEntry> = t
        .panel
        .iter()
        .zip(trajectories)
        .map(|(m, (_, trajectory))| PanelEntry {
            final_confidence: trajectory.iter().rev().find_map(|c| *c),
            member: with_builtin_names(m),
            trajectory,
        })
        .collect();
    let producers = producers_of(t);

    let (verdict_stance, verdict, reasoning) = match &a.verdict {
        Some(v) => (
            v.stance,
            v.answer.trim().to_string(),
            v.reasoning.trim().to_string(),
        ),
        None => (None, String::new(), String::new()),
    };
    if crate::validate::is_repetitive(&verdict) || crate::validate::is_repetitive(&reasoning) {
        flags.push("verdict: the chair's answer repeats itself".into());
    }
    let tally = tally(&votes);
    if let (Some(said), Some(majority)) = (verdict_stance, tally.majority()) {
        if said != majority {
            let share = tally.share(majority);
            verification.verdict_contradictions = 1;
            verification.verdict_vs_vote = Some((said, majority, share));
            flags.insert(
                0,
                format!(
                    "verdict: its stance is {} but the panel's weighted vote leans {} ({:.0}%)",
                    said.as_str(),
                    majority.as_str(),
                    share * 100.0
                ),
            );
        }
    }
    let quality = quality_of(t, &votes, &tally, &verification, &panel);
    Report {
        version: REPORT_VERSION,
        status: quality.status(),
        concerns: quality.concerns(),
        remedy: quality.remedy(),
        quality,
        question: t.question.clone(),
        date: t.date.clone(),
        lang: lang.unwrap_or(&t.lang).to_string(),
        verdict_stance,
        verdict,
        reasoning,
        tally,
        votes,
        forecasts,
        actions,
        paths,
        story,
        evidence,
        risks,
        panel,
        rounds: t.rounds.clone(),
        sources_used,
        sources_unused,
        verification,
        flags,
        followups,
        // A report names the source run by its folder's name, never by a
        // path (the transcript keeps the path the user gave).
        origin: t.origin.clone().map(|mut o| {
            o.source = shown_location(&o.source);
            o.source_panel = o.source_panel.iter().map(with_builtin_names).collect();
            o
        }),
        variant: t.variant.clone(),
        produced_by: producers
            .iter()
            .map(|p| format!("{} {}", p.backend, p.model))
            .collect::<Vec<_>>()
            .join(", "),
        producers,
        usage: t.usage,
        cost: None,
        condition: t.condition,
    }
}

/// What the report holds, counted ([`Quality`]): turns spoken of asked per
/// round (one per panel member; a branch's copied rounds by their own
/// speakers), flagged and failed turns, quotes verified, parts present of
/// parts asked (none when the run asked for no synthesis), the mean final
/// confidence, first-try answers, and whether the vote rests only on
/// confidences of [`WEAK_CONFIDENCE`] or less.
fn quality_of(
    t: &Transcript,
    votes: &[council_core::report::Vote],
    tally: &council_core::report::Tally,
    verification: &Verification,
    panel: &[PanelEntry],
) -> Quality {
    let mut q = Quality::default();
    let planned = t
        .planned_rounds
        .max(t.rounds.iter().map(|r| r.number).max().unwrap_or(0));
    for n in 1..=planned {
        let turns = t
            .rounds
            .iter()
            .find(|r| r.number == n)
            .map_or(&[][..], |r| &r.turns[..]);
        let spoken = turns.iter().filter(|x| x.status == TurnStatus::Ok);
        let round = RoundQuality {
            round: n,
            spoken: spoken.clone().count() as u32,
            asked: t.panel.len().max(turns.len()) as u32,
        };
        q.turns_flagged += spoken.filter(|x| !x.flags.is_empty()).count() as u32;
        q.turns_failed += turns
            .iter()
            .filter(|x| x.status == TurnStatus::Failed)
            .count() as u32;
        q.turns_spoken += round.spoken;
        q.turns_asked += round.asked;
        q.rounds.push(round);
    }
    // Turns (follow-ups' included), round summaries and synthesis parts
    // written in another language than the run's: each counted once.
    fn spoken(turns: &[council_core::Turn]) -> impl Iterator<Item = &[String]> {
        turns
            .iter()
            .filter(|x| x.status == TurnStatus::Ok)
            .map(|x| &x.flags[..])
    }
    let mut answers: Vec<&[String]> = Vec::new();
    for r in &t.rounds {
        answers.extend(spoken(&r.turns));
        answers.extend(r.summary_call.iter().map(|c| &c.flags[..]));
    }
    for f in &t.followups {
        answers.extend(spoken(&f.turns));
        answers.extend(f.summary_call.iter().map(|c| &c.flags[..]));
        answers.extend(f.synthesis.iter().map(|p| &p.flags[..]));
    }
    answers.extend(t.synthesis.iter().map(|p| &p.flags[..]));
    q.off_language = answers
        .iter()
        .filter(|flags| flags.iter().any(|f| is_language_flag(f)))
        .count() as u32;
    if t.synthesis_asked {
        let ids: Vec<&str> = t.panel.iter().map(|p| p.id.as_str()).collect();
        let legacy = t.version < 2;
        for kind in SynthesisKind::asked_for(t.condition, &ids) {
            let answered = |k: &SynthesisKind| {
                t.synthesis
                    .iter()
                    .any(|p| &p.part == k && p.error.is_none())
            };
            let here = answered(&kind)
                || (legacy
                    && matches!(kind, SynthesisKind::Path(_))
                    && answered(&SynthesisKind::LegacyPaths));
            q.parts_asked += 1;
            if here {
                q.parts_present += 1;
            } else {
                q.parts_missing.push(kind.to_string());
            }
        }
    }
    let finals: Vec<f64> = panel
        .iter()
        .filter_map(|p| p.final_confidence.map(f64::from))
        .collect();
    q.mean_final_confidence =
        (!finals.is_empty()).then(|| finals.iter().sum::<f64>() / finals.len() as f64);
    q.quotes_checked = verification.quotes_checked;
    q.quotes_verified = verification
        .quotes_checked
        .saturating_sub(verification.unverified_quotes.len() as u32);
    q.first_try = verification.first_try;
    q.answers = verification.answers;
    q.votes_counted = tally.counted as u32;
    q.weak_vote = tally.counted > 0
        && votes
            .iter()
            .filter(|v| v.stance.is_some())
            .all(|v| v.confidence.is_some_and(|c| c <= WEAK_CONFIDENCE));
    q
}

/// Every model that wrote a turn, a summary or a synthesis part of `t`
/// (copied ones included: they are in the report), with what it wrote,
/// in the order first met.
fn producers_of(t: &Transcript) -> Vec<Producer> {
    let mut out: Vec<Producer> = Vec::new();
    let mut add = |backend: &str, model: &str, f: &dyn Fn(&mut Producer)| {
        if model.is_empty() && backend.is_empty() {
            return;
        }
        let i = match out
            .iter()
            .position(|p| p.backend == backend && p.model == model)
        {
            Some(i) => i,
            None => {
                out.push(Producer {
                    backend: backend.to_string(),
                    model: model.to_string(),
                    turns: 0,
                    summaries: 0,
                    parts: 0,
                });
                out.len() - 1
            }
        };
        f(&mut out[i]);
    };
    let turns = t
        .rounds
        .iter()
        .flat_map(|r| &r.turns)
        .chain(t.followups.iter().flat_map(|f| &f.turns))
        .filter(|x| x.status == TurnStatus::Ok);
    for x in turns {
        add(&x.backend, &x.model, &|p| p.turns += 1);
    }
    let summaries = t
        .rounds
        .iter()
        .filter_map(|r| r.summary_call.as_ref())
        .chain(t.followups.iter().filter_map(|f| f.summary_call.as_ref()));
    for c in summaries {
        add(&c.backend, &c.model, &|p| p.summaries += 1);
    }
    let parts = t
        .synthesis
        .iter()
        .chain(t.followups.iter().filter_map(|f| f.synthesis.as_ref()))
        .filter(|p| p.error.is_none());
    for part in parts {
        add(&part.backend, &part.model, &|p| p.parts += 1);
    }
    out
}

/// The follow-ups as the report shows them; what failed or could not be
/// read is flagged.
fn followup_sections(t: &Transcript, flags: &mut Vec<String>) -> Vec<FollowupSection> {
    t.followups
        .iter()
        .map(|f| {
            let answer = match &f.synthesis {
                Some(p) if p.error.is_none() => {
                    serde_json::from_value::<FollowupAnswer>(p.value.clone())
                        .map_err(|e| format!("its answer could not be read ({e})"))
                }
                Some(p) => Err(format!(
                    "its synthesis call failed ({})",
                    p.error.as_deref().unwrap_or("unknown error")
                )),
                None => Err("it has no synthesis yet (resume the follow-up)".to_string()),
            };
            let answer = answer.unwrap_or_else(|why| {
                flags.push(format!("follow-up {}: {why}", f.number));
                FollowupAnswer {
                    answer: String::new(),
                    what_changed: String::new(),
                    new_risks: Vec::new(),
                }
            });
            let words = |s: &str| {
                s.split_whitespace()
                    .any(|w| w.chars().any(char::is_alphabetic))
            };
            if !answer.answer.is_empty() && !words(&answer.answer) {
                flags.push(format!(
                    "follow-up {}: the answer has no words (\"{}\")",
                    f.number,
                    council_core::excerpt(&answer.answer, 60)
                ));
            }
            if f.summary
                .as_deref()
                .is_some_and(crate::validate::is_repetitive)
            {
                flags.push(format!(
                    "follow-up {}: the moderator's summary repeats itself",
                    f.number
                ));
            }
            for x in &f.turns {
                let name = t.name_of(&x.persona);
                if x.status == TurnStatus::Failed {
                    flags.push(format!(
                        "follow-up {}, {name}: no answer, the model call failed ({})",
                        f.number,
                        x.error.as_deref().unwrap_or("unknown error")
                    ));
                }
                for flag in &x.flags {
                    flags.push(format!("follow-up {}, {name}: {flag}", f.number));
                }
            }
            FollowupSection {
                number: f.number,
                question: f.question.clone(),
                answer: answer.answer.trim().to_string(),
                what_changed: answer.what_changed.trim().to_string(),
                new_risks: answer.new_risks.iter().fold(Vec::new(), |mut out, r| {
                    // The same risk twice is shown once.
                    let r = r.trim().to_string();
                    if !r.is_empty() && !out.contains(&r) {
                        out.push(r);
                    }
                    out
                }),
                summary: f.summary.clone(),
                turns: f.turns.clone(),
            }
        })
        .collect()
}

/// The report of a transcript: its answers read, then [`build_report`].
pub fn report_for(t: &Transcript, lang: Option<&str>) -> Report {
    // A variant may ask for its headings in another language.
    let headings = t.variant.as_ref().and_then(|v| v.headings.as_deref());
    build_report(t, &Answers::from_transcript(t), lang.or(headings))
}

/// Where a source lives, as a client-facing report may show it: a URL as
/// it is, a local file by its name only (folder names stay in the
/// transcript).
fn shown_location(location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_string();
    }
    std::path::Path::new(location).file_name().map_or_else(
        || location.to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// `m`, with the localised names of the built-in persona of its id when
/// the transcript recorded none (a run made before persona files had them)
/// and that persona has its name (a user's persona of the same id has not).
fn with_builtin_names(m: &PanelMember) -> PanelMember {
    static BUILTIN: std::sync::OnceLock<Vec<council_core::Persona>> = std::sync::OnceLock::new();
    let builtin = BUILTIN.get_or_init(|| {
        council_personas::Roster::builtin()
            .map(|r| r.all().to_vec())
            .unwrap_or_default()
    });
    let mut m = m.clone();
    if m.i18n.is_empty() {
        if let Some(p) = builtin.iter().find(|p| p.id == m.id && p.name == m.name) {
            m.i18n = p.i18n.clone();
        }
    }
    m
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// What is wrong with the paths as a set: two paths with one title, two
/// milestones at one month (possible only in version 1 transcripts).
fn path_problems(paths: &[FuturePath]) -> Vec<String> {
    let mut out = Vec::new();
    let key = |s: &str| council_core::match_tokens(s).join(" ");
    for (i, p) in paths.iter().enumerate() {
        if paths[..i].iter().any(|q| key(&q.title) == key(&p.title)) {
            out.push(format!(
                "future paths: two paths share the title \"{}\"; they may not be distinct futures",
                p.title
            ));
        }
        let mut months: Vec<u32> = p.milestones.iter().map(|m| m.month).collect();
        months.sort_unstable();
        let mut dup: Vec<u32> = months
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        dup.dedup();
        for m in dup {
            let n = months.iter().filter(|x| **x == m).count();
            out.push(format!(
                "future path \"{}\": {n} milestones at month {m}",
                p.title
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::build_report;
    use council_core::lang::language_flag;
    use council_core::report::Concern;
    use council_core::synthesis::Answers;
    use council_core::text::has_words;
    use council_core::{CallMeta, Transcript};

    #[test]
    fn answers_in_another_language_are_counted_once_each_in_the_quality_block() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/transcript-v2.json"
        ))
        .unwrap();
        let mut t: Transcript = serde_json::from_str(&text).unwrap();
        let clean = build_report(&t, &Answers::from_transcript(&t), None);
        assert_eq!(clean.quality.off_language, 0);
        let flag = language_flag("en", "Chinese", false);
        // One turn flagged twice (it still counts once), one summary, one part.
        t.rounds[0].turns[0].flags.push(flag.clone());
        t.rounds[0].turns[0].flags.push(flag.clone());
        t.rounds[1].turns[1]
            .flags
            .push("a very short answer".into());
        let meta = t.rounds[1].summary_call.get_or_insert_with(|| CallMeta {
            usage: Default::default(),
            backend: "test".into(),
            model: "m".into(),
            copied_from: None,
            flags: Vec::new(),
        });
        meta.flags.push(flag.clone());
        t.synthesis[0].flags.push(flag);
        let r = build_report(&t, &Answers::from_transcript(&t), None);
        assert_eq!(r.quality.off_language, 3);
        assert!(r
            .quality
            .concerns()
            .iter()
            .any(|c| matches!(c, Concern::OffLanguage { count: 3 })));
    }

    #[test]
    fn the_action_plan_reads_in_date_order_whatever_order_the_model_gave() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/transcript-v2.json"
        ))
        .unwrap();
        let t: Transcript = serde_json::from_str(&text).unwrap();
        let mut a = Answers::from_transcript(&t);
        let draft = a.actions.first().cloned().expect("the fixture has a plan");
        // Given latest first, a window, and two on one day: read by start,
        // then end, the panel's order kept between equals.
        let at = |action: &str, start: u16, end: u16| {
            let mut x = draft.clone();
            x.action = action.into();
            x.start_day = start;
            x.end_day = end;
            x
        };
        a.actions = vec![
            at("Sign the contract", 300, 300),
            at("Hire the lead", 40, 90),
            at("Brief the board", 10, 10),
            at("Call the bank", 40, 40),
            at("Tell the team", 10, 10),
        ];
        let r = build_report(&t, &a, None);
        let order: Vec<&str> = r.actions.iter().map(|x| x.action.as_str()).collect();
        assert_eq!(
            order,
            [
                "Brief the board",
                "Tell the team",
                "Call the bank",
                "Hire the lead",
                "Sign the contract"
            ]
        );
        let starts: Vec<&str> = r.actions.iter().map(|x| &x.when[..10]).collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    }

    #[test]
    fn brackets_digits_and_timestamps_are_not_words() {
        for junk in ["))))}{", "2027-01-27T20:32:56.144", "568 623 818", "T", ""] {
            assert!(!has_words(junk), "{junk:?}");
        }
        for text in ["Churn stays under 5%", "in 2020", "客户流失率低于5%"] {
            assert!(has_words(text), "{text:?}");
        }
    }
}
