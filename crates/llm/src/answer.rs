//! The answer loop every backend calls: one call's attempts, on the one
//! retry loop of [`crate::retry`].
//!
//! A backend hands [`ask`] the first [`Attempt`] and a function that sends
//! one attempt and reads the answer (checked against the request's schema,
//! if it has one). The loop decides everything else, the same for every
//! backend:
//!
//! - An answer valid for its schema (or any answer, without one) ends the
//!   call: its [`ChatResponse`] counts the answers it took (`attempts`) and
//!   sums their usage.
//! - An invalid answer cut off by the token limit is asked again with twice
//!   the limit; another invalid answer is shown its problem once (a repair,
//!   [`schema::repair_messages`]), then asked afresh with a new seed.
//! - Transport faults, 5xx, unreadable bodies and invalid answers share the
//!   [`RetryPolicy`]'s budget (at least one retry for a structured answer,
//!   so an invalid one always gets its repair); a permanent error ends the
//!   call at once.
//! - With a [`Circuit`], a request is not sent once the server counts as
//!   unreachable, and a call in flight (sending or waiting to retry) ends
//!   the moment it does.
//! - A call that fails says what it used: its error's
//!   [`LlmError::spent`] counts every request it sent and the tokens its
//!   answers reported.

use crate::circuit::Circuit;
use crate::retry::RetryPolicy;
use crate::schema;
use crate::{ChatResponse, FinishReason, LlmError, Message};
use council_core::Usage;
use std::future::Future;
use std::sync::Mutex;

/// The generated-token limit doubled when a request set none.
const DEFAULT_LIMIT: u32 = 1024;

/// What one attempt sends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Attempt {
    /// The conversation (a repair adds the bad answer and its problem).
    pub(crate) messages: Vec<Message>,
    /// The generated-token limit.
    pub(crate) max_tokens: Option<u32>,
    /// The sampling seed.
    pub(crate) seed: Option<u64>,
}

/// What one attempt brought back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answered {
    /// The answer's text: what the response carries when valid, what a
    /// repair shows the model when not.
    pub(crate) text: String,
    /// `None` without a schema; else the valid value, or what is wrong.
    pub(crate) checked: Option<Result<serde_json::Value, String>>,
    /// Why generation stopped.
    pub(crate) finish_reason: FinishReason,
    /// Tokens this answer used.
    pub(crate) usage: Usage,
    /// The model that answered.
    pub(crate) model: String,
}

/// The loop's state between attempts.
struct State {
    next: Attempt,
    /// The conversation every fresh ask starts from.
    base: Vec<Message>,
    repaired: bool,
    /// Answers received, valid or not.
    answers: u32,
    /// The answers' usage.
    usage: Usage,
    /// Every request sent: the answers' usage and one call per failed request.
    spent: Usage,
}

/// Runs one call: `send` is asked `first`, then whatever the answers call
/// for, until an answer is valid (for `schema`, when named), the policy's
/// budget is spent, or an error is permanent. See the module's text.
pub(crate) async fn ask<F, Fut>(
    policy: &RetryPolicy,
    circuit: Option<&Circuit>,
    schema: Option<&str>,
    first: Attempt,
    send: F,
) -> Result<ChatResponse, LlmError>
where
    F: Fn(Attempt) -> Fut,
    Fut: Future<Output = Result<Answered, LlmError>>,
{
    let state = Mutex::new(State {
        base: first.messages.clone(),
        next: first,
        repaired: false,
        answers: 0,
        usage: Usage::none(),
        spent: Usage::none(),
    });
    let lock = || {
        state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let policy = match schema {
        Some(_) => RetryPolicy {
            max_retries: policy.max_retries.max(1),
            ..*policy
        },
        None => *policy,
    };
    let what = if schema.is_some() {
        "structured answer"
    } else {
        "chat completion"
    };
    let attempt = || async {
        if let Some(c) = circuit {
            c.check()?;
        }
        let next = lock().next.clone();
        let result = send(next).await;
        if let Some(c) = circuit {
            if let Some(stop) = c.record(result.as_ref().err()) {
                lock().spent += Usage::reported(0, 0);
                return Err(stop);
            }
        }
        let answered = match result {
            Ok(a) => a,
            Err(e) => {
                lock().spent += e.request_usage();
                return Err(e);
            }
        };
        let mut s = lock();
        s.answers += 1;
        s.usage += answered.usage;
        s.spent += answered.usage;
        match answered.checked {
            Some(Err(problem)) => {
                let cut = answered.finish_reason == FinishReason::Length;
                s.next.messages = s.base.clone();
                if cut {
                    // Cut off by the limit: the same question, more room.
                    s.next.max_tokens =
                        Some(s.next.max_tokens.unwrap_or(DEFAULT_LIMIT).saturating_mul(2));
                } else if !s.repaired {
                    s.next
                        .messages
                        .extend(schema::repair_messages(&answered.text, &problem));
                    s.repaired = true;
                } else {
                    s.next.seed = Some(s.next.seed.unwrap_or(0).wrapping_add(1));
                }
                Err(LlmError::SchemaViolation {
                    schema: schema.unwrap_or_default().to_string(),
                    problem: if cut {
                        format!("{problem} (cut off at the token limit)")
                    } else {
                        problem
                    },
                    text: answered.text,
                    spent: crate::Spent::NONE,
                })
            }
            checked => Ok(ChatResponse {
                text: answered.text,
                json: checked.and_then(Result::ok),
                finish_reason: answered.finish_reason,
                usage: s.usage,
                model: answered.model,
                attempts: s.answers,
            }),
        }
    };
    let run = policy.run_when(what, attempt, |e| {
        e.is_retryable() || matches!(e, LlmError::SchemaViolation { .. })
    });
    let result = match circuit {
        None => run.await,
        Some(c) => tokio::select! {
            r = run => r,
            stop = c.opened() => Err(stop),
        },
    };
    result.map_err(|e| {
        let spent = lock().spent;
        e.with_spent(spent)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::time::Duration;

    /// What the scripted sender does on one attempt.
    enum Step {
        /// An answer: its text, whether valid, why it stopped, its tokens.
        Answer(&'static str, bool, FinishReason, u64),
        /// A failed request.
        Fail(LlmError),
    }

    fn valid(text: &'static str, tokens: u64) -> Step {
        Step::Answer(text, true, FinishReason::Stop, tokens)
    }

    fn invalid(text: &'static str, tokens: u64) -> Step {
        Step::Answer(text, false, FinishReason::Stop, tokens)
    }

    fn cut(text: &'static str, tokens: u64) -> Step {
        Step::Answer(text, false, FinishReason::Length, tokens)
    }

    fn status(code: u16) -> Step {
        Step::Fail(LlmError::Http {
            url: "u".into(),
            status: code,
            body: "b".into(),
            retry_after: None,
            spent: crate::Spent::NONE,
        })
    }

    fn refused() -> Step {
        Step::Fail(LlmError::Connect {
            url: "u".into(),
            message: "Connection refused".into(),
            connect_failed: true,
            spent: crate::Spent::NONE,
        })
    }

    /// A sender that plays `steps` in order and records every attempt.
    struct Script {
        steps: Mutex<VecDeque<Step>>,
        seen: Mutex<Vec<Attempt>>,
    }

    impl Script {
        fn new(steps: Vec<Step>) -> Script {
            Script {
                steps: Mutex::new(steps.into()),
                seen: Mutex::new(Vec::new()),
            }
        }

        async fn send(&self, a: Attempt) -> Result<Answered, LlmError> {
            self.seen.lock().unwrap().push(a);
            let step = self
                .steps
                .lock()
                .unwrap()
                .pop_front()
                .expect("asked more often than scripted");
            match step {
                Step::Answer(text, ok, finish_reason, tokens) => Ok(Answered {
                    text: text.into(),
                    checked: Some(if ok {
                        Ok(serde_json::json!({ "text": text }))
                    } else {
                        Err(format!("{text} is wrong"))
                    }),
                    finish_reason,
                    usage: Usage::reported(tokens, tokens),
                    model: "m".into(),
                }),
                Step::Fail(e) => Err(e),
            }
        }

        fn seen(&self) -> Vec<Attempt> {
            self.seen.lock().unwrap().clone()
        }
    }

    fn policy(max_retries: usize) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        }
    }

    fn first() -> Attempt {
        Attempt {
            messages: vec![Message::user("decide")],
            max_tokens: Some(100),
            seed: Some(7),
        }
    }

    async fn run(
        script: &Script,
        max_retries: usize,
        circuit: Option<&Circuit>,
    ) -> Result<ChatResponse, LlmError> {
        ask(
            &policy(max_retries),
            circuit,
            Some("answer"),
            first(),
            |a| script.send(a),
        )
        .await
    }

    #[tokio::test]
    async fn an_answer_cut_off_by_the_limit_is_asked_again_with_twice_the_limit() {
        let s = Script::new(vec![cut("{\"a\":", 5), cut("{\"a\":1", 6), valid("ok", 7)]);
        let r = run(&s, 6, None).await.unwrap();
        let seen = s.seen();
        let limits: Vec<_> = seen.iter().map(|a| a.max_tokens).collect();
        assert_eq!(limits, [Some(100), Some(200), Some(400)]);
        assert!(
            seen.iter().all(|a| a.messages == first().messages),
            "no repair for a cut-off answer: the same question"
        );
        assert_eq!(r.attempts, 3);
        assert_eq!(r.json, Some(serde_json::json!({"text": "ok"})));
    }

    #[tokio::test]
    async fn exactly_one_repair_then_fresh_asks_with_new_seeds() {
        let s = Script::new(vec![
            invalid("first", 1),
            invalid("second", 1),
            invalid("third", 1),
            valid("fourth", 1),
        ]);
        let r = run(&s, 6, None).await.unwrap();
        let seen = s.seen();
        assert_eq!(seen.len(), 4);
        // The repair: the question, the bad answer, its problem.
        assert_eq!(seen[1].messages.len(), 3);
        assert_eq!(seen[1].messages[1], Message::assistant("first"));
        assert!(seen[1].messages[2].content.contains("first is wrong"));
        assert_eq!(seen[1].seed, Some(7), "a repair keeps the seed");
        // Then afresh: the question alone, a new seed each time.
        for (a, seed) in seen[2..].iter().zip([8, 9]) {
            assert_eq!(a.messages, first().messages);
            assert_eq!(a.seed, Some(seed));
        }
        assert_eq!(r.attempts, 4);
    }

    #[tokio::test]
    async fn attempts_and_usage_are_summed_over_the_answers() {
        let s = Script::new(vec![status(503), invalid("x", 10), valid("y", 20)]);
        let r = run(&s, 6, None).await.unwrap();
        assert_eq!(r.attempts, 2, "two answers; the 503 was no answer");
        assert_eq!(r.usage.calls, 2);
        assert_eq!(r.usage.prompt_tokens, Some(30));
        assert_eq!(r.usage.completion_tokens, Some(30));
        assert_eq!(r.text, "y");
    }

    #[tokio::test]
    async fn invalid_answers_and_transport_faults_share_one_budget_and_the_error_counts_every_request(
    ) {
        // Two retries: three requests in all, whatever failed.
        let s = Script::new(vec![invalid("a", 10), status(502), invalid("c", 5)]);
        let e = run(&s, 2, None).await.unwrap_err();
        assert_eq!(s.seen().len(), 3);
        let LlmError::SchemaViolation { text, problem, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!((text.as_str(), problem.as_str()), ("c", "c is wrong"));
        let spent = e.spent();
        assert_eq!(spent.calls, 3, "every request counts, the 502 too");
        assert_eq!(spent.prompt_tokens, Some(15), "the 502 used no tokens");
        assert_eq!(spent.unreported_calls, 0);

        let s = Script::new(vec![status(503), status(503), status(503)]);
        let e = run(&s, 2, None).await.unwrap_err();
        assert!(matches!(e, LlmError::Http { status: 503, .. }), "{e:?}");
        assert_eq!(e.spent().calls, 3);
    }

    #[tokio::test]
    async fn a_permanent_error_stops_at_once() {
        let s = Script::new(vec![status(400), valid("never", 1)]);
        let e = run(&s, 6, None).await.unwrap_err();
        assert!(matches!(e, LlmError::Http { status: 400, .. }), "{e:?}");
        assert_eq!(s.seen().len(), 1);
        assert_eq!(e.spent().calls, 1);
    }

    #[tokio::test]
    async fn a_structured_answer_gets_its_repair_even_without_retries() {
        let s = Script::new(vec![invalid("bad", 1), valid("good", 1)]);
        let r = run(&s, 0, None).await.unwrap();
        assert_eq!(r.attempts, 2);
        // Without a schema, no retries means one request.
        let s = Script::new(vec![status(503)]);
        let e = ask(&policy(0), None, None, first(), |a| s.send(a))
            .await
            .unwrap_err();
        assert_eq!(e.spent().calls, 1);
    }

    #[tokio::test]
    async fn an_unreachable_server_stops_the_call_and_later_calls_are_not_sent() {
        let circuit = Circuit::new("http://127.0.0.1:9/v1");
        let s = Script::new(vec![refused(), refused(), refused()]);
        let e = run(&s, 6, Some(&circuit)).await.unwrap_err();
        assert!(matches!(e, LlmError::Unreachable { .. }), "{e:?}");
        assert_eq!(s.seen().len(), 3, "stopped at the third refusal");
        let s = Script::new(Vec::new());
        let e = run(&s, 6, Some(&circuit)).await.unwrap_err();
        assert!(matches!(e, LlmError::Unreachable { .. }), "{e:?}");
        assert!(s.seen().is_empty(), "nothing sent once it is open");
    }

    #[tokio::test]
    async fn a_call_waiting_to_retry_ends_when_another_opens_the_circuit() {
        let circuit = Circuit::new("u");
        let slow = RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_secs(600),
            max_delay: Duration::from_secs(600),
        };
        let s = Script::new(vec![status(503)]);
        let waiting = ask(&slow, Some(&circuit), None, first(), |a| s.send(a));
        let opener = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            for _ in 0..crate::circuit::UNREACHABLE_AFTER {
                circuit.record(Some(&LlmError::Connect {
                    url: "u".into(),
                    message: "refused".into(),
                    connect_failed: true,
                    spent: crate::Spent::NONE,
                }));
            }
        };
        let (e, ()) = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::join!(waiting, opener)
        })
        .await
        .expect("ended at once, not after the 600 s backoff");
        let e = e.unwrap_err();
        assert!(matches!(e, LlmError::Unreachable { .. }), "{e:?}");
    }
}
