//! Casting the panel through the model, repaired into a valid panel.

use crate::{EngineError, Prompts};
use council_core::Persona;
use council_llm::{ChatModel, ChatRequest, Message};
use council_personas::casting::{candidates, casting_schema, finish_panel, open_places};
use council_personas::Roster;
use tera::Context;

/// Asks the model to choose the advisors of a panel of `size` (5–7) for the
/// question. The seats (fact-checker, contrarian) are filled regardless; a
/// failed or invalid answer is repaired by keyword matching. Returns the
/// panel and notes on repairs.
pub async fn cast_panel(
    model: &dyn ChatModel,
    prompts: &Prompts,
    roster: &Roster,
    question: &str,
    size: usize,
    seed: u64,
) -> Result<(Vec<Persona>, Vec<String>), EngineError> {
    let open = open_places(roster, size);
    let seated: Vec<&str> = roster
        .seat_holders()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    let mut ctx = Context::new();
    ctx.insert("question", question);
    ctx.insert("open_seats", &open);
    ctx.insert("seated", &seated);
    ctx.insert("candidates", &candidates(roster));
    let prompt = prompts.render("cast.tera", &ctx)?;
    let request = ChatRequest::new(vec![Message::user(prompt)])
        .with_schema("casting", casting_schema(roster, open))
        .with_seed(seed)
        .with_max_tokens(200);
    let (picks, mut notes) = match model.chat(&request).await {
        Ok(r) => {
            let picks = r
                .json
                .as_ref()
                .and_then(|j| j["panel"].as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (picks, Vec::new())
        }
        // A server that is not there stops here, before any run folder
        // exists: a panel picked by keyword would otherwise be kept for
        // good by the run that resumes.
        Err(e) => match EngineError::stops_run(&e) {
            Some(stop) => return Err(stop),
            None => (
                Vec::new(),
                vec![format!(
                    "the casting call failed ({e}); seats chosen by keyword match"
                )],
            ),
        },
    };
    let (panel, repairs) = finish_panel(roster, &picks, question, size);
    notes.extend(repairs);
    Ok((panel, notes))
}
