//! The moderator: one summary per round, in the debate's language, naming
//! who was absent. If the model's summary call fails or comes back empty,
//! the summary is assembled from the turns themselves and marked so.

use crate::rounds::RoundSpec;
use crate::shown::{shown_turn_as, ShownTurn};
use crate::{Debate, EngineError};
use council_core::{excerpt, lang_name, Summary, Turn, TurnStatus};
use council_llm::{ChatRequest, Message};
use tera::Context;

/// Characters of each turn the moderator reads (a small model reads less).
const TURN_EXCERPT: usize = 900;
/// [`TURN_EXCERPT`] for a small model: as much as an advisor is shown of
/// a peer's turn (`shown::ANSWER_EXCERPT_SMALL`).
const TURN_EXCERPT_SMALL: usize = 200;
/// Generated-token limit of a summary.
const SUMMARY_TOKENS: u32 = 400;
/// [`SUMMARY_TOKENS`] for a small model, asked for 40–70 words (about 90
/// tokens; a small model that runs on writes to the limit).
const SUMMARY_TOKENS_SMALL: u32 = 120;

/// Summarises round `spec` (numbered `round` in the prompt, seeded as
/// `seed_round`) from its `turns`.
pub(crate) async fn summarize(
    d: &Debate<'_>,
    round: u32,
    seed_round: u32,
    spec: &RoundSpec,
    turns: &[Turn],
) -> Result<Summary, EngineError> {
    let model = d.models.default_model();
    let info = model.info();
    let small = info.capabilities.small;
    // In an anonymous run the moderator too sees the panel by label, so
    // its summary (which later rounds show) names no one.
    let shown = crate::conditions::Shown::new(&d.panel, d.settings.condition);
    let absent: Vec<String> = turns
        .iter()
        .filter(|t| t.status == TurnStatus::Failed)
        .map(|t| shown.name(&t.persona))
        .collect();
    let spoken: Vec<ShownTurn> = turns
        .iter()
        .filter(|t| t.status == TurnStatus::Ok)
        .map(|t| {
            let chars = if small {
                TURN_EXCERPT_SMALL
            } else {
                TURN_EXCERPT
            };
            shown_turn_as(&shown, t, chars)
        })
        .collect();
    let mut ctx = Context::new();
    ctx.insert("question", &d.question);
    ctx.insert("round", &round);
    ctx.insert("round_title", spec.title);
    ctx.insert("turns", &spoken);
    ctx.insert("absent", &absent);
    ctx.insert("lang_name", lang_name(&d.settings.lang));
    ctx.insert("small", &small);
    let prompt = d.prompts.render("summary.tera", &ctx)?;
    let request = ChatRequest::new(vec![Message::user(prompt)])
        .with_seed(d.settings.seed_for(seed_round, "moderator"))
        .with_max_tokens(if small {
            SUMMARY_TOKENS_SMALL
        } else {
            SUMMARY_TOKENS
        });
    let (reply, language) =
        crate::language::ask_in_language(model.as_ref(), &request, &d.settings.lang, small, None)
            .await;
    let (mut text, fallback, usage) = match reply {
        Ok(r) if !r.text.trim().is_empty() => {
            let text = if r.finish_reason == council_llm::FinishReason::Length {
                cut_summary(r.text.trim())
            } else {
                r.text.trim().to_string()
            };
            (text, false, r.usage)
        }
        Ok(r) => (fallback_summary(&spoken), true, r.usage),
        Err(e) => {
            if let Some(stop) = EngineError::stops_run(&e) {
                return Err(stop);
            }
            tracing::warn!("round {round} summary call failed: {e}; summarising from the turns");
            (fallback_summary(&spoken), true, e.spent())
        }
    };
    let missing: Vec<&str> = absent
        .iter()
        .map(String::as_str)
        .filter(|n| !text.contains(n))
        .collect();
    if !missing.is_empty() {
        let names = missing.join(", ");
        if d.settings.lang == "zh" {
            text.push_str(&format!("（本轮缺席：{names}——模型调用失败。）"));
        } else {
            text.push_str(&format!(
                " (Absent this round: {names}; their model calls failed.)"
            ));
        }
    }
    Ok(Summary {
        round,
        text,
        absent: turns
            .iter()
            .filter(|t| t.status == TurnStatus::Failed)
            .map(|t| t.persona.clone())
            .collect(),
        fallback,
        copied_from: None,
        // A summary assembled from the turns is in their words; their own
        // flags say what language those were in.
        flags: if fallback {
            Vec::new()
        } else {
            language.into_iter().collect()
        },
        usage,
        backend: info.backend,
        model: info.model,
    })
}

/// A summary the token limit cut off, shortened like any excerpt: to its
/// last sentence (or word) end, marked with an ellipsis.
fn cut_summary(said: &str) -> String {
    excerpt(said, said.chars().count().saturating_sub(1))
}

/// A summary made of the turns' openings, for when the moderator fails.
fn fallback_summary(spoken: &[ShownTurn]) -> String {
    spoken
        .iter()
        .map(|s| format!("{} ({}): {}", s.name, s.move_, excerpt(&s.text, 160)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::cut_summary as cut;

    #[test]
    fn a_cut_summary_ends_at_its_last_full_sentence() {
        assert_eq!(
            cut("Raise prices 15% in March. The CFO objects! Churn may ri"),
            "Raise prices 15% in March. The CFO objects!…"
        );
        assert_eq!(
            cut("董事会同意，风险很高。风险在于客"),
            "董事会同意，风险很高。…"
        );
        assert_eq!(cut("No full sentence at all"), "No full sentence at…");
    }
}
