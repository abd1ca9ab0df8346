//! The display view of a report: what every format shows, already
//! formatted, localised and cut to the report's length. The templates
//! (Markdown, HTML) and the DOCX writer read the same [`View`].

use crate::brand::Brand;
use crate::charts;
use crate::RenderOptions;
use council_core::cost::{format_usd, CostLine, RunCost};
use council_core::report::{Backing, Concern, Remedy, ReportStatus, Scenario, Stance};
use council_core::variant::{Audience, OriginKind};
use council_core::{Report, Turn, TurnStatus};
use serde::Serialize;
use std::collections::BTreeMap;
use tera::Context;

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// The fixed text of one language, with `{name}` placeholders filled.
pub(crate) struct Text(pub(crate) BTreeMap<String, String>);

impl Text {
    pub(crate) fn get(&self, key: &str) -> String {
        self.0.get(key).cloned().unwrap_or_default()
    }

    /// A vote's stance as the report names it ("Conditional" for mixed).
    pub(crate) fn stance(&self, x: Stance) -> String {
        self.get(x.as_str())
    }

    /// The verdict's answer as the report names it ("Yes, if…" for mixed).
    pub(crate) fn verdict(&self, x: Stance) -> String {
        self.get(&format!("verdict_{}", x.as_str()))
    }

    pub(crate) fn fill(&self, key: &str, vars: &[(&str, &str)]) -> String {
        vars.iter()
            .fold(self.get(key), |s, (k, v)| s.replace(&format!("{{{k}}}"), v))
    }
}

/// One advisor's vote, formatted.
#[derive(Debug, Serialize)]
pub(crate) struct VoteRow {
    pub(crate) name: String,
    pub(crate) stance: String,
    pub(crate) stance_class: &'static str,
    pub(crate) confidence: String,
    pub(crate) weight: String,
    pub(crate) reason: String,
}

/// The weighted tally, as percentages and bar widths.
#[derive(Debug, Serialize)]
pub(crate) struct TallyView {
    pub(crate) support: String,
    pub(crate) mixed: String,
    pub(crate) oppose: String,
    pub(crate) support_w: String,
    pub(crate) mixed_w: String,
    pub(crate) oppose_w: String,
    pub(crate) counted: usize,
}

/// A forecast, formatted.
#[derive(Debug, Serialize)]
pub(crate) struct ForecastRow {
    pub(crate) id: String,
    pub(crate) statement: String,
    pub(crate) horizon: String,
    pub(crate) median: String,
    pub(crate) range: String,
    pub(crate) n: usize,
    /// "answer" or "answers", as `n` takes.
    pub(crate) answers: String,
}

/// A milestone with what backs it.
#[derive(Debug, Serialize)]
pub(crate) struct MilestoneRow {
    pub(crate) month: u32,
    /// "Month 3", "第3个月".
    pub(crate) label: String,
    /// "(backed by …)", or what the language says when nothing backs it.
    pub(crate) note: String,
    pub(crate) event: String,
    pub(crate) backing: String,
    pub(crate) ok: bool,
}

/// A future path.
#[derive(Debug, Serialize)]
pub(crate) struct PathView {
    pub(crate) title: String,
    pub(crate) scenario: Option<String>,
    pub(crate) premise: String,
    pub(crate) milestones: Vec<MilestoneRow>,
}

/// A piece of evidence and its citation.
#[derive(Debug, Serialize)]
pub(crate) struct EvidenceRow {
    pub(crate) claim: String,
    pub(crate) cite: String,
    pub(crate) verified: bool,
}

/// One turn of a round (or a follow-up).
#[derive(Debug, Serialize)]
pub(crate) struct TurnView {
    pub(crate) name: String,
    #[serde(rename = "move")]
    pub(crate) move_: String,
    pub(crate) confidence: String,
    pub(crate) failed: bool,
    pub(crate) error: Option<String>,
    pub(crate) text: String,
    pub(crate) answers: String,
    pub(crate) assumption: Option<String>,
    /// "Most dangerous assumption of The CFO", in the report's language.
    pub(crate) target: Option<String>,
    pub(crate) target_assumption: Option<String>,
    pub(crate) story: Option<String>,
    pub(crate) change: Option<String>,
    pub(crate) citations: String,
    /// The stance the turn took, in the report's words, if it took one.
    pub(crate) stance: Option<String>,
    /// The stance's CSS class (`support`, `mixed`, `oppose`).
    pub(crate) stance_class: &'static str,
}

/// A round with its summary and (at full length) its turns.
#[derive(Debug, Serialize)]
pub(crate) struct RoundView {
    pub(crate) number: u32,
    /// "Round 3", "第3轮".
    pub(crate) label: String,
    pub(crate) title: String,
    pub(crate) summary: Option<String>,
    pub(crate) turns: Vec<TurnView>,
}

/// A panel member's row.
#[derive(Debug, Serialize)]
pub(crate) struct PanelRow {
    pub(crate) name: String,
    pub(crate) role: String,
    #[serde(rename = "final")]
    pub(crate) final_: String,
}

/// A follow-up question and the panel's answer.
#[derive(Debug, Serialize)]
pub(crate) struct FollowupView {
    pub(crate) heading: String,
    pub(crate) answer: Option<String>,
    pub(crate) what_changed: Option<String>,
    pub(crate) new_risks: Vec<String>,
    pub(crate) summary: Option<String>,
    /// Each advisor's answer, cut short (left out of a brief).
    pub(crate) turns: Vec<TurnView>,
}

/// One line of the cost table.
#[derive(Debug, Serialize)]
pub(crate) struct CostRow {
    pub(crate) label: String,
    pub(crate) calls: u32,
    pub(crate) tokens: String,
    pub(crate) usd: String,
    pub(crate) priced: bool,
    pub(crate) total: bool,
}

/// What the run cost.
#[derive(Debug, Serialize)]
pub(crate) struct CostView {
    pub(crate) rows: Vec<CostRow>,
    /// "Models without a price: …", when some are.
    pub(crate) unpriced: Option<String>,
    /// "Built-in prices as of DATE.", when they were used.
    pub(crate) prices_as_of: Option<String>,
}

/// The brand, as the templates show it.
#[derive(Debug, Serialize)]
pub(crate) struct BrandView {
    pub(crate) name: String,
    /// A `data:` URI of only base64 characters after a fixed prefix.
    pub(crate) logo_uri: Option<String>,
    pub(crate) accent: Option<String>,
    pub(crate) footer: Option<String>,
    pub(crate) confidentiality: Option<String>,
    /// The text at the foot of each printed page, as a CSS string literal.
    pub(crate) page_footer_css: String,
    /// The confidentiality line at the top of each printed page, as a CSS string literal.
    pub(crate) confidentiality_css: String,
}

/// Which parts the report's length and audience show.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Show {
    /// Paths, story, evidence, panel, the rounds' summaries, sources.
    pub(crate) detail: bool,
    /// Every turn of every round.
    pub(crate) turns: bool,
    /// The origin and variant lines under the title (an internal report's).
    pub(crate) origin: bool,
    /// The list of what was flagged.
    pub(crate) flags: bool,
    /// The cost table (when the report has a cost).
    pub(crate) cost: bool,
    /// The internal appendix (an external audience's report, when asked):
    /// its heading, then the origin lines, flags and cost it holds.
    pub(crate) appendix: bool,
    /// The appendix holds the origin and variant lines.
    pub(crate) appendix_origin: bool,
}

/// The report's account of itself, shown before the verdict: one line
/// when all is well, else a warning naming what failed and what to do.
#[derive(Debug, Serialize)]
pub(crate) struct StatusView {
    /// `complete`, `partial` or `hollow` (and the CSS class).
    pub(crate) status: &'static str,
    /// All is well: the one line.
    pub(crate) line: Option<String>,
    /// Something is wrong: the warning's title.
    pub(crate) title: Option<String>,
    /// What is wrong, one sentence each.
    pub(crate) items: Vec<String>,
    /// The one thing to do.
    pub(crate) todo: Option<String>,
}

/// Everything the formats show.
#[derive(Debug, Serialize)]
pub(crate) struct View<'a> {
    pub(crate) t: BTreeMap<String, String>,
    /// The brand's line under the title.
    pub(crate) subtitle: Option<String>,
    pub(crate) r: &'a Report,
    pub(crate) show: Show,
    /// The report's account of itself, first of all.
    pub(crate) status: StatusView,
    /// When no debate stands behind the verdict: says so beside it.
    pub(crate) verdict_note: Option<String>,
    /// When the vote rests on confidences of 10 or less: says so beside it.
    pub(crate) vote_note: Option<String>,
    /// Every model that wrote a part, with what it wrote.
    pub(crate) produced_by: String,
    /// "Branch of RUN from round 3: …", for a derived run.
    pub(crate) origin_line: Option<String>,
    /// "Variant for the board · brief", for a variant.
    pub(crate) variant_line: Option<String>,
    /// "Study condition: single", for a run of a study's control condition.
    pub(crate) condition_line: Option<String>,
    pub(crate) votes: Vec<VoteRow>,
    pub(crate) tally: TallyView,
    pub(crate) contradiction: Option<String>,
    /// The verdict's stance: (its words, its CSS class).
    pub(crate) verdict_stance: Option<(String, &'static str)>,
    pub(crate) forecasts: Vec<ForecastRow>,
    pub(crate) paths: Vec<PathView>,
    pub(crate) evidence: Vec<EvidenceRow>,
    pub(crate) rounds: Vec<RoundView>,
    pub(crate) panel: Vec<PanelRow>,
    pub(crate) followups: Vec<FollowupView>,
    pub(crate) cost: Option<CostView>,
    pub(crate) brand: Option<BrandView>,
    pub(crate) verification: String,
    pub(crate) short_question: String,
    pub(crate) confidence_svg: String,
    pub(crate) paths_svg: String,
}

impl View<'_> {
    /// The top-level section headings shown, in order (`<h2>` in HTML,
    /// Heading 1 in DOCX).
    #[cfg(test)]
    pub(crate) fn sections(&self) -> Vec<String> {
        let t = |k: &str| self.t.get(k).cloned().unwrap_or_default();
        let mut out = vec![t("verdict"), t("forecasts"), t("actions")];
        if self.show.detail {
            out.extend([t("paths"), t("story"), t("evidence")]);
        }
        out.push(t("risks"));
        if self.show.detail {
            out.push(t("panel"));
        }
        out.extend(self.followups.iter().map(|f| f.heading.clone()));
        if self.show.detail {
            if !self.rounds.is_empty() {
                out.push(t("rounds"));
            }
            out.push(t("sources"));
        }
        if self.show.appendix {
            out.push(t("appendix"));
        }
        if self.show.flags {
            out.push(t("flags"));
        }
        if self.show.cost {
            out.push(t("cost"));
        }
        out
    }
}

/// Whether `c` cites a numbered source: `[` digits `]`.
fn is_source_ref(c: &str) -> bool {
    c.strip_prefix('[')
        .and_then(|c| c.strip_suffix(']'))
        .is_some_and(|n| !n.is_empty() && n.chars().all(|d| d.is_ascii_digit()))
}

fn turn_view(r: &Report, s: &Text, x: &Turn, limit: Option<usize>) -> TurnView {
    let name_of = |id: &str| r.local_name(id).to_string();
    TurnView {
        name: name_of(&x.persona),
        move_: x.move_.map_or_else(
            || "–".into(),
            |m| s.get(&format!("move_{}", m.as_str().to_lowercase())),
        ),
        confidence: x.confidence.map_or_else(|| "–".into(), |c| c.to_string()),
        failed: x.status == TurnStatus::Failed,
        error: x.error.clone(),
        text: limit.map_or_else(|| x.text.clone(), |n| council_core::excerpt(&x.text, n)),
        answers: x
            .responds_to
            .iter()
            .map(|id| name_of(id))
            .collect::<Vec<_>>()
            .join(&s.get("list_sep")),
        assumption: x.assumption.clone(),
        target: x
            .target_peer
            .as_deref()
            .map(|id| s.fill("targets", &[("name", &name_of(id))])),
        target_assumption: x.target_assumption.clone(),
        story: x.story.clone(),
        change: x.systemic_change.clone(),
        // Only citations of a numbered source ("[2]"): a weak model's
        // citations can hold any text, which the turn's line must not show.
        citations: x
            .citations
            .iter()
            .filter(|c| is_source_ref(c))
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        stance: x.stance.map(|st| s.stance(st)),
        stance_class: x.stance.map_or("none", Stance::as_str),
    }
}

fn cost_view(c: &RunCost, s: &Text, r: &Report) -> CostView {
    let row = |label: String, l: &CostLine, total: bool| CostRow {
        label,
        calls: l.usage.calls,
        tokens: match (l.usage.prompt_tokens, l.usage.completion_tokens) {
            (Some(p), Some(c)) => format!("{p} / {c}"),
            (Some(p), None) => format!("{p} / –"),
            (None, Some(c)) => format!("– / {c}"),
            (None, None) => "–".into(),
        },
        // A line without a price is "not priced", never $0.
        usd: l.usd.map_or_else(|| s.get("not_priced"), format_usd),
        priced: l.usd.is_some(),
        total,
    };
    let mut rows = vec![row(s.get("cost_total"), &c.total, true)];
    rows.push(row(s.get("cost_moderator"), &c.moderator, false));
    rows.push(row(s.get("cost_synthesis"), &c.synthesis, false));
    // A persona's line is labelled with its name: shown in the report's language.
    let local = |label: &str| {
        r.panel
            .iter()
            .find(|p| p.member.name == label)
            .map_or(label, |p| p.member.name_in(&r.lang))
            .to_string()
    };
    rows.extend(c.by_persona.iter().map(|l| row(local(&l.label), l, false)));
    rows.extend(c.followups.iter().enumerate().map(|(i, l)| {
        let n = (i + 1).to_string();
        row(s.fill("cost_followup", &[("n", &n)]), l, false)
    }));
    CostView {
        rows,
        unpriced: (!c.unpriced_models.is_empty()).then(|| {
            s.fill(
                "unpriced_models",
                &[("models", &c.unpriced_models.join(", "))],
            )
        }),
        prices_as_of: c
            .builtin_date
            .as_deref()
            .map(|d| s.fill("prices_as_of", &[("date", d)])),
    }
}

/// A CSS string literal holding `text`: every character but letters,
/// digits and spaces is written as a hex escape, so nothing the user wrote
/// can end the string or the `<style>` element.
fn css_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        if c.is_alphanumeric() || c == ' ' {
            out.push(c);
        } else {
            out.push_str(&format!("\\{:x} ", u32::from(c)));
        }
    }
    out.push('"');
    out
}

fn brand_view(b: &Brand) -> BrandView {
    let footer: Vec<&str> = [Some(b.name.as_str()), b.footer.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    BrandView {
        name: b.name.clone(),
        logo_uri: b.logo.as_ref().map(|l| l.data_uri()),
        accent: b.accent.clone(),
        footer: b.footer.clone(),
        confidentiality: b.confidentiality.clone(),
        page_footer_css: css_string(&footer.join(" · ")),
        confidentiality_css: css_string(b.confidentiality.as_deref().unwrap_or_default()),
    }
}

/// The view of `r`, branded with `brand`, with the brand's appendix.
#[cfg(test)]
pub(crate) fn view<'a>(r: &'a Report, brand: Option<&Brand>) -> View<'a> {
    view_with(r, &RenderOptions::branded(brand))
}

/// Whether `r` is written for a reader outside the firm: a variant for a
/// client, or for an audience the brand marks external.
pub(crate) fn is_external(r: &Report, brand: Option<&Brand>) -> bool {
    r.variant.as_ref().is_some_and(|v| {
        v.audience == Audience::Client || brand.is_some_and(|b| b.external.contains(&v.audience))
    })
}

/// What the report shows, from its length, its audience and the appendix
/// asked for: an external audience's report leaves out the origin line,
/// the variant's instructions, the flags list and the cost table, unless
/// its appendix asks for them, and then shows them there.
fn show_of(r: &Report, options: &RenderOptions<'_>) -> Show {
    let length = r.length();
    let detail = length.shows_detail();
    let has_cost = r.cost.is_some();
    if !is_external(r, options.brand) {
        return Show {
            detail,
            turns: length.shows_rounds(),
            origin: true,
            flags: detail,
            cost: detail && has_cost,
            appendix: false,
            appendix_origin: false,
        };
    }
    let appendix = options
        .appendix
        .or(options.brand.map(|b| b.appendix))
        .unwrap_or_default();
    let has_origin = r.origin.is_some() || r.variant.is_some();
    let appendix_origin = appendix.origin && has_origin;
    let cost = appendix.cost && has_cost;
    Show {
        detail,
        turns: length.shows_rounds(),
        origin: false,
        flags: appendix.flags,
        cost,
        appendix: appendix_origin || appendix.flags || cost,
        appendix_origin,
    }
}

/// The view of `r` rendered with `options`.
pub(crate) fn view_with<'a>(r: &'a Report, options: &RenderOptions<'_>) -> View<'a> {
    let brand = options.brand;
    let mut t = crate::strings(&r.lang);
    if let Some(title) = brand.and_then(|b| b.title.clone()) {
        t.insert("title".into(), title);
    }
    // A single answer asks for three parts only: the others are not missing.
    if r.condition == council_core::study::Condition::Single {
        if let Some(text) = t.get("not_available_single").cloned() {
            t.insert("not_available".into(), text);
        }
    }
    let s = Text(t.clone());
    let name_of = |id: &str| r.local_name(id).to_string();
    let scenario_name = |x: Scenario| s.get(&format!("scenario_{}", x.as_str()));
    let show = show_of(r, options);

    let votes = r
        .votes
        .iter()
        .map(|v| VoteRow {
            name: Some(r.local_name(&v.persona))
                .filter(|n| *n != v.persona)
                .unwrap_or(&v.name)
                .to_string(),
            stance: v.stance.map_or_else(|| s.get("no_vote"), |x| s.stance(x)),
            stance_class: v.stance.map_or("none", Stance::as_str),
            confidence: v.confidence.map_or_else(|| "–".into(), |c| c.to_string()),
            weight: format!("{:.1}", v.weight),
            reason: v.reason.clone(),
        })
        .collect();
    let forecasts = r
        .forecasts
        .iter()
        .map(|f| ForecastRow {
            id: f.id.clone(),
            statement: f.statement.clone(),
            horizon: f.horizon.clone(),
            median: f.median.map_or_else(|| "–".into(), pct),
            range: f
                .range
                .map_or_else(|| "–".into(), |(a, b)| format!("{}–{}", pct(a), pct(b))),
            n: f.probabilities.len(),
            answers: s.get(if f.probabilities.len() == 1 {
                "one_answer"
            } else {
                "answers"
            }),
        })
        .collect();
    let paths = r
        .paths
        .iter()
        .map(|p| {
            let milestones = p
                .milestones
                .iter()
                .map(|m| {
                    let (backing, ok) = match &m.backing {
                        Backing::Quote {
                            persona,
                            quote,
                            verified,
                        } => {
                            let mark = if *verified {
                                String::new()
                            } else {
                                s.get("unverified_mark")
                            };
                            (
                                format!("{}{}“{quote}”{mark}", name_of(persona), s.get("colon")),
                                *verified,
                            )
                        }
                        Backing::Forecast {
                            id,
                            probability,
                            valid,
                        } => {
                            if *valid {
                                let p = probability.map_or_else(|| "–".into(), pct);
                                (s.fill("backing_forecast", &[("id", id), ("p", &p)]), true)
                            } else {
                                (s.fill("backing_unknown_forecast", &[("id", id)]), false)
                            }
                        }
                        Backing::None => ("–".into(), false),
                    };
                    let month = m.month.to_string();
                    let note = match m.backing {
                        Backing::None => s.get("backing_none"),
                        _ => s.fill("backing_note", &[("backing", &backing)]),
                    };
                    MilestoneRow {
                        month: m.month,
                        label: s.fill("month_label", &[("n", &month)]),
                        note,
                        event: m.event.clone(),
                        backing,
                        ok,
                    }
                })
                .collect();
            PathView {
                title: p.title.clone(),
                scenario: p.scenario.map(scenario_name),
                premise: p.premise.clone(),
                milestones,
            }
        })
        .collect();
    let evidence = r
        .evidence
        .iter()
        .map(|e| {
            let mut cite = Vec::new();
            if let Some(n) = e.source {
                cite.push(format!("[{n}]"));
            }
            if let Some(p) = &e.persona {
                match &e.quote {
                    Some(q) => cite.push(format!("{}{}“{q}”", name_of(p), s.get("colon"))),
                    None => cite.push(name_of(p)),
                }
            }
            // Shown verified exactly when the report's check verified it.
            EvidenceRow {
                claim: e.claim.clone(),
                cite: cite.join("; "),
                verified: e.verified,
            }
        })
        .collect();
    let rounds = r
        .rounds
        .iter()
        .map(|round| RoundView {
            number: round.number,
            label: s.fill("round_label", &[("n", &round.number.to_string())]),
            title: s.get(&format!("round_{}", round.number.clamp(1, 5))),
            summary: round.summary.clone(),
            turns: if show.turns {
                round
                    .turns
                    .iter()
                    .map(|x| turn_view(r, &s, x, None))
                    .collect()
            } else {
                Vec::new()
            },
        })
        .collect();
    let panel = r
        .panel
        .iter()
        .map(|p| PanelRow {
            name: p.member.name_in(&r.lang).to_string(),
            role: p.member.role_in(&r.lang).to_string(),
            final_: p
                .final_confidence
                .map_or_else(|| "–".into(), |c| c.to_string()),
        })
        .collect();
    let nonempty = |x: &str| Some(x.trim().to_string()).filter(|x| !x.is_empty());
    let followups = r
        .followups
        .iter()
        .map(|f| FollowupView {
            heading: s.fill(
                "followup_heading",
                &[("n", &f.number.to_string()), ("question", &f.question)],
            ),
            answer: nonempty(&f.answer),
            what_changed: nonempty(&f.what_changed),
            new_risks: f.new_risks.clone(),
            summary: f.summary.as_deref().and_then(nonempty),
            turns: if show.detail {
                f.turns
                    .iter()
                    .map(|x| turn_view(r, &s, x, Some(300)))
                    .collect()
            } else {
                Vec::new()
            },
        })
        .collect();
    let origin_line = r.origin.as_ref().map(|o| {
        let line = match (o.kind, o.from_round) {
            (OriginKind::Branch, Some(n)) => s.fill(
                "origin_branch_round",
                &[("source", &o.source), ("round", &n.to_string())],
            ),
            (OriginKind::Branch, None) => s.fill("origin_branch", &[("source", &o.source)]),
            (OriginKind::Variant, _) => s.fill("origin_variant", &[("source", &o.source)]),
        };
        if o.changes.is_empty() {
            line
        } else {
            let changes: Vec<String> = o.changes.iter().map(|c| local_change(r, &s, c)).collect();
            format!(
                "{line}{}{}",
                s.get("colon"),
                changes.join(&s.get("change_sep"))
            )
        }
    });
    let variant_line = r.variant.as_ref().map(|v| {
        let mut parts = vec![
            s.fill(
                "variant_for",
                &[(
                    "audience",
                    &s.get(&format!("audience_{}", v.audience.as_str())),
                )],
            ),
            s.get(&format!("length_{}", v.length.as_str())),
        ];
        if let Some(tone) = &v.tone {
            parts.push(format!("{}{}{tone}", s.get("tone"), s.get("colon")));
        }
        if let Some(e) = &v.emphasis {
            parts.push(format!("{}{}{e}", s.get("emphasis"), s.get("colon")));
        }
        parts.join(" · ")
    });
    let condition_line = (!r.condition.is_debate())
        .then(|| format!("{}{}{}", s.get("condition"), s.get("colon"), r.condition));
    let verification = s.fill(
        "verification",
        &[
            ("checked", &r.verification.quotes_checked.to_string()),
            (
                "unverified",
                &r.verification.unverified_quotes.len().to_string(),
            ),
            ("first_try", &r.verification.first_try.to_string()),
            ("answers", &r.verification.answers.to_string()),
        ],
    );
    let contradiction = r
        .verification
        .verdict_vs_vote
        .map(|(said, majority, share)| {
            s.fill(
                "verdict_contradiction",
                &[
                    ("verdict", &s.verdict(said)),
                    ("majority", &s.stance(majority)),
                    ("share", &pct(share)),
                ],
            )
        });
    let status = status_view(r, &s);
    let q = &r.quality;
    let verdict_note = (r.status == ReportStatus::Hollow).then(|| {
        s.fill(
            "verdict_hollow",
            &[
                ("spoken", &q.turns_spoken.to_string()),
                ("asked", &q.turns_asked.to_string()),
            ],
        )
    });
    let vote_note = q.weak_vote.then(|| s.get("vote_weak"));
    let produced_by = if r.producers.is_empty() {
        r.produced_by.clone()
    } else {
        r.producers
            .iter()
            .map(|p| {
                let n = |key: &str, n: u32| s.fill(key, &[("n", &n.to_string())]);
                let what: Vec<String> = [
                    (p.turns > 0).then(|| n("produced_turns", p.turns)),
                    (p.summaries > 0).then(|| n("produced_summaries", p.summaries)),
                    (p.parts > 0).then(|| n("produced_parts", p.parts)),
                ]
                .into_iter()
                .flatten()
                .collect();
                format!(
                    "{} {} ({})",
                    p.backend,
                    p.model,
                    what.join(&s.get("list_sep"))
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    // The chart's legend names each advisor in the report's language.
    let mut local_panel = r.panel.clone();
    for p in &mut local_panel {
        p.member.name = p.member.name_in(&r.lang).to_string();
    }
    let row_label = |p: &council_core::report::FuturePath| {
        p.scenario.map_or_else(|| p.title.clone(), scenario_name)
    };
    View {
        show,
        status,
        verdict_note,
        vote_note,
        produced_by,
        origin_line,
        variant_line,
        condition_line,
        votes,
        tally: TallyView {
            support: pct(r.tally.support),
            mixed: pct(r.tally.mixed),
            oppose: pct(r.tally.oppose),
            support_w: format!("{:.1}", r.tally.support * 100.0),
            mixed_w: format!("{:.1}", r.tally.mixed * 100.0),
            oppose_w: format!("{:.1}", r.tally.oppose * 100.0),
            counted: r.tally.counted,
        },
        contradiction,
        verdict_stance: r.verdict_stance.map(|x| (s.verdict(x), x.as_str())),
        forecasts,
        paths,
        evidence,
        rounds,
        panel,
        followups,
        cost: r
            .cost
            .as_ref()
            .filter(|_| show.cost)
            .map(|c| cost_view(c, &s, r)),
        subtitle: brand.and_then(|b| b.subtitle.clone()),
        brand: brand.map(brand_view),
        verification,
        short_question: council_core::excerpt(&r.question, 80),
        // No round spoken (a single answer): no chart of empty axes.
        confidence_svg: if local_panel.iter().all(|p| p.trajectory.is_empty()) {
            String::new()
        } else {
            charts::confidence_chart(&local_panel, |n| {
                s.fill("round_label", &[("n", &n.to_string())])
            })
        },
        // A chart of bare lines says nothing: none when no path kept a milestone.
        paths_svg: if r.paths.iter().any(|p| !p.milestones.is_empty()) {
            charts::paths_chart(&r.paths, row_label)
        } else {
            String::new()
        },
        t,
        r,
    }
}

/// One line of a derived run's changes (as the engine and CLI record them,
/// in English: `language zh (the debate's: en)`, `tone: …`, `swap a=b`…)
/// in the report's language, persona ids shown by name; a line of
/// another form is shown as recorded.
fn local_change(r: &Report, s: &Text, change: &str) -> String {
    let lang = |code: &str| Some(s.get(&format!("lang_{code}"))).filter(|x| !x.is_empty());
    let names = |ids: &str| {
        ids.split(',')
            .map(|id| r.local_name(id.trim()).to_string())
            .collect::<Vec<_>>()
            .join(&s.get("list_sep"))
    };
    let labelled = |key: &str, value: &str| format!("{}{}{value}", s.get(key), s.get("colon"));
    if let Some((to, from)) = change
        .strip_prefix("language ")
        .and_then(|x| x.strip_suffix(')'))
        .and_then(|x| x.split_once(" (the debate's: "))
    {
        if let (Some(to), Some(from)) = (lang(to), lang(from)) {
            return s.fill("change_language", &[("lang", &to), ("source", &from)]);
        }
    } else if let Some(x) = change.strip_prefix("tone: ") {
        return labelled("tone", x);
    } else if let Some(x) = change.strip_prefix("emphasis: ") {
        return labelled("emphasis", x);
    } else if let Some(ids) = change.strip_prefix("panel ") {
        return labelled("change_panel", &names(ids));
    } else if let Some((old, new)) = change.strip_prefix("swap ").and_then(|x| x.split_once('=')) {
        return s.fill("change_swap", &[("old", &names(old)), ("new", &names(new))]);
    } else if let Some(m) = change.strip_prefix("model ") {
        if let Some((id, model)) = m.split_once('=') {
            return s.fill(
                "change_model",
                &[("name", &names(id)), ("model", model.trim())],
            );
        }
    } else if change == "question changed" {
        return s.get("change_question");
    }
    change.to_string()
}

/// The report's account of itself ([`StatusView`]), in the report's language.
pub(crate) fn status_view(r: &Report, s: &Text) -> StatusView {
    let q = &r.quality;
    let num = |n: u32| n.to_string();
    if r.concerns.is_empty() {
        // A run asked for no synthesis, or one that quoted nobody, has no
        // parts or quotes to count.
        let parts = if q.parts_asked > 0 {
            s.fill(
                "status_parts",
                &[
                    ("parts", &num(q.parts_present)),
                    ("parts_asked", &num(q.parts_asked)),
                ],
            )
        } else {
            String::new()
        };
        let quotes = if q.quotes_checked > 0 {
            s.fill(
                "status_quotes",
                &[
                    ("verified", &num(q.quotes_verified)),
                    ("checked", &num(q.quotes_checked)),
                ],
            )
        } else {
            String::new()
        };
        return StatusView {
            status: r.status.as_str(),
            line: Some(s.fill(
                "status_complete",
                &[
                    ("spoken", &num(q.turns_spoken)),
                    ("asked", &num(q.turns_asked)),
                    ("parts", &parts),
                    ("first_try", &num(q.first_try)),
                    ("answers", &num(q.answers)),
                    ("quotes", &quotes),
                ],
            )),
            title: None,
            items: Vec::new(),
            todo: None,
        };
    }
    let items = r
        .concerns
        .iter()
        .map(|c| match c {
            Concern::Hollow { spoken, asked } => s.fill(
                if *spoken == 0 {
                    "concern_hollow_none"
                } else {
                    "concern_hollow"
                },
                &[("spoken", &num(*spoken)), ("asked", &num(*asked))],
            ),
            Concern::MissingTurns { spoken, asked } => s.fill(
                "concern_missing_turns",
                &[("spoken", &num(*spoken)), ("asked", &num(*asked))],
            ),
            Concern::MissingParts { parts } => {
                s.fill("concern_missing_parts", &[("parts", &parts.join(", "))])
            }
            Concern::WeakAnswers { flagged, spoken } => s.fill(
                "concern_weak_answers",
                &[("flagged", &num(*flagged)), ("spoken", &num(*spoken))],
            ),
            Concern::UnverifiedQuotes { verified, checked } => s.fill(
                if *verified == 0 {
                    "concern_unverified_quotes_none"
                } else {
                    "concern_unverified_quotes"
                },
                &[("verified", &num(*verified)), ("checked", &num(*checked))],
            ),
            Concern::WeakVote { .. } => s.get("concern_weak_vote"),
            Concern::FirstTry { first_try, answers } => s.fill(
                "concern_first_try",
                &[("first_try", &num(*first_try)), ("answers", &num(*answers))],
            ),
            Concern::OffLanguage { count: 1 } => s.get("concern_off_language_one"),
            Concern::OffLanguage { count } => {
                s.fill("concern_off_language", &[("count", &num(*count))])
            }
        })
        .collect();
    let title = match r.status {
        ReportStatus::Hollow => s.get("status_hollow"),
        ReportStatus::Partial => s.get("status_partial"),
        ReportStatus::Complete => s.get("status_weak"),
    };
    StatusView {
        status: r.status.as_str(),
        line: None,
        title: Some(title),
        items,
        todo: r.remedy.map(|m| {
            s.get(match m {
                Remedy::ReachableServer => "remedy_reachable_server",
                Remedy::Resume => "remedy_resume",
                Remedy::LargerModel => "remedy_larger_model",
            })
        }),
    }
}

/// The tera context of the view.
pub(crate) fn context(view: &View<'_>) -> Result<Context, tera::Error> {
    Context::from_serialize(view)
}
