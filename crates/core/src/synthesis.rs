//! The synthesis parts of a transcript: which call an answer belongs to
//! ([`SynthesisKind`]), the schema each call answers with
//! ([`SynthesisKind::schema`]), and the answers read back into types
//! ([`Answers::from_transcript`]), from this version's transcripts and
//! from version 1's.

use crate::answers::{
    schema_of, ActionDraft, ActionsAnswer, Bindings, EvidenceAnswer, EvidenceDraft, FollowupAnswer,
    ForecastDraft, ForecastWordingAnswer, ForecastsAnswer, MilestoneDraft, PathAnswer, Probability,
    RiskDraft, RisksAnswer, Scenario, Stance, StoryAnswer, VerdictAnswer, VoteAnswer,
};
use crate::transcript::SynthesisPart;
use crate::Transcript;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Which synthesis call an answer belongs to. On the wire, a string:
/// `verdict`, `forecasts`, `vote:<persona id>`, `actions`,
/// `path:works|fails|opposite`, `story`, `evidence`, `risks`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SynthesisKind {
    /// The verdict and its reasoning.
    Verdict,
    /// The checkable forecasts.
    Forecasts,
    /// One advisor's vote and probabilities.
    Vote(String),
    /// The action plan.
    Actions,
    /// One of the three future paths.
    Path(Scenario),
    /// The deeper story.
    Story,
    /// The evidence.
    Evidence,
    /// The risks to the verdict.
    Risks,
    /// Transcript version 1's three paths in one answer (`paths`): read
    /// from old transcripts, never asked for.
    LegacyPaths,
    /// A variant's wording of the forecasts (ids and probabilities kept).
    ForecastWording,
    /// The short synthesis of follow-up N.
    Followup(u32),
}

impl SynthesisKind {
    /// The kind's name without its persona or scenario (`vote`, `path`…).
    pub fn name(&self) -> &'static str {
        match self {
            SynthesisKind::Verdict => "verdict",
            SynthesisKind::Forecasts => "forecasts",
            SynthesisKind::Vote(_) => "vote",
            SynthesisKind::Actions => "actions",
            SynthesisKind::Path(_) => "path",
            SynthesisKind::Story => "story",
            SynthesisKind::Evidence => "evidence",
            SynthesisKind::Risks => "risks",
            SynthesisKind::LegacyPaths => "paths",
            SynthesisKind::ForecastWording => "forecast-wording",
            SynthesisKind::Followup(_) => "followup",
        }
    }

    /// The parts a run asks for after a debate of `panel`: the verdict and
    /// the forecasts first; see [`SynthesisKind::needs_forecasts`] for which
    /// wait for the forecasts.
    pub fn all_for(panel: &[&str]) -> Vec<SynthesisKind> {
        let mut out = vec![SynthesisKind::Verdict, SynthesisKind::Forecasts];
        out.extend(panel.iter().map(|id| SynthesisKind::Vote(id.to_string())));
        out.push(SynthesisKind::Actions);
        out.extend(Scenario::ALL.map(SynthesisKind::Path));
        out.extend([
            SynthesisKind::Story,
            SynthesisKind::Evidence,
            SynthesisKind::Risks,
        ]);
        out
    }

    /// The parts a run of `condition` holds: [`SynthesisKind::all_for`],
    /// or for the `single` condition, whose one call answers them all, the
    /// verdict, the forecasts and its one advisor's vote.
    pub fn asked_for(condition: crate::study::Condition, panel: &[&str]) -> Vec<SynthesisKind> {
        match condition {
            crate::study::Condition::Single => {
                let mut out = vec![SynthesisKind::Verdict, SynthesisKind::Forecasts];
                out.extend(panel.iter().map(|id| SynthesisKind::Vote(id.to_string())));
                out
            }
            _ => SynthesisKind::all_for(panel),
        }
    }

    /// Whether the part is asked only once the forecasts' ids are known
    /// (the second of synthesis's two waves): votes, paths, forecast wording.
    pub fn needs_forecasts(&self) -> bool {
        matches!(
            self,
            SynthesisKind::Vote(_) | SynthesisKind::Path(_) | SynthesisKind::ForecastWording
        )
    }

    /// The part in words, for progress lines ("The CFO's vote", "The path
    /// if it works"); `name_of` gives a persona's display name from its id.
    pub fn describe(&self, name_of: impl Fn(&str) -> String) -> String {
        match self {
            SynthesisKind::Verdict => "The verdict".into(),
            SynthesisKind::Forecasts => "The forecasts".into(),
            SynthesisKind::Vote(id) => format!("{}'s vote", name_of(id)),
            SynthesisKind::Actions => "The action plan".into(),
            SynthesisKind::Path(Scenario::Works) => "The path if it works".into(),
            SynthesisKind::Path(Scenario::Fails) => "The path if it fails".into(),
            SynthesisKind::Path(Scenario::Opposite) => "The path if we do the opposite".into(),
            SynthesisKind::Story => "The deeper story".into(),
            SynthesisKind::Evidence => "The evidence".into(),
            SynthesisKind::Risks => "The risks".into(),
            SynthesisKind::LegacyPaths => "The three paths".into(),
            SynthesisKind::ForecastWording => "The forecasts' wording".into(),
            SynthesisKind::Followup(n) => format!("Follow-up {n}'s answer"),
        }
    }

    /// The JSON Schema the call answers with, bound to the run (none for a
    /// kind that is never asked).
    pub fn schema(&self, b: &Bindings<'_>) -> Option<Value> {
        Some(match self {
            SynthesisKind::Verdict => schema_of::<VerdictAnswer>(b),
            SynthesisKind::Forecasts => schema_of::<ForecastsAnswer>(b),
            SynthesisKind::Vote(_) => schema_of::<VoteAnswer>(b),
            SynthesisKind::Actions => schema_of::<ActionsAnswer>(b),
            SynthesisKind::Path(_) => schema_of::<PathAnswer>(b),
            SynthesisKind::Story => schema_of::<StoryAnswer>(b),
            SynthesisKind::Evidence => schema_of::<EvidenceAnswer>(b),
            SynthesisKind::Risks => schema_of::<RisksAnswer>(b),
            SynthesisKind::ForecastWording => schema_of::<ForecastWordingAnswer>(b),
            SynthesisKind::Followup(_) => schema_of::<FollowupAnswer>(b),
            SynthesisKind::LegacyPaths => return None,
        })
    }
}

impl fmt::Display for SynthesisKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SynthesisKind::Vote(id) => write!(f, "vote:{id}"),
            SynthesisKind::Path(s) => write!(f, "path:{}", s.as_str()),
            SynthesisKind::Followup(n) => write!(f, "followup:{n}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for SynthesisKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "verdict" => SynthesisKind::Verdict,
            "forecasts" => SynthesisKind::Forecasts,
            "actions" => SynthesisKind::Actions,
            "story" => SynthesisKind::Story,
            "evidence" => SynthesisKind::Evidence,
            "risks" => SynthesisKind::Risks,
            "paths" => SynthesisKind::LegacyPaths,
            "forecast-wording" => SynthesisKind::ForecastWording,
            other => match other.split_once(':') {
                Some(("vote", id)) if !id.is_empty() => SynthesisKind::Vote(id.to_string()),
                Some(("followup", n)) => SynthesisKind::Followup(
                    n.parse()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| format!("follow-up number {n:?} is not a number from 1"))?,
                ),
                Some(("path", sc)) => SynthesisKind::Path(
                    Scenario::ALL
                        .into_iter()
                        .find(|x| x.as_str() == sc)
                        .ok_or_else(|| format!("unknown path scenario {sc:?}"))?,
                ),
                _ => return Err(format!("unknown synthesis part {other:?}")),
            },
        })
    }
}

impl Serialize for SynthesisKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SynthesisKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for SynthesisKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SynthesisKind".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "verdict, forecasts, vote:<persona id>, actions, path:works|fails|opposite, story, evidence, risks (version 1 also: paths)"
        })
    }
}

/// The verdict as a report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Its stance; unknown in version 1 transcripts.
    pub stance: Option<Stance>,
    /// The direct answer.
    pub answer: String,
    /// Its reasoning.
    pub reasoning: String,
}

/// One advisor's vote as a report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Vote {
    /// Their stance on the question; unknown in version 1 transcripts,
    /// whose votes were on the verdict instead.
    pub stance: Option<Stance>,
    /// Their confidence in it.
    pub confidence: u8,
    /// Their reason.
    pub reason: String,
    /// Their probability for each forecast.
    pub probabilities: Vec<Probability>,
}

/// One future path as a report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Which future; unknown in version 1 transcripts.
    pub scenario: Option<Scenario>,
    /// Its title.
    pub title: String,
    /// The decision taken.
    pub premise: String,
    /// (month, milestone), in month order.
    pub milestones: Vec<(u32, MilestoneDraft)>,
}

/// Every synthesis answer of a transcript, read into types.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answers {
    /// The verdict, if its call succeeded.
    pub verdict: Option<Verdict>,
    /// The forecasts as stated.
    pub forecasts: Vec<ForecastDraft>,
    /// Persona id → vote.
    pub votes: BTreeMap<String, Vote>,
    /// The actions.
    pub actions: Vec<ActionDraft>,
    /// The paths, in scenario order.
    pub paths: Vec<Path>,
    /// The deeper story's paragraphs.
    pub story: Vec<String>,
    /// The evidence items.
    pub evidence: Vec<EvidenceDraft>,
    /// The risks.
    pub risks: Vec<RiskDraft>,
    /// A variant's wording of the forecasts: id → statement.
    pub forecast_wording: BTreeMap<String, String>,
    /// What could not be used: failed calls, unreadable answers, old formats.
    pub problems: Vec<String>,
}

#[derive(Deserialize)]
struct V1Verdict {
    answer: String,
    reasoning: String,
}

#[derive(Deserialize)]
struct V1Vote {
    confidence: u8,
    reason: String,
    probabilities: Vec<Probability>,
}

#[derive(Deserialize)]
struct V1Paths {
    paths: Vec<V1Path>,
}

#[derive(Deserialize)]
struct V1Path {
    name: String,
    premise: String,
    milestones: Vec<V1Milestone>,
}

#[derive(Deserialize)]
struct V1Milestone {
    month: u32,
    #[serde(flatten)]
    milestone: MilestoneDraft,
}

fn read<T: serde::de::DeserializeOwned>(p: &SynthesisPart) -> Result<T, String> {
    serde_json::from_value(p.value.clone()).map_err(|e| e.to_string())
}

impl Answers {
    /// Each panel member's vote as the report weighs it: stance, raw
    /// confidence, and its weight recalibrated by [`crate::report::recalibrate`]
    /// (no vote: no stance, weight 0). The one home of that weighting, for
    /// the report and for the research metrics.
    pub fn report_votes(&self, panel: &[crate::PanelMember]) -> Vec<crate::report::Vote> {
        panel
            .iter()
            .map(|p| {
                let v = self.votes.get(&p.id);
                let confidence = v.map(|v| v.confidence.min(100));
                crate::report::Vote {
                    persona: p.id.clone(),
                    name: p.name.clone(),
                    stance: v.and_then(|v| v.stance),
                    confidence,
                    weight: confidence.map_or(0.0, crate::report::recalibrate),
                    reason: v.map(|v| v.reason.trim().to_string()).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// Reads every synthesis part of `t`: a failed call or an answer that
    /// does not fit its type becomes a problem, never a panic.
    pub fn from_transcript(t: &Transcript) -> Answers {
        let mut a = Answers::default();
        let v1 = t.version < 2;
        let mut v1_votes = false;
        let mut paths: Vec<Path> = Vec::new();
        for p in &t.synthesis {
            a.problems.extend(
                p.flags
                    .iter()
                    .map(|f| format!("synthesis part `{}`: {f}", p.part)),
            );
            if let Some(e) = &p.error {
                a.problems
                    .push(format!("synthesis part `{}` failed: {e}", p.part));
                continue;
            }
            let outcome: Result<(), String> = match &p.part {
                SynthesisKind::Verdict if v1 => read::<V1Verdict>(p).map(|v| {
                    a.verdict = Some(Verdict {
                        stance: None,
                        answer: v.answer,
                        reasoning: v.reasoning,
                    })
                }),
                SynthesisKind::Verdict => read::<VerdictAnswer>(p).map(|v| {
                    a.verdict = Some(Verdict {
                        stance: Some(v.stance),
                        answer: v.answer,
                        reasoning: v.reasoning,
                    })
                }),
                SynthesisKind::Forecasts => {
                    read::<ForecastsAnswer>(p).map(|f| a.forecasts = f.forecasts)
                }
                SynthesisKind::Vote(id) if v1 => read::<V1Vote>(p).map(|v| {
                    v1_votes = true;
                    a.votes.insert(
                        id.clone(),
                        Vote {
                            stance: None,
                            confidence: v.confidence,
                            reason: v.reason,
                            probabilities: v.probabilities,
                        },
                    );
                }),
                SynthesisKind::Vote(id) => read::<VoteAnswer>(p).map(|v| {
                    a.votes.insert(
                        id.clone(),
                        Vote {
                            stance: Some(v.stance),
                            confidence: v.confidence,
                            reason: v.reason,
                            probabilities: v.probabilities,
                        },
                    );
                }),
                SynthesisKind::Actions => read::<ActionsAnswer>(p).map(|x| a.actions = x.actions),
                SynthesisKind::Path(scenario) => read::<PathAnswer>(p).map(|x| {
                    paths.push(Path {
                        scenario: Some(*scenario),
                        title: x.title,
                        premise: x.premise,
                        milestones: x
                            .milestones
                            .by_month()
                            .into_iter()
                            .map(|(m, d)| (m, d.clone()))
                            .collect(),
                    })
                }),
                SynthesisKind::LegacyPaths => read::<V1Paths>(p).map(|x| {
                    paths.extend(x.paths.into_iter().map(|q| {
                        let mut milestones: Vec<(u32, MilestoneDraft)> = q
                            .milestones
                            .into_iter()
                            .map(|m| (m.month, m.milestone))
                            .collect();
                        milestones.sort_by_key(|m| m.0);
                        Path {
                            scenario: None,
                            title: q.name,
                            premise: q.premise,
                            milestones,
                        }
                    }))
                }),
                SynthesisKind::Story => read::<StoryAnswer>(p).map(|x| {
                    a.story = x
                        .paragraphs
                        .into_iter()
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                }),
                SynthesisKind::Evidence => read::<EvidenceAnswer>(p).map(|x| a.evidence = x.items),
                SynthesisKind::Risks => read::<RisksAnswer>(p).map(|x| a.risks = x.risks),
                SynthesisKind::ForecastWording => read::<ForecastWordingAnswer>(p).map(|x| {
                    a.forecast_wording = x
                        .forecasts
                        .into_iter()
                        .map(|f| (f.id, f.statement.trim().to_string()))
                        .filter(|(_, s)| !s.is_empty())
                        .collect()
                }),
                // A follow-up's answer belongs to the follow-up, not the report's synthesis.
                SynthesisKind::Followup(_) => Ok(()),
            };
            if let Err(e) = outcome {
                a.problems.push(format!(
                    "synthesis part `{}` could not be read ({e}); left out",
                    p.part
                ));
            }
        }
        paths.sort_by_key(|p| p.scenario);
        a.paths = paths;
        if v1_votes {
            a.problems.push(
                "votes: this transcript (format version 1) recorded stances on the verdict, not on the question; they are shown without a stance and not counted".into(),
            );
        }
        a
    }
}

/// A stable forecast id, `F-xxxxxx`: a hash of the run date and the
/// trimmed statement. Reports, outcomes and scores all name forecasts by
/// it, so it must never change for the same input.
pub fn forecast_id(date: &str, statement: &str) -> String {
    let h = crate::hash::fnv1a(date.bytes().chain(statement.trim().bytes()));
    format!("F-{:06x}", h & 0xff_ffff)
}

/// Whether `s` has the form of a forecast id (`F-` and six hex digits).
pub fn is_forecast_id(s: &str) -> bool {
    s.strip_prefix("F-")
        .is_some_and(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Answers {
    /// The forecasts as a report shows them, with their ids for a run of
    /// `date`: empty statements dropped, a statement given twice kept once.
    /// A forecast that revises one of its source run's (a branch's, by
    /// `revises`) keeps that forecast's id, so it can be followed across
    /// the runs however it is re-worded; the first to claim an id has it,
    /// a later one gets its own.
    pub fn distinct_forecasts(&self, date: &str) -> Vec<(String, &ForecastDraft)> {
        let mut out: Vec<(String, &ForecastDraft)> = Vec::new();
        for f in &self.forecasts {
            let statement = f.statement.trim();
            if statement.is_empty() || out.iter().any(|(_, g)| g.statement.trim() == statement) {
                continue;
            }
            let revises = f.revises.trim();
            let own = forecast_id(date, statement);
            let id = if is_forecast_id(revises) && !out.iter().any(|(x, _)| x == revises) {
                revises.to_string()
            } else {
                own
            };
            if !out.iter().any(|(x, _)| *x == id) {
                out.push((id, f));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_wire_names() {
        for k in SynthesisKind::all_for(&["cfo", "auditor"])
            .into_iter()
            .chain([
                SynthesisKind::LegacyPaths,
                SynthesisKind::ForecastWording,
                SynthesisKind::Followup(2),
            ])
        {
            let wire = k.to_string();
            assert_eq!(wire.parse::<SynthesisKind>().unwrap(), k, "{wire}");
            assert_eq!(serde_json::to_value(&k).unwrap(), Value::from(wire));
        }
        assert!("vote:".parse::<SynthesisKind>().is_err());
        assert!("path:someday".parse::<SynthesisKind>().is_err());
        assert!("summary".parse::<SynthesisKind>().is_err());
        assert!("followup:0".parse::<SynthesisKind>().is_err());
        assert!("followup:x".parse::<SynthesisKind>().is_err());
    }

    #[test]
    fn forecast_ids_never_change_for_the_same_date_and_statement() {
        // Pinned: outcomes recorded against an id must keep matching it.
        assert_eq!(
            forecast_id("2026-11-26", "Churn stays under 5%"),
            "F-7dd6cb"
        );
        assert_eq!(
            forecast_id("2026-11-26", "  Churn stays under 5% "),
            "F-7dd6cb"
        );
        let a = Answers {
            forecasts: [
                "Churn stays under 5%",
                " ",
                "Churn stays under 5% ",
                "NPS rises",
            ]
            .map(|s| ForecastDraft {
                statement: s.into(),
                horizon_months: 6,
                revises: String::new(),
            })
            .to_vec(),
            ..Answers::default()
        };
        let ids: Vec<String> = a
            .distinct_forecasts("2026-11-26")
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids.len(), 2, "empty and repeated statements are dropped");
        assert_eq!(ids[0], "F-7dd6cb");
    }

    #[test]
    fn a_revised_forecast_keeps_its_source_id_however_it_is_re_worded() {
        let draft = |s: &str, revises: &str| ForecastDraft {
            statement: s.into(),
            horizon_months: 6,
            revises: revises.into(),
        };
        let source = forecast_id("2026-11-26", "Churn stays under 5%");
        let a = Answers {
            forecasts: vec![
                draft("Churn stays under 4% through the price rise", &source),
                draft("Churn falls below 3%", &source),
                draft("NPS rises", ""),
                draft("Win rate holds", "not an id"),
            ],
            ..Answers::default()
        };
        let ids: Vec<String> = a
            .distinct_forecasts("2026-11-26")
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            ids,
            vec![
                source,
                forecast_id("2026-11-26", "Churn falls below 3%"),
                forecast_id("2026-11-26", "NPS rises"),
                forecast_id("2026-11-26", "Win rate holds"),
            ],
            "the first claim keeps the id; a second claim and a malformed link get their own"
        );
    }

    #[test]
    fn every_asked_kind_has_a_schema_and_the_legacy_one_none() {
        let b = Bindings::default();
        for k in SynthesisKind::all_for(&["cfo"]) {
            assert!(k.schema(&b).is_some(), "{k}");
        }
        assert!(SynthesisKind::LegacyPaths.schema(&b).is_none());
    }
}
