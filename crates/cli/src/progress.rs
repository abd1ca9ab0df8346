//! Drawing the engine's progress: bars per persona on a terminal, plain
//! lines otherwise, nothing with -q.

use council_engine::{Progress, ProgressEvent};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

/// Progress output for `council ask`.
pub(crate) struct Drawer {
    mode: Mode,
    names: HashMap<String, String>,
    rounds: u32,
    bars: Mutex<HashMap<(u32, String), ProgressBar>>,
    /// Per turn, the streamed length last reported on a plain line.
    streamed: Mutex<HashMap<(u32, String), usize>>,
    multi: MultiProgress,
}

/// Without bars, a streamed answer's growth is reported each time it passes
/// another this many characters.
const STREAM_LINE_EVERY: usize = 400;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Bars,
    Lines,
    Quiet,
}

impl Drawer {
    /// A drawer for a panel of (id, name) pairs and this many rounds.
    pub(crate) fn new(names: HashMap<String, String>, rounds: u32, quiet: bool) -> Drawer {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        };
        Drawer {
            mode,
            names,
            rounds,
            bars: Mutex::new(HashMap::new()),
            streamed: Mutex::new(HashMap::new()),
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        }
    }

    fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }

    fn line(&self, s: String) {
        match self.mode {
            Mode::Bars => {
                let _ = self.multi.println(s);
            }
            Mode::Lines => eprintln!("{s}"),
            Mode::Quiet => {}
        }
    }
}

fn tokens(u: &council_core::Usage) -> String {
    match u.completion_tokens {
        Some(n) => format!("{n} tokens"),
        None => "tokens not reported".into(),
    }
}

impl Progress for Drawer {
    fn event(&self, event: ProgressEvent) {
        match event {
            ProgressEvent::RoundStarted {
                round,
                title,
                pending,
            } => {
                self.line(format!("round {round}/{} – {title}", self.rounds));
                if self.mode == Mode::Bars {
                    let style =
                        ProgressStyle::with_template("  {spinner} {prefix:<34} {msg} {elapsed:>4}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner());
                    let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
                    for id in pending {
                        let bar = self.multi.add(ProgressBar::new_spinner());
                        bar.set_style(style.clone());
                        bar.set_prefix(self.name(&id).to_string());
                        bar.set_message("waiting");
                        bar.enable_steady_tick(Duration::from_millis(120));
                        bars.insert((round, id), bar);
                    }
                }
            }
            ProgressEvent::TurnStarted { round, persona } => {
                if let Some(bar) = self
                    .bars
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&(round, persona))
                {
                    bar.set_message("speaking…");
                }
            }
            ProgressEvent::TurnText {
                round,
                persona,
                chars,
                latest,
            } => match self.mode {
                Mode::Bars => {
                    if let Some(bar) = self
                        .bars
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(&(round, persona))
                    {
                        bar.set_message(format!("{chars:>5} chars … {latest}"));
                    }
                }
                Mode::Lines => {
                    let mut seen = self.streamed.lock().unwrap_or_else(|p| p.into_inner());
                    let last = seen.entry((round, persona.clone())).or_insert(0);
                    let step = chars / STREAM_LINE_EVERY;
                    if chars == 0 {
                        *last = 0;
                    } else if *last == 0 {
                        *last = chars;
                        drop(seen);
                        self.line(format!(
                            "  {}: answering (streaming) …",
                            self.name(&persona)
                        ));
                    } else if step > *last / STREAM_LINE_EVERY {
                        *last = chars;
                        drop(seen);
                        self.line(format!(
                            "  {}: {chars} characters so far … {latest}",
                            self.name(&persona)
                        ));
                    }
                }
                Mode::Quiet => {}
            },
            ProgressEvent::TurnFinished {
                round,
                persona,
                failed,
                usage,
                elapsed,
            } => {
                let what = if failed {
                    "FAILED (recorded; see transcript)".to_string()
                } else {
                    format!("done, {}", tokens(&usage))
                };
                match self.mode {
                    Mode::Bars => {
                        if let Some(bar) = self
                            .bars
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&(round, persona))
                        {
                            bar.finish_with_message(what);
                        }
                    }
                    _ => self.line(format!(
                        "  {}: {what} in {:.1} s",
                        self.name(&persona),
                        elapsed.as_secs_f32()
                    )),
                }
            }
            ProgressEvent::SummaryStarted { round } => {
                self.line(format!("  moderator: summarising round {round}"))
            }
            ProgressEvent::RoundFinished { .. } => {}
            ProgressEvent::SynthesisFinished {
                part,
                failed,
                done,
                total,
            } => {
                let what = if failed {
                    "FAILED (flagged in the report)"
                } else {
                    "done"
                };
                self.line(format!("synthesis {done}/{total}: {part} {what}"));
            }
        }
    }
}
