//! Building the [`Report`] from a transcript, with zero model calls, and
//! verifying what it quotes: every quote attributed to an advisor must be
//! found (normalised, fuzzily) in that advisor's turns, and every forecast
//! id a milestone cites must exist.

use crate::synthesis::{add_days, forecasts_of};
use council_core::report::{
    recalibrate, tally, Action, Backing, Evidence, Forecast, FuturePath, Milestone, PanelEntry,
    Risk, SourceRef, Stance, Verification, Vote,
};
use council_core::{match_tokens, Report, Transcript, TurnStatus, REPORT_VERSION};
use serde_json::Value;
use std::collections::BTreeSet;

/// Share of a quote's words that must appear in one window of a turn.
const FUZZY_THRESHOLD: f64 = 0.8;

/// Whether `quote` appears in `text`, ignoring case, punctuation and
/// spacing, allowing a few changed words in quotes of four words or more.
pub fn quote_matches(quote: &str, text: &str) -> bool {
    let q = match_tokens(quote);
    let t = match_tokens(text);
    if q.is_empty() || t.len() < q.len() {
        return false;
    }
    if t.windows(q.len()).any(|w| w == q.as_slice()) {
        return true;
    }
    if q.len() < 4 {
        return false;
    }
    t.windows(q.len()).any(|w| {
        let mut pool: Vec<&String> = w.iter().collect();
        let hits = q
            .iter()
            .filter(|word| match pool.iter().position(|p| p == word) {
                Some(i) => {
                    pool.swap_remove(i);
                    true
                }
                None => false,
            })
            .count();
        hits as f64 / q.len() as f64 >= FUZZY_THRESHOLD
    })
}

fn str_of(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().trim().to_string()
}

fn opt_str(v: &Value, key: &str) -> Option<String> {
    Some(str_of(v, key)).filter(|s| !s.is_empty())
}

/// Builds the report from a finished transcript; `lang` overrides its language.
pub fn build_report(t: &Transcript, lang: Option<&str>) -> Report {
    let part = |name: &str| t.synthesis.iter().find(|p| p.part == name);
    let value = |name: &str| part(name).map(|p| p.value.clone()).unwrap_or(Value::Null);
    let mut flags: Vec<String> = t.notes.iter().map(|n| format!("casting: {n}")).collect();
    for p in &t.synthesis {
        if let Some(e) = &p.error {
            flags.push(format!("synthesis part `{}` failed: {e}", p.part));
        }
    }
    let name_of = |id: &str| council_core::name_of(&t.panel, id).to_string();
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

    let verdict = value("verdict");
    let (answer, reasoning) = (str_of(&verdict, "answer"), str_of(&verdict, "reasoning"));

    let mut shown = forecasts_of(t);
    let before = shown.len();
    let mut seen = BTreeSet::new();
    shown.retain(|f| seen.insert(f.id.clone()));
    if shown.len() < before {
        flags.push(format!(
            "forecasts: {} repeated forecast(s) dropped",
            before - shown.len()
        ));
    }
    let votes: Vec<Vote> = t
        .panel
        .iter()
        .map(|p| {
            let v = value(&format!("vote:{}", p.id));
            let stance = match v["stance"].as_str() {
                Some("agree") => Some(Stance::Agree),
                Some("partly") => Some(Stance::Partly),
                Some("disagree") => Some(Stance::Disagree),
                _ => None,
            };
            let confidence = v["confidence"].as_u64().map(|c| c.min(100) as u8);
            Vote {
                persona: p.id.clone(),
                name: p.name.clone(),
                stance,
                confidence,
                weight: confidence.map_or(0.0, recalibrate),
                reason: str_of(&v, "reason"),
            }
        })
        .collect();
    let forecasts: Vec<Forecast> = shown
        .iter()
        .map(|f| {
            let probabilities: Vec<(String, f64)> = t
                .panel
                .iter()
                .filter_map(|p| {
                    let v = value(&format!("vote:{}", p.id));
                    let prob = v["probabilities"]
                        .as_array()?
                        .iter()
                        .find(|x| x["id"].as_str() == Some(f.id.as_str()))?["probability"]
                        .as_f64()?;
                    Some((p.id.clone(), (prob / 100.0).clamp(0.0, 1.0)))
                })
                .collect();
            let mut ps: Vec<f64> = probabilities.iter().map(|x| x.1).collect();
            ps.sort_by(f64::total_cmp);
            let median = match ps.len() {
                0 => None,
                n if n % 2 == 1 => Some(ps[n / 2]),
                n => Some((ps[n / 2 - 1] + ps[n / 2]) / 2.0),
            };
            Forecast {
                id: f.id.clone(),
                statement: f.statement.clone(),
                horizon: f.horizon.clone(),
                range: ps.first().zip(ps.last()).map(|(a, b)| (*a, *b)),
                median,
                probabilities,
            }
        })
        .collect();

    let actions: Vec<Action> = value("actions")["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let start = a["start_day"].as_u64().unwrap_or(0).min(365) as u32;
            let end =
                (a["end_day"].as_u64().unwrap_or(u64::from(start)).min(365) as u32).max(start);
            let from = add_days(&t.date, start).unwrap_or_else(|| format!("day {start}"));
            let to = add_days(&t.date, end).unwrap_or_else(|| format!("day {end}"));
            Action {
                action: str_of(a, "action"),
                owner: str_of(a, "owner"),
                when: if from == to {
                    from
                } else {
                    format!("{from} – {to}")
                },
                script: opt_str(a, "script"),
                trigger: opt_str(a, "trigger"),
            }
        })
        .collect();

    let mut unknown_ids = BTreeSet::new();
    let paths: Vec<FuturePath> = value("paths")["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let mut milestones: Vec<Milestone> = p["milestones"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    let fid = str_of(m, "forecast_id");
                    let persona = str_of(m, "persona");
                    let quote = str_of(m, "quote");
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
                        month: m["month"].as_u64().unwrap_or(0) as u32,
                        event: str_of(m, "event"),
                        backing,
                    }
                })
                .collect();
            milestones.sort_by_key(|m| m.month);
            FuturePath {
                name: str_of(p, "name"),
                premise: str_of(p, "premise"),
                milestones,
            }
        })
        .collect();

    let story: Vec<String> = value("story")["paragraphs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(|s| s.trim().to_string()))
        .filter(|s| !s.is_empty())
        .collect();

    let mut bad_sources: Vec<u32> = Vec::new();
    let evidence: Vec<Evidence> = value("evidence")["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let persona = opt_str(e, "persona");
            let quote = opt_str(e, "quote");
            let source = e["source"].as_u64().filter(|n| *n > 0).map(|n| n as u32);
            let source_ok = source.is_some_and(|n| t.sources.iter().any(|s| s.number == n));
            if let (Some(n), false) = (source, source_ok) {
                bad_sources.push(n);
            }
            let verified = match (&persona, &quote) {
                (Some(p), Some(q)) => verify("evidence", p, q) && (source.is_none() || source_ok),
                _ => source_ok,
            };
            Evidence {
                claim: str_of(e, "claim"),
                source,
                persona,
                quote,
                verified,
            }
        })
        .collect();

    let risks: Vec<Risk> = value("risks")["risks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| Risk {
            risk: str_of(r, "risk"),
            why: str_of(r, "why"),
        })
        .collect();

    verification.unknown_forecast_ids = unknown_ids.into_iter().collect();
    for n in &bad_sources {
        flags.push(format!(
            "evidence: cites [{n}], which is not a library source of this run"
        ));
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
            location: s.location.clone(),
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

    let trajectories = t.confidence_trajectories();
    let panel: Vec<PanelEntry> = t
        .panel
        .iter()
        .zip(trajectories)
        .map(|(m, (_, trajectory))| PanelEntry {
            final_confidence: trajectory.iter().rev().find_map(|c| *c),
            member: m.clone(),
            trajectory,
        })
        .collect();
    let produced: BTreeSet<String> = t
        .rounds
        .iter()
        .flat_map(|r| &r.turns)
        .map(|x| format!("{} {}", x.backend, x.model))
        .collect();

    Report {
        version: REPORT_VERSION,
        question: t.question.clone(),
        date: t.date.clone(),
        lang: lang.unwrap_or(&t.lang).to_string(),
        verdict: answer,
        reasoning,
        tally: tally(&votes),
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
        produced_by: produced.into_iter().collect::<Vec<_>>().join(", "),
        usage: t.usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TURN: &str = "Raising list prices by 15% will cost us two of our five largest renewals, \
        and the CFO's payback model ignores that churn.";

    #[test]
    fn a_genuine_quote_passes_even_with_changed_case_and_punctuation() {
        assert!(quote_matches(
            "raising list prices by 15% will cost us two of our five largest renewals",
            TURN
        ));
        assert!(quote_matches(
            "the CFO’s payback model ignores that churn",
            TURN
        ));
        // One word changed in a long quote is still the advisor's.
        assert!(quote_matches(
            "Raising list prices by 15 percent will cost us two of our five largest renewals",
            TURN
        ));
    }

    #[test]
    fn a_made_up_quote_is_flagged() {
        assert!(!quote_matches(
            "Prices should double next month to fund the new office",
            TURN
        ));
        assert!(!quote_matches("renewals", "nothing here"));
        assert!(!quote_matches("", TURN));
    }

    #[test]
    fn chinese_quotes_match_by_character() {
        let text = "不平等的复利效应使公司更加失衡，而非构成战略优势。";
        assert!(quote_matches("使公司更加失衡", text));
        assert!(!quote_matches("公司已经平衡", text));
    }
}
