//! `council serve` in a real browser: Debian's chromium, driven through
//! chromedriver (WebDriver), against the binary and a fake
//! OpenAI-compatible server. A question is asked through the form, watched
//! live (turns appear before the run ends, a reload mid-run shows nothing
//! twice), its report read, downloaded and followed up; and text that
//! looks like markup (in a question, a persona file and the model's
//! answers) is shown as text on every page, never run or parsed.
//!
//! The fake's answers pass a gate the test opens, so "mid-run" is a state
//! the test holds the run in, not a race against the clock.
//!
//! `COUNCIL_SCREENSHOTS=DIR` saves PNGs of the pages at 1280 and 375 pixels
//! wide.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_core::{Event, TurnStatus};
use council_tests::{schema_answering, FakeServer, Handler, Reply};
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt as _;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io::{BufRead, Read, Write};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long any one thing may take to show up on this (slow, shared) machine.
const WAIT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------
// The tools: chromedriver and chromium, found or the test fails.

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// chromedriver and the browser it drives; panics with the fix if either
/// is missing (never skips: a missing browser is a broken setup).
fn browser_tools() -> (PathBuf, PathBuf) {
    let driver = on_path(&["chromedriver"]).unwrap_or_else(|| {
        panic!(
            "chromedriver is not installed (not on PATH): the web app's browser tests need it; run `bash scripts/deps.sh` (Debian package chromium-driver)"
        )
    });
    let browser = on_path(&["chromium", "chromium-browser", "google-chrome"]).unwrap_or_else(|| {
        panic!(
            "chromium is not installed (no chromium, chromium-browser or google-chrome on PATH): the web app's browser tests need it; run `bash scripts/deps.sh`"
        )
    });
    (driver, browser)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Kills the process group led by `child` (it was started as its own
/// group), so what it started goes too, then reaps it.
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

fn tail_of(path: &Path, chars: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let skip = text.chars().count().saturating_sub(chars);
    text.chars().skip(skip).collect()
}

/// A chromedriver on a free loopback port, killed (with the browsers it
/// started) when dropped.
struct Driver {
    child: Child,
    url: String,
    log: PathBuf,
    browser: PathBuf,
}

impl Driver {
    fn start(dir: &Path) -> Driver {
        let (driver, browser) = browser_tools();
        let port = free_port();
        let log = dir.join("chromedriver.log");
        let mut child = Command::new(&driver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}); run `bash scripts/deps.sh`",
                    driver.display()
                )
            });
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "chromedriver exited at start ({status}); its log:\n{}\n(run `bash scripts/deps.sh` if it is broken)",
                    tail_of(&log, 3000)
                );
            }
            if driver_ready(port) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "chromedriver did not answer on port {port} within 60 s; its log:\n{}",
                tail_of(&log, 3000)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            browser,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// Whether chromedriver answers `GET /status` with ready.
fn driver_ready(port: u16) -> bool {
    let Ok(mut sock) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = sock.set_read_timeout(Some(Duration::from_secs(5)));
    if sock
        .write_all(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = sock.read_to_string(&mut answer);
    answer.contains("\"ready\":true") || answer.contains("\"ready\": true")
}

/// A browser session; `downloads` is where it saves files without asking.
async fn open_browser(driver: &Driver, downloads: &Path) -> Client {
    let caps = json!({
        "browserName": "chrome",
        // An alert stays open for the test to find, instead of being
        // dismissed behind its back.
        "unhandledPromptBehavior": "ignore",
        "goog:chromeOptions": {
            "binary": driver.browser.display().to_string(),
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-crash-reporter",
                "--disable-breakpad",
                "--window-size=1280,1400",
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
            },
        },
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    match ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
    {
        Ok(c) => c,
        Err(e) => panic!(
            "chromedriver could not start chromium ({e}); run `bash scripts/deps.sh`; chromedriver's log:\n{}",
            tail_of(&driver.log, 4000)
        ),
    }
}

/// Runs `body` with a browser session and always ends the session after,
/// pass or fail (a session left open leaves a chromium behind).
async fn with_browser<F, Fut>(driver: &Driver, downloads: &Path, body: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    let client = open_browser(driver, downloads).await;
    let outcome = std::panic::AssertUnwindSafe(body(client.clone()))
        .catch_unwind()
        .await;
    let _ = tokio::time::timeout(Duration::from_secs(30), client.close()).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

// ---------------------------------------------------------------------------
// The server under test and its fake model.

/// `council serve` on a free port, killed (with the runs it started) when
/// dropped.
struct Serve {
    child: Child,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    url: String,
    log: PathBuf,
}

impl Serve {
    fn start(fake: &str, runs: &Path, personas: Option<&Path>, log_dir: &Path) -> Serve {
        Serve::start_with(fake, runs, personas, log_dir, &[])
    }

    /// [`Serve::start`] with more `serve` flags.
    fn start_with(
        fake: &str,
        runs: &Path,
        personas: Option<&Path>,
        log_dir: &Path,
        more: &[&str],
    ) -> Serve {
        let runs = runs.display().to_string();
        let mut args = vec![
            "--base-url",
            fake,
            "--model",
            "fake",
            "serve",
            "--port",
            "0",
            "--runs",
            &runs,
        ];
        args.extend(more);
        let personas = personas.map(|p| p.display().to_string());
        if let Some(p) = &personas {
            args.extend(["--personas", p.as_str()]);
        }
        let log = log_dir.join("serve.log");
        let mut child = council_tests::council_command(env!("CARGO_BIN_EXE_council"), &args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .process_group(0)
            .spawn()
            .expect("start council serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            // Keep reading: the server's stdout stays open to the end.
            for _ in lines {}
        });
        let first = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "council serve printed no address within 60 s; its log:\n{}",
                    tail_of(&log, 3000)
                )
            });
        let url = first
            .strip_prefix("Council is serving ")
            .and_then(|u| u.strip_suffix('/'))
            .filter(|u| u.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("council serve's first line is not its address: {first:?}"))
            .to_string();
        Serve { child, url, log }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// Holds the fake's answers until the test lets them go: none pass until
/// [`Gate::allow`] or [`Gate::open`].
#[derive(Default)]
struct Gate {
    state: Mutex<(bool, usize)>,
    moved: Condvar,
}

impl Gate {
    /// Blocks the calling thread until an answer may go (at most three
    /// minutes: a test that forgot to open it fails on its own waits).
    fn pass(&self) {
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut s = self.state.lock().unwrap();
        loop {
            if s.0 {
                return;
            }
            if s.1 > 0 {
                s.1 -= 1;
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            s = self.moved.wait_timeout(s, left).unwrap().0;
        }
    }

    /// Lets `n` more answers go.
    fn allow(&self, n: usize) {
        self.state.lock().unwrap().1 += n;
        self.moved.notify_all();
    }

    /// Lets every answer go from now on.
    fn open(&self) {
        self.state.lock().unwrap().0 = true;
        self.moved.notify_all();
    }
}

/// Opens the gate when dropped, so a failing test never leaves the fake's
/// threads waiting.
struct OpenOnDrop(Arc<Gate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// `inner`'s answers, each sent once `gate` lets it (the fake's task
/// waits in `block_in_place`, so the runtime keeps serving the others).
fn gated(gate: Arc<Gate>, inner: fn(&str) -> Reply) -> Handler {
    Arc::new(move |body: &str| {
        let gate = gate.clone();
        tokio::task::block_in_place(move || gate.pass());
        inner(body)
    })
}

// ---------------------------------------------------------------------------
// The page, read through the browser.

/// `expr` evaluated in the page (`return (expr)`).
async fn js(c: &Client, expr: &str) -> Value {
    c.execute(&format!("return ({expr});"), vec![])
        .await
        .unwrap_or_else(|e| panic!("the page could not evaluate {expr:?}: {e}"))
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// What the browser shows now, for failure messages.
async fn page_dump(c: &Client) -> String {
    let url = c
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_else(|e| format!("(no url: {e})"));
    let text = c
        .execute(
            "return document.body ? document.body.innerText : '(no body)';",
            vec![],
        )
        .await
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|e| format!("(no text: {e})"));
    let skip = text.chars().count().saturating_sub(4000);
    let text: String = text.chars().skip(skip).collect();
    format!("at {url}, the page reads (last 4000 characters):\n{text}")
}

/// Polls `expr` until it is truthy; returns its value. Fails after
/// `limit` with `what` and the page.
async fn wait_js(c: &Client, what: &str, expr: &str, limit: Duration) -> Value {
    let started = Instant::now();
    let mut last;
    loop {
        // A page being replaced may refuse a script: that is "not yet".
        match c.execute(&format!("return ({expr});"), vec![]).await {
            Ok(v) if truthy(&v) => return v,
            Ok(v) => last = format!("last value: {v}"),
            Err(e) => last = format!("last error: {e}"),
        }
        if started.elapsed() > limit {
            panic!(
                "waited {:?} for {what} ({expr}); {last}\n{}",
                limit,
                page_dump(c).await
            );
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Waits until the browser is at `path` with the document loaded.
async fn wait_path(c: &Client, what: &str, path: &str) {
    let started = Instant::now();
    loop {
        let at = c.current_url().await.map(|u| u.path().to_string());
        if at.as_deref().ok() == Some(path) {
            let ready = c
                .execute("return document.readyState;", vec![])
                .await
                .ok()
                .and_then(|v| v.as_str().map(str::to_string));
            if ready.as_deref() == Some("complete") {
                return;
            }
        }
        if started.elapsed() > WAIT {
            panic!(
                "waited {WAIT:?} for {what} at {path}, still at {at:?}\n{}",
                page_dump(c).await
            );
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn click(c: &Client, css: &str) {
    let el = match c.find(Locator::Css(css)).await {
        Ok(el) => el,
        Err(e) => panic!("no {css} on the page ({e})\n{}", page_dump(c).await),
    };
    if let Err(e) = el.click().await {
        panic!("cannot click {css} ({e})\n{}", page_dump(c).await);
    }
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let el = match c.find(Locator::Css(css)).await {
        Ok(el) => el,
        Err(e) => panic!("no {css} on the page ({e})\n{}", page_dump(c).await),
    };
    el.send_keys(text).await.unwrap();
}

/// The run's events as the page lists them: every `li.ev`'s id, in order.
async fn event_ids(c: &Client) -> Vec<String> {
    let v = js(
        c,
        "Array.from(document.querySelectorAll('#log > li.ev')).map(function (li) { return li.id; })",
    )
    .await;
    serde_json::from_value(v).unwrap()
}

/// The turns the page shows, in order: (where: "Round N" or "Follow-up N",
/// who, text), `where` from the last round heading above the turn.
async fn page_turns(c: &Client) -> Vec<(String, String, String)> {
    let v = js(
        c,
        "(function () {
            var out = [], at = '';
            document.querySelectorAll('#log > li.ev').forEach(function (li) {
                var h = li.querySelector('h2.round');
                if (h) { at = h.textContent.split(':')[0].trim(); }
                if (li.classList.contains('ev-turn')) {
                    var who = li.querySelector('article.turn strong.who');
                    var said = li.querySelector('article.turn p.text')
                        || li.querySelector('article.turn p.error');
                    out.push([
                        at,
                        who ? who.textContent.trim() : '',
                        said ? said.textContent.trim() : '',
                    ]);
                }
            });
            return out;
        })()",
    )
    .await;
    serde_json::from_value(v).unwrap()
}

/// Waits for the end of the run the page follows, and fails at once (with
/// the page) unless it ended complete.
async fn wait_run_end(c: &Client, what: &str) {
    // A page drawn after the run stopped is not live and gets no end
    // event: its badge is the answer at once.
    let badge = wait_js(
        c,
        what,
        "(function () {
            var live = document.getElementById('run').getAttribute('data-live') === 'true';
            var end = document.getElementById('ev-end');
            return end || !live ? document.getElementById('status').textContent : null;
        })()",
        WAIT,
    )
    .await;
    if badge != json!("complete") {
        panic!(
            "{what}: the run ended {badge}, not complete\n{}",
            page_dump(c).await
        );
    }
}

/// The event log of run `dir`: its complete lines, parsed.
fn logged_events(dir: &Path) -> Vec<Event> {
    let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Event>(l).unwrap())
        .collect()
}

/// The turns of the log as the page should show them.
fn logged_turns(events: &[Event]) -> Vec<(String, String, String)> {
    let mut names = HashMap::new();
    let mut out = Vec::new();
    for ev in events {
        match ev {
            Event::Started(h) => {
                for p in &h.panel {
                    names.insert(p.id.clone(), p.name.clone());
                }
            }
            Event::Turn(t) | Event::FollowupTurn(t) => {
                let at = match ev {
                    Event::Turn(_) => format!("Round {}", t.round),
                    _ => format!("Follow-up {}", t.round),
                };
                let said = if t.status == TurnStatus::Failed {
                    format!("This turn failed: {}", t.error.clone().unwrap_or_default())
                } else {
                    t.text.clone()
                };
                out.push((
                    at,
                    names.get(&t.persona).cloned().unwrap_or(t.persona.clone()),
                    said.trim().to_string(),
                ));
            }
            _ => {}
        }
    }
    out
}

fn count<T: Ord + Clone>(items: &[T]) -> BTreeMap<T, usize> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i.clone()).or_insert(0) += 1;
    }
    m
}

/// The page's event list against the run's log, once the run has ended:
/// every li.ev has an id, no id twice, one li per line of the log (ids
/// ev-1..ev-N) then ev-end, and the turns shown are the log's turns, each
/// once.
async fn assert_log_matches(c: &Client, dir: &Path, when: &str) {
    let ids = event_ids(c).await;
    let events = logged_events(dir);
    let dump = page_dump(c).await;
    let twice: Vec<_> = count(&ids).into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(
        twice.is_empty(),
        "{when}: event ids shown more than once: {twice:?}\nall ids: {ids:?}\n{dump}"
    );
    let mut expected: Vec<String> = (1..=events.len()).map(|n| format!("ev-{n}")).collect();
    expected.push("ev-end".into());
    assert_eq!(
        ids,
        expected,
        "{when}: the page's events are not the log's {} lines in order, then the end\n{dump}",
        events.len()
    );
    let shown = page_turns(c).await;
    let again: Vec<_> = count(&shown).into_iter().filter(|(_, n)| *n > 1).collect();
    assert!(
        again.is_empty(),
        "{when}: turns shown twice (where, who, text): {again:?}\n{dump}"
    );
    let logged = logged_turns(&events);
    assert_eq!(
        shown.len(),
        logged.len(),
        "{when}: {} ev-turn elements, {} turn lines in events.jsonl\n{dump}",
        shown.len(),
        logged.len()
    );
    assert_eq!(
        count(&shown),
        count(&logged),
        "{when}: the turns shown are not the turns logged\n{dump}"
    );
}

/// Saves the page as `NAME-1280.png` and `NAME-375.png` under
/// `$COUNCIL_SCREENSHOTS`, when it is set; leaves the window 1280 wide.
async fn screenshots(c: &Client, name: &str) {
    let Some(dir) = std::env::var_os("COUNCIL_SCREENSHOTS") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    for width in [1280u32, 375] {
        c.set_window_rect(0, 0, width, 1400).await.unwrap();
        let inner = js(c, "window.innerWidth").await.as_u64().unwrap_or(0);
        assert!(
            inner <= u64::from(width),
            "the window was made {width} wide but the page is {inner} wide"
        );
        let png = c.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
        std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
    }
    c.set_window_rect(0, 0, 1280, 1400).await.unwrap();
}

/// The run id in a run page's path (`/runs/ID`, `/` written `%2F`).
fn run_id_of(path: &str) -> String {
    path.strip_prefix("/runs/")
        .unwrap_or_else(|| panic!("{path} is not a run page"))
        .replace("%2F", "/")
}

async fn current_path(c: &Client) -> String {
    c.current_url().await.unwrap().path().to_string()
}

/// Waits for a finished download ending in `ext` in `dir`: the file, once
/// no partial download (`.crdownload`) is left.
async fn downloaded(dir: &Path, ext: &str) -> PathBuf {
    let started = Instant::now();
    loop {
        let names: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        let partial = names
            .iter()
            .any(|p| p.extension().is_some_and(|x| x == "crdownload"));
        if let Some(done) = names
            .iter()
            .find(|p| p.extension().is_some_and(|x| x == ext))
        {
            if !partial && std::fs::metadata(done).is_ok_and(|m| m.len() > 0) {
                return done.clone();
            }
        }
        assert!(
            started.elapsed() < WAIT,
            "no .{ext} file was downloaded into {} within {WAIT:?}; it holds {names:?}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---------------------------------------------------------------------------
// Scripts the tests run in the page.

/// Chooses `rounds`, submits the new-question form, and waits for the run
/// page, which must be live; the page's path and the run's folder under
/// `runs`.
async fn submit(c: &Client, rounds: &str, runs: &Path) -> (String, PathBuf) {
    let select = c.find(Locator::Css("#rounds")).await.unwrap();
    select.select_by_value(rounds).await.unwrap();
    click(c, "form.ask button[type=submit]").await;
    wait_js(c, "the run page", ON_RUN_PAGE, WAIT).await;
    let path = current_path(c).await;
    let live = js(
        c,
        "document.getElementById('run').getAttribute('data-live')",
    )
    .await;
    assert_eq!(
        live,
        json!("true"),
        "a new run is live\n{}",
        page_dump(c).await
    );
    let dir = runs.join(run_id_of(&path));
    (path, dir)
}

/// Truthy once the browser shows a run page.
const ON_RUN_PAGE: &str =
    "location.pathname.indexOf('/runs/') === 0 && document.getElementById('run')";

/// The report frame's text, once its document has loaded with a heading.
const REPORT_FRAME_TEXT: &str = "(function () {
    var f = document.getElementById('report-frame');
    var d = f && f.contentDocument;
    if (!d || d.readyState !== 'complete' || !d.body || !d.querySelector('h1, h2')) {
        return null;
    }
    return d.body.innerText;
})()";

/// The `<h2>` headings of the report frame.
const REPORT_FRAME_HEADINGS: &str = "Array.from(
    document.getElementById('report-frame').contentDocument.querySelectorAll('h2')
).map(function (h) { return h.textContent.trim(); })";

/// Whether the cancel form is still offered.
const CANCEL_SHOWN: &str = "(function () {
    var f = document.getElementById('cancel-form');
    return !!f && !f.classList.contains('hidden');
})()";

/// Whether a turn follows the follow-up's heading.
const FOLLOWUP_TURN_SHOWN: &str = "(function () {
    var f = document.querySelector('#log > li.ev-followup');
    for (var li = f; li; li = li.nextElementSibling) {
        if (li.classList.contains('ev-turn')) { return true; }
    }
    return false;
})()";

/// The first element of the page's event list whose line number is past
/// `after`, as an expression.
fn first_after(after: u64, css: &str) -> String {
    format!(
        "(function () {{
            var past = Array.from(document.querySelectorAll({css})).filter(function (li) {{
                return parseInt(li.getAttribute('data-n'), 10) > {after};
            }});
            return past.length > 0 ? past[0].id : null;
        }})()",
        css = json!(css)
    )
}

/// The run page's `data-after`: the last event line the server drew.
async fn drawn_up_to(c: &Client) -> u64 {
    let v = js(
        c,
        "document.getElementById('run').getAttribute('data-after')",
    )
    .await;
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("the run page's data-after is {v}"))
}

/// Lets the fake's held answers go one at a time until run `dir`'s log
/// satisfies `enough`; every other answer stays held.
async fn release_until(
    gate: &Gate,
    fake: &FakeServer,
    dir: &Path,
    what: &str,
    serve_log: &Path,
    enough: impl Fn(&str) -> bool,
) {
    let started = Instant::now();
    loop {
        let log = std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default();
        if enough(&log) {
            return;
        }
        if fake.in_flight() > 0 && gate.state.lock().unwrap().1 == 0 {
            gate.allow(1);
        }
        assert!(
            started.elapsed() < WAIT,
            "{what}: not logged after {} answers; the log holds {} lines; serve's log:\n{}",
            fake.answered().len(),
            log.lines().count(),
            tail_of(serve_log, 3000)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------
// The tests.

const QUESTION: &str =
    "Should we raise prices by 10% for new customers while keeping existing ones on their plan?";
const FOLLOWUP: &str = "What should we tell existing customers if we do it?";

/// What the first test's browser works against.
struct Board<'a> {
    base: String,
    runs: PathBuf,
    downloads: PathBuf,
    gate: Arc<Gate>,
    fake: &'a FakeServer,
    serve_log: PathBuf,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_question_asked_in_the_browser_is_watched_live_reported_downloaded_and_followed_up() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let gate = Arc::new(Gate::default());
    let _open_at_end = OpenOnDrop(gate.clone());
    let fake = FakeServer::start_with(
        gated(gate.clone(), schema_answering),
        Duration::from_millis(150),
    )
    .await;
    let serve = Serve::start(&fake.url, &runs, None, tmp.path());
    let driver = Driver::start(tmp.path());
    let board = Board {
        base: serve.url.clone(),
        runs,
        downloads: downloads.clone(),
        gate,
        fake: &fake,
        serve_log: serve.log.clone(),
    };
    with_browser(&driver, &downloads, |c| {
        ask_watch_report_follow_up(c, &board)
    })
    .await;
}

async fn ask_watch_report_follow_up(c: Client, b: &Board<'_>) {
    // The form: a question, four advisors, two rounds.
    c.goto(&format!("{}/", b.base)).await.unwrap();
    wait_js(&c, "the form", "document.getElementById('question')", WAIT).await;
    screenshots(&c, "new").await;
    type_into(&c, "#question", QUESTION).await;
    for p in ["cfo", "cto", "brand-strategist", "org-psychologist"] {
        click(&c, &format!("#p-{p}")).await;
    }
    let ticked = js(
        &c,
        "document.querySelectorAll('input[name=panel]:checked').length",
    )
    .await;
    assert_eq!(
        ticked,
        json!(4),
        "four advisors ticked\n{}",
        page_dump(&c).await
    );
    // The run page, before the fake has answered anything: no turn yet.
    let (path, dir) = submit(&c, "2", &b.runs).await;
    let turns = js(&c, "document.querySelectorAll('#log .ev-turn').length").await;
    assert_eq!(
        turns,
        json!(0),
        "no answer has left the fake, yet a turn is shown\n{}",
        page_dump(&c).await
    );
    let after = drawn_up_to(&c).await;

    // Answers go one at a time until a turn is logged; the rest are held,
    // so the run cannot end while the page is looked at.
    release_until(&b.gate, b.fake, &dir, "a turn", &b.serve_log, |log| {
        log.contains("\"event\":\"turn\"")
    })
    .await;
    let live_turn = wait_js(
        &c,
        "a turn appended live",
        &first_after(after, "#log > li.ev-turn"),
        WAIT,
    )
    .await;
    let live_turn = live_turn.as_str().unwrap().to_string();
    let ended = js(&c, "document.getElementById('ev-end') !== null").await;
    assert_eq!(
        ended,
        json!(false),
        "the run cannot have ended\n{}",
        page_dump(&c).await
    );
    let badge = js(&c, "document.getElementById('status').textContent").await;
    let badge = badge.as_str().unwrap_or_default();
    assert!(
        ["running", "starting", "queued"]
            .iter()
            .any(|w| badge.starts_with(w)),
        "mid-run the badge says {badge:?}\n{}",
        page_dump(&c).await
    );
    let who = js(
        &c,
        &format!("document.querySelector('#{live_turn} .who').textContent"),
    )
    .await;
    assert!(
        who.as_str().is_some_and(|w| !w.trim().is_empty()),
        "the live turn names no speaker\n{}",
        page_dump(&c).await
    );
    screenshots(&c, "run").await;

    // Reload mid-run: the server draws what there is, the page follows on
    // from there (one more answer shows up live), and nothing is lost.
    let before = event_ids(&c).await;
    c.refresh().await.unwrap();
    wait_js(
        &c,
        "the reloaded run page",
        "document.readyState === 'complete' && document.getElementById('run')",
        WAIT,
    )
    .await;
    let reloaded = event_ids(&c).await;
    assert!(
        before.iter().all(|id| reloaded.contains(id)),
        "a reload lost events: before {before:?}, after {reloaded:?}"
    );
    let heading = js(&c, "document.querySelector('h1.question').textContent").await;
    assert_eq!(heading, json!(QUESTION), "the reloaded run page's heading");
    let ended = js(&c, "document.getElementById('ev-end') !== null").await;
    assert_eq!(
        ended,
        json!(false),
        "the reload was mid-run\n{}",
        page_dump(&c).await
    );
    let drawn = drawn_up_to(&c).await;
    release_until(
        &b.gate,
        b.fake,
        &dir,
        "one more event",
        &b.serve_log,
        |log| log.lines().count() as u64 > drawn,
    )
    .await;
    wait_js(
        &c,
        "an event appended live after the reload",
        &first_after(drawn, "#log > li.ev"),
        WAIT,
    )
    .await;

    // Let the run finish.
    b.gate.open();
    wait_run_end(&c, "the end of the run").await;
    wait_js(
        &c,
        "the report link to show",
        "!document.getElementById('report-link').classList.contains('hidden')",
        WAIT,
    )
    .await;
    assert_log_matches(&c, &dir, "after a reload mid-run").await;
    assert_eq!(
        js(&c, CANCEL_SHOWN).await,
        json!(false),
        "a finished run still offers to cancel\n{}",
        page_dump(&c).await
    );

    // The report, in its frame.
    click(&c, "#report-link").await;
    wait_path(&c, "the report page", &format!("{path}/report")).await;
    let frame_text = wait_js(&c, "the report in its frame", REPORT_FRAME_TEXT, WAIT).await;
    let frame_text = frame_text.as_str().unwrap();
    assert!(
        frame_text.contains(QUESTION),
        "the report frame does not show the question; it reads:\n{frame_text}"
    );
    let report_html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let heads: Vec<String> = serde_json::from_value(js(&c, REPORT_FRAME_HEADINGS).await).unwrap();
    assert!(
        !heads.is_empty() && heads.iter().all(|h| report_html.contains(h.as_str())),
        "the frame's headings {heads:?} are not those of the run's report.html"
    );
    screenshots(&c, "report").await;

    // The Markdown download: the browser saves the run's report.md.
    click(&c, "a[href$=\"/download/md\"]").await;
    let file = downloaded(&b.downloads, "md").await;
    let got = std::fs::read_to_string(&file).unwrap();
    let head: String = got.chars().take(600).collect();
    assert!(
        got.starts_with("# "),
        "the download starts with no heading:\n{head}"
    );
    assert!(
        got.contains(QUESTION),
        "the download lacks the question:\n{head}"
    );
    assert_eq!(
        got,
        std::fs::read_to_string(dir.join("report.md")).unwrap(),
        "the download is not the run's report.md"
    );
    wait_path(
        &c,
        "the report page, after a download",
        &format!("{path}/report"),
    )
    .await;

    // A follow-up, watched on the run page to its end.
    type_into(&c, "#fq", FOLLOWUP).await;
    click(&c, "#followup-form button[type=submit]").await;
    wait_path(&c, "the run page after the follow-up", &path).await;
    let asked = format!(
        "Array.from(document.querySelectorAll('#log > li.ev-followup .question'))
            .some(function (q) {{ return q.textContent.trim() === {}; }})",
        json!(FOLLOWUP)
    );
    wait_js(&c, "the follow-up on the run page", &asked, WAIT).await;
    wait_js(&c, "the follow-up's turns", FOLLOWUP_TURN_SHOWN, WAIT).await;
    wait_run_end(&c, "the end of the follow-up").await;
    assert_log_matches(&c, &dir, "after the follow-up").await;
    let answered = logged_events(&dir)
        .iter()
        .filter(|e| matches!(e, Event::FollowupTurn(_)))
        .count();
    assert!(answered > 0, "the log holds no follow-up turn");
}

/// Every way into a page the test tries; each must show as text.
const SCRIPT: &str = "<script>window.__xss=1</script>";
const IMG: &str = "<img src=x onerror=\"window.__xss=2\">";
const SVG: &str = "\"><svg onload=alert(3)>";

/// Elements a payload would have made, had it been parsed as markup.
const INJECTED: &str = "script:not([src]), img[src=\"x\"], svg[onload], [onerror], [onload]";

/// Fails unless the page (and the report frame, where there is one) has no
/// open alert, no `window.__xss`, no element a payload could have made,
/// and shows each of `texts` as text.
async fn assert_inert(c: &Client, page: &str, texts: &[&str]) {
    match c.get_alert_text().await {
        Err(e) if e.is_no_such_alert() => {}
        Err(e) => panic!("{page}: asking for an alert failed otherwise: {e}"),
        Ok(text) => panic!("{page}: an alert is open: {text:?}"),
    }
    let dump = page_dump(c).await;
    let xss = js(c, "typeof window.__xss").await;
    assert_eq!(xss, json!("undefined"), "{page}: a payload ran\n{dump}");
    let found = js(
        c,
        &format!(
            "(function () {{
                var sel = {0};
                var out = Array.from(document.querySelectorAll(sel)).map(function (e) {{
                    return e.outerHTML;
                }});
                var f = document.getElementById('report-frame');
                var d = f && f.contentDocument;
                if (d) {{
                    Array.from(d.querySelectorAll(sel)).forEach(function (e) {{
                        out.push('in the frame: ' + e.outerHTML);
                    }});
                }}
                return out;
            }})()",
            json!(INJECTED)
        ),
    )
    .await;
    assert_eq!(found, json!([]), "{page}: elements a payload made\n{dump}");
    for t in texts {
        let shown = js(
            c,
            &format!("document.body.innerText.indexOf({}) >= 0", json!(t)),
        )
        .await;
        assert_eq!(
            shown,
            json!(true),
            "{page}: {t:?} is not shown as text\n{dump}"
        );
    }
}

/// Text of the fake's answers: every payload first (short fields keep
/// them whole), then the cooperative filler.
const ANSWER: &str = concat!(
    "<script>window.__xss=1</script> <img src=x onerror=\"window.__xss=2\"> \"><svg onload=alert(3)> ",
    "We should price by value and test it on new customers first, measuring win rates for eight weeks."
);

/// A cooperative model whose every free-text answer carries the payloads:
/// schema-valid JSON with [`ANSWER`] as each string, plain text otherwise.
fn payload_answering(body: &str) -> Reply {
    let req: Value = serde_json::from_str(body).unwrap_or_default();
    match req.pointer("/response_format/json_schema/schema") {
        Some(schema) => {
            Reply::completion(&council_llm::schema::example_for(schema, ANSWER).to_string())
        }
        None => Reply::completion(ANSWER),
    }
}

/// A persona file with payloads in what the pages show (name, role,
/// focus) and in what only the prompts carry.
const PERSONA: &str = r#"id = "markup-tester"
name = '<script>window.__xss=1</script> The Tester'
role = '<img src=x onerror="window.__xss=2"> who tests markup'
background = '''
"><svg onload=alert(3)> Spent ten years breaking web forms for a living, then moved to reviewing pricing decisions.
'''
notices_first = '<script>window.__xss=1</script> what is shown raw'
blind_spot = '"><svg onload=alert(3)> trusts escaping too much'
voice = 'Dry <b>and</b> short.'
favoured_moves = ["CHALLENGE", "WARN"]
focus = ['<img src=x onerror="window.__xss=2">', "pricing"]
"#;

/// What the second test's browser works against.
struct Payloads {
    base: String,
    runs: PathBuf,
    gate: Arc<Gate>,
    question: String,
    name: String,
    role: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payloads_in_the_question_a_persona_file_and_a_model_answer_render_as_text() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let personas = tmp.path().join("personas");
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir_all(&personas).unwrap();
    std::fs::create_dir_all(&downloads).unwrap();
    std::fs::write(personas.join("markup-tester.toml"), PERSONA).unwrap();
    let gate = Arc::new(Gate::default());
    let _open_at_end = OpenOnDrop(gate.clone());
    let fake = FakeServer::start_with(
        gated(gate.clone(), payload_answering),
        Duration::from_millis(20),
    )
    .await;
    let serve = Serve::start(&fake.url, &runs, Some(&personas), tmp.path());
    let driver = Driver::start(tmp.path());
    let p = Payloads {
        base: serve.url.clone(),
        runs,
        gate,
        question: format!(
            "Should we ship {SCRIPT} and {IMG} {SVG} to every customer this quarter?"
        ),
        name: format!("{SCRIPT} The Tester"),
        role: format!("{IMG} who tests markup"),
    };
    with_browser(&driver, &downloads, |c| ask_with_payloads(c, &p)).await;
}

async fn ask_with_payloads(c: Client, p: &Payloads) {
    // The new-question page lists the persona, as text.
    c.goto(&format!("{}/", p.base)).await.unwrap();
    wait_js(
        &c,
        "the persona in the form",
        "document.getElementById('p-markup-tester')",
        WAIT,
    )
    .await;
    assert_inert(&c, "the new-question page", &[&p.name, &p.role]).await;
    type_into(&c, "#question", &p.question).await;
    for id in ["markup-tester", "cfo", "cto"] {
        click(&c, &format!("#p-{id}")).await;
    }
    // The run, followed live to its end (the fake answers once the page
    // follows the run).
    let (path, dir) = submit(&c, "1", &p.runs).await;
    p.gate.open();
    wait_run_end(&c, "the end of the run").await;
    assert_log_matches(&c, &dir, "the payload run").await;
    let everything = [p.question.as_str(), &p.name, SCRIPT, IMG, SVG];
    assert_inert(&c, "the run page, followed live", &everything).await;
    c.refresh().await.unwrap();
    wait_js(
        &c,
        "the reloaded run page",
        "document.readyState === 'complete' && document.getElementById('log')",
        WAIT,
    )
    .await;
    assert_inert(&c, "the run page, drawn by the server", &everything).await;

    // The report page and its frame.
    c.goto(&format!("{}{path}/report", p.base)).await.unwrap();
    let frame_text = wait_js(&c, "the report in its frame", REPORT_FRAME_TEXT, WAIT).await;
    assert_inert(&c, "the report page", &[&p.question]).await;
    let frame_text = frame_text.as_str().unwrap();
    for t in [p.question.as_str(), SCRIPT, IMG] {
        assert!(
            frame_text.contains(t),
            "the report frame does not show {t:?} as text; it reads:\n{frame_text}"
        );
    }

    // The runs page.
    c.goto(&format!("{}/runs", p.base)).await.unwrap();
    wait_js(
        &c,
        "the runs page",
        "document.querySelector('table.runs')",
        WAIT,
    )
    .await;
    assert_inert(&c, "the runs page", &[&p.question]).await;
}

// ---------------------------------------------------------------------------
// By keyboard alone.

/// Presses `key` (a character, or a WebDriver key such as Tab) on
/// whatever has the focus.
async fn press(c: &Client, key: &str) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let value = key.chars().next().unwrap();
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value })
        .then(KeyAction::Up { value });
    c.perform_actions(keys).await.unwrap();
}

/// What has the focus: its id, else its tag and first words; and whether a
/// focus ring is drawn around it.
async fn focused(c: &Client) -> (String, bool) {
    let v = js(
        c,
        "(function () {
            var e = document.activeElement, prefix = '';
            // Inside the report's frame: the element focused in there.
            if (e.tagName === 'IFRAME' && e.contentDocument && e.contentDocument.activeElement
                && e.contentDocument.activeElement !== e.contentDocument.body) {
                prefix = e.id + '>';
                e = e.contentDocument.activeElement;
            }
            var s = getComputedStyle(e);
            var name = prefix + (e.id || (e.tagName.toLowerCase() + ':' + (e.textContent || '').trim().slice(0, 30)));
            // The browser's own ring ('auto') or one of ours (2 px or more).
            var ring = s.outlineStyle === 'auto' || (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2);
            return [name, ring];
        })()",
    )
    .await;
    serde_json::from_value(v).unwrap()
}

/// Presses Tab until `target` has the focus (at most 200 times: the
/// report's own links come first); every stop on the way must show a focus
/// ring.
async fn tab_to(c: &Client, target: &str) {
    let mut seen = Vec::new();
    for _ in 0..200 {
        press(c, &fantoccini::key::Key::Tab).await;
        let (name, ring) = focused(c).await;
        assert!(ring, "{name} has the focus but no visible focus ring");
        if name == target {
            return;
        }
        seen.push(name);
    }
    panic!(
        "Tab never reached {target}; it went through {seen:?}\n{}",
        page_dump(c).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_question_is_asked_followed_and_followed_up_by_keyboard_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let fake = FakeServer::start_with(
        Arc::new(|body: &str| schema_answering(body)),
        Duration::from_millis(5),
    )
    .await;
    let serve = Serve::start(&fake.url, &runs, None, tmp.path());
    let driver = Driver::start(tmp.path());
    let base = serve.url.clone();
    with_browser(&driver, &downloads, |c| async move {
        c.goto(&format!("{base}/")).await.unwrap();
        wait_js(&c, "the form", "document.getElementById('question')", WAIT).await;
        // The first Tab offers a way past the navigation.
        press(&c, &fantoccini::key::Key::Tab).await;
        let (first, ring) = focused(&c).await;
        assert!(first.starts_with("a:Skip to content") && ring, "{first}");
        press(&c, &fantoccini::key::Key::Enter).await;
        tab_to(&c, "question").await;
        c.active_element()
            .await
            .unwrap()
            .send_keys("Should we move our support team to a four-day week in 2027?")
            .await
            .unwrap();
        for p in ["p-brand-strategist", "p-cfo", "p-cto", "p-org-psychologist"] {
            tab_to(&c, p).await;
            press(&c, " ").await;
        }
        let ticked = js(
            &c,
            "Array.from(document.querySelectorAll('input[name=panel]:checked')).map(function (e) { return e.value; })",
        )
        .await;
        assert_eq!(
            ticked,
            json!(["brand-strategist", "cfo", "cto", "org-psychologist"])
        );
        tab_to(&c, "ask-submit").await;
        press(&c, &fantoccini::key::Key::Enter).await;
        wait_js(&c, "the run page", ON_RUN_PAGE, WAIT).await;
        wait_run_end(&c, "the keyboard's run").await;
        // On to the report, and a follow-up from it, by keyboard.
        tab_to(&c, "report-link").await;
        press(&c, &fantoccini::key::Key::Enter).await;
        wait_js(
            &c,
            "the report page",
            "location.pathname.slice(-7) === '/report' && document.getElementById('fq')",
            WAIT,
        )
        .await;
        tab_to(&c, "fq").await;
        c.active_element()
            .await
            .unwrap()
            .send_keys("And for the sales team?")
            .await
            .unwrap();
        press(&c, &fantoccini::key::Key::Tab).await;
        let (button, ring) = focused(&c).await;
        assert!(button.starts_with("button:Ask the panel") && ring, "{button}");
        press(&c, &fantoccini::key::Key::Enter).await;
        wait_js(&c, "the follow-up on the run page", FOLLOWUP_SHOWN, WAIT).await;
        wait_run_end(&c, "the follow-up").await;
    })
    .await;
}

/// Truthy once the run page shows a follow-up.
const FOLLOWUP_SHOWN: &str =
    "location.pathname.indexOf('/runs/') === 0 && document.querySelector('#log .ev-followup')";

// ---------------------------------------------------------------------------
// The consultant's workflow: a branded variant, a branch, what changed.

/// The persona the branch seats in the CFO's place.
const NEWCOMER: &str = "ai-founder";
const NEWCOMER_NAME: &str = "The AI-First Founder";
/// The firm on the brand file the server is given.
const FIRM: &str = "Northwind Advisory";

/// [`schema_answering`], except that once the newcomer has spoken (the
/// branch's synthesis reads their turns) every stance is "oppose" and every
/// probability 85: the branch's verdict and forecasts move.
fn newcomer_shifts(body: &str) -> Reply {
    fn shift(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    match (k.as_str(), &x) {
                        ("stance", Value::String(_)) => *x = json!("oppose"),
                        ("probability", Value::Number(_)) => *x = json!(85),
                        _ => shift(x),
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(shift),
            _ => {}
        }
    }
    let reply = schema_answering(body);
    if !body.contains(NEWCOMER_NAME) {
        return reply;
    }
    match reply {
        Reply::Respond { body: done, .. } => {
            let content = council_tests::content_of(&done);
            match serde_json::from_str::<Value>(&content) {
                Ok(mut v) => {
                    shift(&mut v);
                    Reply::completion(&v.to_string())
                }
                Err(_) => Reply::completion(&content),
            }
        }
        other => other,
    }
}

/// Rows of the diff page's tables marked changed: [section, cells…].
const DIFF_CHANGED_ROWS: &str = "(function () {
    var d = document.getElementById('diff');
    if (!d) { return null; }
    var rows = [];
    d.querySelectorAll('h2').forEach(function (h) {
        var t = h.nextElementSibling;
        while (t && t.tagName !== 'TABLE' && t.tagName !== 'H2') { t = t.nextElementSibling; }
        if (t && t.tagName === 'TABLE') {
            t.querySelectorAll('tr.changed').forEach(function (r) {
                rows.push([h.textContent.trim()].concat(Array.from(r.cells).map(function (c) {
                    return c.textContent.trim();
                })));
            });
        }
    });
    return rows;
})()";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_branded_variant_with_a_tone_and_a_branch_with_a_swap_are_made_and_compared_in_the_browser(
) {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let brand = tmp.path().join("brand.toml");
    std::fs::write(
        &brand,
        format!("name = \"{FIRM}\"\nfooter = \"Prepared for the board\"\n"),
    )
    .unwrap();
    let fake = FakeServer::start_with(Arc::new(newcomer_shifts), Duration::ZERO).await;
    // The source run, asked on the command line as a consultant would.
    let src = runs.join("src");
    let src_arg = src.display().to_string();
    let out = council_tests::council_command(
        env!("CARGO_BIN_EXE_council"),
        &[
            "--base-url",
            &fake.url,
            "--model",
            "fake",
            "-q",
            "ask",
            "--rounds",
            "2",
            "--panel",
            "cfo,cto,brand-strategist,org-psychologist",
            "--out",
            &src_arg,
            "--",
            QUESTION,
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "council ask: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let brand_arg = brand.display().to_string();
    let serve = Serve::start_with(&fake.url, &runs, None, tmp.path(), &["--brand", &brand_arg]);
    let driver = Driver::start(tmp.path());
    let base = serve.url.clone();
    let saved = downloads.clone();
    with_browser(&driver, &downloads, |c| async move {
        // The variant: for the client, warm and confident, named.
        c.goto(&format!("{base}/runs/src/report")).await.unwrap();
        wait_js(&c, "the report page", "document.getElementById('variant-form')", WAIT).await;
        let selected = js(&c, "document.getElementById('from_round').value").await;
        assert_eq!(selected, json!("2"), "the branch replays the last round by default");
        c.find(Locator::Css("#audience"))
            .await
            .unwrap()
            .select_by_value("client")
            .await
            .unwrap();
        type_into(&c, "#tone", "warm, confident").await;
        type_into(&c, "#vname", "northwind-client").await;
        screenshots(&c, "report-forms").await;
        click(&c, "#variant-form button[type=submit]").await;
        wait_path(&c, "the variant's run page", "/runs/src%2Fvariants%2Fnorthwind-client").await;
        wait_run_end(&c, "the end of the variant").await;
        let vdir = runs.join("src/variants/northwind-client");
        let header = council_app::runs::header(&vdir).expect("the variant's header");
        let spec = header.variant.expect("a variant spec in the header");
        assert_eq!(spec.tone.as_deref(), Some("warm, confident"));
        assert_eq!(spec.audience.as_str(), "client");

        // Its PDF, downloaded from its report page under the brand.
        c.goto(&format!("{base}/runs/src%2Fvariants%2Fnorthwind-client/report"))
            .await
            .unwrap();
        wait_js(&c, "the variant's report page", "document.querySelector('a.brand-pdf')", WAIT).await;
        click(&c, "a.brand-pdf").await;
        let pdf = downloaded(&saved, "pdf").await;
        let text = Command::new("pdftotext")
            .arg(&pdf)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils; run `bash scripts/deps.sh`)");
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains(FIRM),
            "the PDF downloaded from the page does not carry the brand; it reads:\n{}",
            text.chars().take(1500).collect::<String>()
        );

        // The branch: the CFO's seat to the newcomer, from the last round.
        c.goto(&format!("{base}/runs/src/report")).await.unwrap();
        wait_js(&c, "the report page", "document.getElementById('branch-form')", WAIT).await;
        c.find(Locator::Css("#swap_old"))
            .await
            .unwrap()
            .select_by_value("cfo")
            .await
            .unwrap();
        c.find(Locator::Css("#swap_new"))
            .await
            .unwrap()
            .select_by_value(NEWCOMER)
            .await
            .unwrap();
        click(&c, "#branch-form button[type=submit]").await;
        let bpath = format!("/runs/src%2Fbranches%2Ffrom-round-2-{NEWCOMER}-for-cfo");
        wait_path(&c, "the branch's run page", &bpath).await;
        wait_run_end(&c, "the end of the branch").await;
        let bdir = runs.join(format!("src/branches/from-round-2-{NEWCOMER}-for-cfo"));
        let bheader = council_app::runs::header(&bdir).expect("the branch's header");
        assert!(
            bheader.panel.iter().any(|p| p.id == NEWCOMER) && !bheader.panel.iter().any(|p| p.id == "cfo"),
            "the branch seats the newcomer in the CFO's place: {:?}",
            bheader.panel
        );

        // What changed: from the branch's report page to the diff page.
        c.goto(&format!("{base}{bpath}/report")).await.unwrap();
        wait_js(&c, "the link to what changed", "document.getElementById('diff-source')", WAIT).await;
        click(&c, "#diff-source").await;
        let rows = wait_js(&c, "the diff page", DIFF_CHANGED_ROWS, WAIT).await;
        let rows: Vec<Vec<String>> = serde_json::from_value(rows).unwrap();
        screenshots(&c, "diff").await;
        let dump = page_dump(&c).await;
        let verdict_moved = rows.iter().any(|r| {
            // The report's labels ("Support", "Yes", "Conditional"), in any case.
            let has = |w: &str| r.iter().any(|x| x.to_lowercase().contains(w));
            r[0].starts_with("Verdict") && (has("support") || has("mixed") || has("conditional"))
                && has("oppose")
        });
        assert!(verdict_moved, "no verdict change on the diff page: {rows:?}\n{dump}");
        // The fake words every forecast alike in both runs, so each keeps
        // its id: its probability is seen moving to 85%.
        let forecast_moved = rows.iter().any(|r| {
            r[0].starts_with("Forecasts")
                && r.iter().any(|x| x.ends_with('%') && x != "85%")
                && r.iter().any(|x| x == "85%")
        });
        assert!(forecast_moved, "no forecast's probability moves on the diff page: {rows:?}\n{dump}");

        // Side by side: the verdicts on one row, marked changed.
        c.goto(&format!("{base}/compare?a=src&b=src%2Fbranches%2Ffrom-round-2-{NEWCOMER}-for-cfo"))
            .await
            .unwrap();
        let verdict_row = wait_js(
            &c,
            "the side-by-side page",
            "(function () {
                var rows = Array.from(document.querySelectorAll('.sbs-row'));
                var v = rows.filter(function (r) { return r.querySelector('h3').textContent.indexOf('Verdict') === 0; })[0];
                return v ? [v.classList.contains('changed'), v.querySelector('.sbs-a').innerText, v.querySelector('.sbs-b').innerText] : null;
            })()",
            WAIT,
        )
        .await;
        assert_eq!(verdict_row[0], json!(true), "the verdict row is not marked changed: {verdict_row}");
        screenshots(&c, "side-by-side").await;
        c.goto(&format!("{base}/runs")).await.unwrap();
        wait_js(&c, "the runs page", "document.getElementById('count')", WAIT).await;
        screenshots(&c, "runs").await;
        c.goto(&format!("{base}{bpath}")).await.unwrap();
        let parts = wait_js(
            &c,
            "the branch's run page",
            "Array.from(document.querySelectorAll('#log .part')).map(function (p) { return p.textContent.trim(); })",
            WAIT,
        )
        .await;
        let parts: Vec<String> = serde_json::from_value(parts).unwrap();
        assert!(
            parts.iter().any(|p| p.contains("The AI-First Founder's vote"))
                && parts.iter().any(|p| p.contains("The path if it works"))
                && !parts.iter().any(|p| p.contains("vote:") || p.contains("path:")),
            "the live page names the report's parts in words: {parts:?}"
        );
        let speakers = js(
            &c,
            "Array.from(document.querySelectorAll('#log .who')).map(function (w) { return w.textContent.trim(); })",
        )
        .await;
        let speakers: Vec<String> = serde_json::from_value(speakers).unwrap();
        assert!(
            speakers.iter().any(|s| s == "The CFO") && !speakers.iter().any(|s| s == "cfo"),
            "the copied round names the CFO who left by name: {speakers:?}"
        );
        screenshots(&c, "branch-run").await;
    })
    .await;
}
