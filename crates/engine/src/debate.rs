//! What a run needs: the question, the panel in speaking order, the
//! settings, and the model each persona speaks through.

use crate::{Progress, Prompts};
use council_core::hash::fnv1a;
use council_core::Persona;
use council_llm::ChatModel;
use std::collections::HashMap;
use std::sync::Arc;

/// How a debate runs.
#[derive(Debug, Clone, PartialEq)]
pub struct DebateSettings {
    /// Rounds to play (default 5).
    pub rounds: u32,
    /// Calls in flight at once.
    pub max_concurrency: usize,
    /// Base seed; each call's seed derives from it, the round and the persona.
    pub seed: u64,
    /// The run date, `YYYY-MM-DD`.
    pub date: String,
    /// Language code of the debate and report.
    pub lang: String,
    /// Generated-token limit per turn.
    pub max_tokens: u32,
    /// Whether to run the synthesis calls after the last round.
    pub synthesis: bool,
    /// The study condition (the full debate outside a study).
    pub condition: council_core::study::Condition,
}

impl DebateSettings {
    /// The seed of one call: the base seed mixed with the caller (a stable
    /// hash of a persona id or a part name) and the round, so every call
    /// differs and a rerun repeats it.
    pub fn seed_for(&self, round: u32, caller: &str) -> u64 {
        self.seed ^ fnv1a(caller.bytes()) ^ u64::from(round).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

/// The model each persona speaks through.
#[derive(Clone)]
pub struct Models {
    default: Arc<dyn ChatModel>,
    per_persona: HashMap<String, Arc<dyn ChatModel>>,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models")
            .field("default", &self.default.info().model)
            .field("overridden", &self.per_persona.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Models {
    /// Every persona and the moderator use `default`.
    pub fn new(default: Arc<dyn ChatModel>) -> Self {
        Models {
            default,
            per_persona: HashMap::new(),
        }
    }

    /// `persona` speaks through `model` instead.
    pub fn with_override(mut self, persona: impl Into<String>, model: Arc<dyn ChatModel>) -> Self {
        self.per_persona.insert(persona.into(), model);
        self
    }

    /// The model for `persona`.
    pub fn for_persona(&self, persona: &str) -> &Arc<dyn ChatModel> {
        self.per_persona.get(persona).unwrap_or(&self.default)
    }

    /// Every model checked against `budget` before each call; `price_of`
    /// prices a model (needed when the budget limits dollars).
    pub fn metered(
        self,
        budget: &Arc<crate::Budget>,
        price_of: impl Fn(&council_llm::ModelInfo) -> Option<council_core::cost::Price>,
    ) -> Result<Models, String> {
        let wrap = |m: Arc<dyn ChatModel>| -> Result<Arc<dyn ChatModel>, String> {
            let price = price_of(&m.info());
            Ok(Arc::new(crate::budget::Metered::new(
                m,
                price,
                budget.clone(),
            )?))
        };
        let mut per_persona = HashMap::new();
        for (id, m) in self.per_persona {
            per_persona.insert(id, wrap(m)?);
        }
        Ok(Models {
            default: wrap(self.default)?,
            per_persona,
        })
    }

    /// The moderator's (and casting's) model.
    pub fn default_model(&self) -> &Arc<dyn ChatModel> {
        &self.default
    }
}

/// Everything a run needs.
pub struct Debate<'a> {
    /// The question.
    pub question: String,
    /// The panel, in speaking order.
    pub panel: Vec<Persona>,
    /// Rounds, seed, date, language, limits.
    pub settings: DebateSettings,
    /// Who speaks through which model.
    pub models: Models,
    /// The templates.
    pub prompts: &'a Prompts,
    /// Where progress goes.
    pub progress: &'a dyn Progress,
    /// Repairs made before the debate (casting).
    pub notes: Vec<String>,
    /// The research library the panel may cite, if any.
    pub library: Option<&'a council_library::Library>,
    /// The library's inputs as given, recorded so `--resume` can reload them.
    pub library_inputs: Vec<String>,
}

impl std::fmt::Debug for Debate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Debate")
            .field("question", &self.question)
            .field(
                "panel",
                &self.panel.iter().map(|p| &p.id).collect::<Vec<_>>(),
            )
            .field("settings", &self.settings)
            .field("models", &self.models)
            .finish_non_exhaustive()
    }
}
