//! Answers in the run's language. Every turn, round summary and synthesis
//! part is read for the language its prose is written in
//! ([`council_core::lang::wrong_language`]); an answer clearly in another
//! language is flagged ([`council_core::lang::language_flag`]). Where the
//! model is small, that answer is first asked once more with the language
//! restated: the second answer is kept either way (its tokens added to the
//! first's), and flagged only if it is still in another language.

use council_core::lang::{language_flag, wrong_language};
use council_core::lang_name;
use council_llm::{ChatModel, ChatRequest, ChatResponse, LlmError, TextSink};
use serde_json::Value;

/// Answer fields that hold ids, enums or words copied from someone else,
/// not the answer's own prose: left out when its language is read.
const NOT_PROSE: [&str; 9] = [
    "move",
    "stance",
    "responds_to",
    "target_peer",
    "citations",
    "persona",
    "id",
    "forecast_id",
    "quote",
];

/// The prose of a structured answer: every string in it but ids, enums and
/// quotes ([`NOT_PROSE`]), one per line.
pub(crate) fn prose_of(answer: &Value) -> String {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map
                .iter()
                .filter(|(k, _)| !NOT_PROSE.contains(&k.as_str()))
                .for_each(|(_, v)| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(answer, &mut out);
    out.join("\n")
}

/// What a reply says in its own words: the prose of its structured answer,
/// or its text when it has none (a summary).
fn prose_of_reply(r: &ChatResponse) -> String {
    r.json.as_ref().map_or_else(|| r.text.clone(), prose_of)
}

/// `request` with the language restated at the end of its last message
/// (the prompt before it stays the same, so a prompt cache still serves it).
fn restated(request: &ChatRequest, lang: &str, reads_as: &str) -> ChatRequest {
    let mut again = request.clone();
    let name = lang_name(lang);
    if let Some(last) = again.messages.last_mut() {
        last.content.push_str(&format!(
            "\n\nYour previous answer was written in {reads_as}. Answer again, and write every sentence in {name}."
        ));
    }
    again
}

async fn ask_once(
    model: &dyn ChatModel,
    request: &ChatRequest,
    sink: Option<&TextSink<'_>>,
) -> Result<ChatResponse, LlmError> {
    match sink {
        Some(sink) => model.chat_streaming(request, sink).await,
        None => model.chat(request).await,
    }
}

/// Asks `model` and reads the answer's language against the run's `lang`.
/// Returns the reply to keep and, when its prose is in another language,
/// the flag it carries. A `small` model's answer in another language is
/// asked once more (one extra call at most, streamed to `sink` afresh after
/// an empty piece); the second answer is kept, with both calls' tokens and
/// answers counted, and flagged only if still wrong. If that second call
/// fails, the first answer is kept, flagged: nothing already answered is
/// lost. A model that is not small is not asked again.
pub(crate) async fn ask_in_language(
    model: &dyn ChatModel,
    request: &ChatRequest,
    lang: &str,
    small: bool,
    sink: Option<&TextSink<'_>>,
) -> (Result<ChatResponse, LlmError>, Option<String>) {
    let first = ask_once(model, request, sink).await;
    let reads_as = match &first {
        Ok(r) => wrong_language(lang, &prose_of_reply(r)),
        Err(_) => None,
    };
    let (Some(reads_as), Ok(answered)) = (reads_as, &first) else {
        return (first, None);
    };
    if !small {
        return (first, Some(language_flag(lang, reads_as, false)));
    }
    tracing::info!(
        "an answer in {reads_as}, not {}: asked once more",
        lang_name(lang)
    );
    if let Some(sink) = sink {
        sink("");
    }
    match ask_once(model, &restated(request, lang, reads_as), sink).await {
        Ok(mut second) => {
            second.usage = answered.usage + second.usage;
            second.attempts += answered.attempts;
            let flag = wrong_language(lang, &prose_of_reply(&second))
                .map(|still| language_flag(lang, still, true));
            (Ok(second), flag)
        }
        Err(e) => {
            tracing::warn!(
                "the answer in {reads_as} was asked again in {} and the call failed ({e}); the first answer is kept",
                lang_name(lang)
            );
            (first, Some(language_flag(lang, reads_as, false)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use council_core::lang::is_language_flag;
    use council_core::Usage;
    use council_llm::{Capabilities, FinishReason, Message, ModelInfo};
    use serde_json::json;
    use std::sync::Mutex;

    const EN: &str = "We should raise the price for new customers and keep renewals as they are.";
    const ZH: &str = "我们应该先对新客户提价，续约客户的价格在流失率明确之前保持不变。";

    /// Answers each call with the next text of its script (the last one
    /// again once the script runs out), and keeps every request.
    struct Scripted {
        answers: Vec<&'static str>,
        asked: Mutex<Vec<ChatRequest>>,
        fail_after: Option<usize>,
    }

    impl Scripted {
        fn new(answers: &[&'static str]) -> Self {
            Scripted {
                answers: answers.to_vec(),
                asked: Mutex::new(Vec::new()),
                fail_after: None,
            }
        }
        fn calls(&self) -> Vec<ChatRequest> {
            self.asked.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl ChatModel for Scripted {
        fn info(&self) -> ModelInfo {
            ModelInfo {
                backend: "fake".into(),
                model: "scripted".into(),
                location: String::new(),
                capabilities: Capabilities::in_process(),
            }
        }
        async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
            let n = {
                let mut asked = self.asked.lock().unwrap();
                asked.push(request.clone());
                asked.len()
            };
            if self.fail_after.is_some_and(|k| n > k) {
                return Err(LlmError::InvalidRequest("refused".into()));
            }
            let text = self.answers[(n - 1).min(self.answers.len() - 1)];
            let json = request.schema.as_ref().map(
                |_| json!({"move": "SHARE", "stance": "support", "text": text, "confidence": 60}),
            );
            Ok(ChatResponse {
                text: text.into(),
                json,
                finish_reason: FinishReason::Stop,
                usage: Usage::reported(100, 20),
                model: "scripted".into(),
                attempts: 1,
            })
        }
    }

    fn turn_request() -> ChatRequest {
        ChatRequest::new(vec![
            Message::system("You are the CFO."),
            Message::user("Should we raise prices?"),
        ])
        .with_schema("turn", json!({"type": "object"}))
    }

    #[tokio::test]
    async fn a_small_model_answering_in_english_is_asked_once_more_and_its_chinese_kept() {
        let m = Scripted::new(&[EN, ZH]);
        let (reply, flag) = ask_in_language(&m, &turn_request(), "zh", true, None).await;
        let reply = reply.unwrap();
        assert_eq!(reply.json.unwrap()["text"], ZH);
        assert_eq!(flag, None);
        // Both calls' tokens and answers are counted.
        let one = Usage::reported(100, 20);
        assert_eq!(reply.usage, one + one);
        assert_eq!(reply.usage.calls, 2);
        assert_eq!(reply.attempts, 2);
        let calls = m.calls();
        assert_eq!(calls.len(), 2);
        // The retry restates the language after the same prompt.
        let (first, again) = (&calls[0].messages[1].content, &calls[1].messages[1].content);
        assert!(again.starts_with(first.as_str()), "{again}");
        assert!(
            again.contains("written in English") && again.contains("简体中文"),
            "{again}"
        );
    }

    #[tokio::test]
    async fn a_small_model_that_stays_in_english_is_asked_once_more_and_flagged() {
        let m = Scripted::new(&[EN]);
        let (reply, flag) = ask_in_language(&m, &turn_request(), "zh", true, None).await;
        assert_eq!(m.calls().len(), 2, "one retry, no more");
        let one = Usage::reported(100, 20);
        assert_eq!(reply.unwrap().usage, one + one);
        let flag = flag.expect("flagged");
        assert!(is_language_flag(&flag), "{flag}");
        assert!(flag.contains("reads as English") && flag.contains("asked once more"));
    }

    #[tokio::test]
    async fn an_answer_in_the_run_language_is_asked_once() {
        let m = Scripted::new(&[ZH]);
        let (reply, flag) = ask_in_language(&m, &turn_request(), "zh", true, None).await;
        assert!(reply.is_ok() && flag.is_none());
        assert_eq!(m.calls().len(), 1);
    }

    #[tokio::test]
    async fn a_model_that_is_not_small_is_flagged_without_a_retry() {
        let m = Scripted::new(&[EN, ZH]);
        let (reply, flag) = ask_in_language(&m, &turn_request(), "zh", false, None).await;
        assert_eq!(m.calls().len(), 1);
        assert_eq!(reply.unwrap().json.unwrap()["text"], EN);
        assert!(flag.is_some_and(|f| is_language_flag(&f) && !f.contains("asked once more")));
    }

    #[tokio::test]
    async fn a_failed_retry_keeps_the_first_answer_flagged() {
        let mut m = Scripted::new(&[EN, ZH]);
        m.fail_after = Some(1);
        let (reply, flag) = ask_in_language(&m, &turn_request(), "zh", true, None).await;
        assert_eq!(m.calls().len(), 2);
        assert_eq!(reply.unwrap().json.unwrap()["text"], EN);
        assert!(flag.is_some_and(|f| is_language_flag(&f)));
    }

    #[tokio::test]
    async fn a_summary_is_read_from_its_text_and_a_streamed_retry_starts_afresh() {
        let m = Scripted::new(&[EN, ZH]);
        let pieces = Mutex::new(Vec::<String>::new());
        let sink = |p: &str| pieces.lock().unwrap().push(p.to_string());
        let request = ChatRequest::new(vec![Message::user("Summarise the round.")]);
        let (reply, flag) = ask_in_language(&m, &request, "zh", true, Some(&sink)).await;
        assert_eq!(reply.unwrap().text, ZH);
        assert_eq!(flag, None);
        // Scripted does not stream; the only piece is the reset before the retry.
        assert_eq!(*pieces.lock().unwrap(), vec![String::new()]);
    }

    #[test]
    fn ids_enums_and_quotes_are_not_prose() {
        let answer = json!({"move": "SHARE", "stance": "support", "text": "Raise prices.",
            "responds_to": ["cfo"], "citations": ["[1]"],
            "milestones": {"month_3": {"event": "Prices rise.", "persona": "cfo", "quote": "copied words", "forecast_id": "F-1"}}});
        let prose = prose_of(&answer);
        assert_eq!(prose.lines().count(), 2, "{prose}");
        assert!(prose.contains("Raise prices.") && prose.contains("Prices rise."));
        assert!(!prose.contains("copied") && !prose.contains("SHARE") && !prose.contains("cfo"));
    }
}
