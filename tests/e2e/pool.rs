//! Endpoint pools against fake servers: the load goes where there is room,
//! a 429 sets an endpoint aside, and a dead endpoint's calls move on.

use council_llm::openai::OpenAiSettings;
use council_llm::pool::{EndpointConfig, Pool};
use council_llm::retry::RetryPolicy;
use council_llm::{ChatModel, ChatRequest};
use council_tests::{FakeServer, Reply};
use std::sync::Arc;
use std::time::Duration;

fn endpoint(url: &str, max_concurrency: usize, weight: f64) -> EndpointConfig {
    EndpointConfig {
        base_url: url.to_string(),
        model: "m".into(),
        api_key_env: None,
        provider: None,
        max_concurrency,
        weight,
    }
}

fn pool(endpoints: &[EndpointConfig]) -> Pool {
    let template = OpenAiSettings::new("http://unused/v1", "m");
    Pool::new(
        "m",
        endpoints,
        &template,
        &|_| None,
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        },
        Duration::from_secs(30),
    )
    .unwrap()
}

#[tokio::test]
async fn a_429_sets_its_endpoint_aside_and_the_calls_go_to_the_other() {
    let busy = FakeServer::start(vec![
        Reply::status(429, "slow down").with_header("retry-after", "30")
    ])
    .await;
    let free = FakeServer::start(vec![Reply::completion("fine")]).await;
    // The busy endpoint weighs more, so it is tried first.
    let p = pool(&[endpoint(&busy.url, 4, 10.0), endpoint(&free.url, 4, 1.0)]);
    for _ in 0..5 {
        let r = p.chat(&ChatRequest::prompt("hi")).await.unwrap();
        assert_eq!(r.text, "fine");
    }
    assert_eq!(
        busy.hits(),
        1,
        "after its 429 the busy endpoint is left alone"
    );
    assert_eq!(free.hits(), 5);
}

#[tokio::test]
async fn calls_spread_by_weight_within_each_bound() {
    let a = FakeServer::start_with(
        Arc::new(|_: &str| Reply::completion("a")),
        Duration::from_millis(80),
    )
    .await;
    let b = FakeServer::start_with(
        Arc::new(|_: &str| Reply::completion("b")),
        Duration::from_millis(80),
    )
    .await;
    let p = Arc::new(pool(&[endpoint(&a.url, 2, 1.0), endpoint(&b.url, 4, 2.0)]));
    let calls: Vec<_> = (0..24)
        .map(|_| {
            let p = p.clone();
            tokio::spawn(async move { p.chat(&ChatRequest::prompt("hi")).await })
        })
        .collect();
    for c in calls {
        c.await.unwrap().unwrap();
    }
    assert_eq!(a.hits() + b.hits(), 24);
    assert!(a.max_in_flight() <= 2, "A held {}", a.max_in_flight());
    assert!(b.max_in_flight() <= 4, "B held {}", b.max_in_flight());
    assert!(
        b.hits() > a.hits(),
        "B weighs twice A: {} vs {}",
        b.hits(),
        a.hits()
    );
}

#[test]
fn an_endpoint_without_its_key_or_with_no_room_is_refused() {
    let template = OpenAiSettings::new("http://unused/v1", "m");
    let refusal = |model: &str, endpoints: &[EndpointConfig]| {
        Pool::new(
            model,
            endpoints,
            &template,
            &|_| None,
            RetryPolicy::none(),
            Duration::from_secs(1),
        )
        .unwrap_err()
        .to_string()
    };
    let mut e = endpoint("http://x/v1", 4, 1.0);
    e.api_key_env = Some("COUNCIL_TEST_MISSING_KEY".into());
    let err = refusal("m", &[e]);
    assert!(err.contains("COUNCIL_TEST_MISSING_KEY"), "{err}");
    let err = refusal("m", &[endpoint("http://x/v1", 0, 1.0)]);
    assert!(err.contains("max_concurrency"), "{err}");
    let err = refusal("other", &[endpoint("http://x/v1", 1, 1.0)]);
    assert!(
        err.contains("no [[endpoints]] entry serves model \"other\""),
        "{err}"
    );
}
