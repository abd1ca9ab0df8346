//! Commands that work from an existing run: `variant` (the same debate,
//! the report re-worded for another reader), `branch` (the same early
//! rounds, the rest played again with changes), `followup` (one more
//! question to the same panel) and `diff` (two runs side by side). The
//! source run is only read, except by `followup`, which appends to it.

use crate::cli::{BranchArgs, DiffArgs, DiffFormat, FollowupArgs, Global, VariantArgs};
use crate::progress::Drawer;
use crate::InputError;
use anyhow::bail;
use council_core::{Event, RunHeader, RunStatus, Transcript};
use council_engine::derive::{start_branch, start_variant, BranchPlan};
use council_engine::{Debate, DebateSettings, Prompts, RunStore};
use council_personas::Roster;
use std::path::{Path, PathBuf};

/// What every command that calls models from a run needs.
struct Setup {
    roster: Roster,
    prompts: Prompts,
    backends: crate::settings::Backends,
}

fn setup(global: &Global, sources: &crate::cli::Sources) -> anyhow::Result<Setup> {
    Ok(Setup {
        roster: sources.roster()?,
        prompts: sources.templates()?,
        backends: crate::settings::load(global, &crate::env_lookup)?,
    })
}

/// The source run's header and event log, read without writing.
fn source_run(dir: &Path) -> anyhow::Result<(RunHeader, Transcript)> {
    if !dir.is_dir() {
        return Err(InputError(format!(
            "no run folder at {}: give a run folder as `council ask` printed it",
            dir.display()
        ))
        .into());
    }
    let log = council_engine::store::read_events(dir).map_err(crate::unreadable_run)?;
    let Some(Event::Started(h)) = log.events.first().cloned() else {
        return Err(InputError(format!(
            "{} does not start with a run header",
            dir.display()
        ))
        .into());
    };
    let t = Transcript::from_events(&log.events)
        .map_err(|e| InputError(format!("{}: {e}", dir.display())))?;
    Ok((h, t))
}

/// The settings a derived run plays with: the header's, with this
/// command's limits.
fn settings_of(h: &RunHeader, max_concurrency: u16, max_tokens: u32) -> DebateSettings {
    DebateSettings {
        rounds: h.rounds,
        max_concurrency: max_concurrency as usize,
        seed: h.seed,
        date: h.date.clone(),
        lang: h.lang.clone(),
        max_tokens,
        synthesis: true,
        condition: Default::default(),
    }
}

fn check_lang(flag: &str, l: &str) -> Result<(), InputError> {
    council_core::lang::check(l).map_err(|e| InputError(format!("{flag} {e}")))
}

/// Runs a derived run's store to its end (rounds not yet played, then the
/// synthesis), writes its reports, and says how many calls it made.
async fn play(
    s: &Setup,
    global: &Global,
    mut store: RunStore,
    settings: DebateSettings,
    budget: &crate::cli::BudgetArgs,
    resume_hint: &str,
) -> anyhow::Result<Transcript> {
    let Some(Event::Started(h)) = store.events().first().cloned() else {
        bail!("{} has no run header", store.dir().display());
    };
    let ids: Vec<String> = h.panel.iter().map(|p| p.id.clone()).collect();
    let panel = s.roster.panel_from_ids(&ids)?;
    let library = crate::ask::load_library(&h.library, Some(&store))?;
    let model = s.backends.main_model().await?;
    let models = s.backends.models(model.clone()).await?;
    let (models, meter) = crate::settings::metered(
        models,
        budget,
        &s.backends.prices,
        store.transcript().ok().as_ref(),
    )?;
    let names = panel
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let drawer = Drawer::new(names, settings.rounds, global.quiet);
    let calls_before = store.transcript()?.usage.calls;
    let debate = Debate {
        question: h.question.clone(),
        panel,
        settings,
        models,
        prompts: &s.prompts,
        progress: &drawer,
        notes: h.notes.clone(),
        library: library.as_ref(),
        library_inputs: h.library.clone(),
    };
    let dir = store.dir().to_path_buf();
    let t = tokio::select! {
        t = council_engine::run(&debate, &mut store) => t.map_err(|e| crate::ask::budget_stop(e, &dir, meter.as_deref(), resume_hint))?,
        _ = tokio::signal::ctrl_c() => bail!(crate::ask::Interrupted(resume_hint.to_string())),
    };
    crate::say!(
        "{}: {} model call(s) made by this command",
        dir.display(),
        t.usage.calls - calls_before
    );
    Ok(t)
}

/// Runs `council variant`.
pub(crate) async fn variant(args: VariantArgs, global: &Global) -> anyhow::Result<Transcript> {
    let (h, source) = source_run(&args.run)?;
    if source.status == RunStatus::Incomplete {
        return Err(InputError(council_app::status::unfinished_source(
            &args.run,
            "making a variant",
        ))
        .into());
    }
    let lang = args.lang.clone().unwrap_or_else(|| h.lang.clone());
    check_lang("--lang", &lang)?;
    if let Some(l) = &args.headings {
        check_lang("--headings", l)?;
    }
    let spec = council_core::variant::VariantSpec {
        audience: args.audience.into(),
        length: args.length.into(),
        tone: args.tone.clone().filter(|x| !x.trim().is_empty()),
        emphasis: args.emphasis.clone().filter(|x| !x.trim().is_empty()),
        headings: args.headings.clone(),
        ..Default::default()
    };
    let name = match &args.name {
        Some(n) => {
            if n.is_empty() || n.contains(['/', '\\']) || n.starts_with('.') {
                return Err(InputError(format!(
                    "--name {n:?} is not a folder name; use letters, digits and dashes"
                ))
                .into());
            }
            n.clone()
        }
        None => {
            let mut n = format!("{}-{}", spec.audience, spec.length);
            if lang != h.lang {
                n.push_str(&format!("-{lang}"));
            }
            n
        }
    };
    let brand = brand_of(&args.export)?;
    let s = setup(global, &args.sources)?;
    let dest = args.run.join("variants").join(&name);
    let (store, continued) = start_variant(&args.run, &dest, spec, &lang)?;
    if continued {
        crate::say!("continuing the variant in {}", dest.display());
    }
    let mut settings = settings_of(&h, args.max_concurrency, 700);
    settings.lang = lang;
    let hint = format!(
        "council variant {} --name {name} (the same flags)",
        args.run.display()
    );
    // A variant that re-words nothing, of a finished run, is a render: no
    // model is even loaded.
    let so_far = store.transcript()?;
    let panel: Vec<&str> = so_far.panel.iter().map(|p| p.id.as_str()).collect();
    let every_part = council_core::synthesis::SynthesisKind::all_for(&panel)
        .iter()
        .all(|k| so_far.synthesis.iter().any(|p| &p.part == k));
    let t = if !so_far.variant.as_ref().is_some_and(|v| v.rewords) && every_part {
        store.write_transcript()?;
        store.transcript()?
    } else {
        play(&s, global, store, settings, &args.budget, &hint).await?
    };
    crate::ask::write_reports(
        &t,
        &dest,
        &s.backends.prices,
        &council_render::RenderOptions {
            brand: brand.as_ref(),
            appendix: args.export.appendix,
        },
        &args.export.formats,
    )?;
    Ok(t)
}

/// Parses `OLD=NEW` pairs.
fn pairs(flag: &str, given: &[String]) -> Result<Vec<(String, String)>, InputError> {
    given
        .iter()
        .map(|p| match p.split_once('=') {
            Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
                Ok((a.trim().to_string(), b.trim().to_string()))
            }
            _ => Err(InputError(format!(
                "{flag} {p:?} is not a pair; write it as {}",
                if flag == "--swap" {
                    "OLD=NEW (persona ids), e.g. --swap brand-strategist=cfo"
                } else {
                    "PERSONA=MODEL, e.g. --model cfo=gpt-4o"
                }
            ))),
        })
        .collect()
}

/// Runs `council branch`.
pub(crate) async fn branch(args: BranchArgs, global: &Global) -> anyhow::Result<Transcript> {
    let (h, _) = source_run(&args.run)?;
    if args.from_round < 1 || args.from_round > h.rounds {
        return Err(InputError(format!(
            "--from-round {} is out of range: the run has rounds 1 to {}",
            args.from_round, h.rounds
        ))
        .into());
    }
    let brand = brand_of(&args.export)?;
    let s = setup(global, &args.sources)?;
    let mut changes = Vec::new();
    let mut ids: Vec<String> = if args.panel.is_empty() {
        h.panel.iter().map(|p| p.id.clone()).collect()
    } else {
        changes.push(format!("panel {}", args.panel.join(",")));
        args.panel.clone()
    };
    for (old, new) in pairs("--swap", &args.swap)? {
        let Some(i) = ids.iter().position(|x| *x == old) else {
            return Err(InputError(format!(
                "--swap {old}={new}: {old} does not sit on the panel ({}); see the panel with `council render {}`",
                ids.join(", "),
                args.run.display()
            ))
            .into());
        };
        if ids.contains(&new) {
            return Err(InputError(format!(
                "--swap {old}={new}: {new} already sits on the panel"
            ))
            .into());
        }
        ids[i] = new.clone();
        changes.push(format!("swap {old}={new}"));
    }
    let panel = s.roster.seat(s.roster.panel_from_ids(&ids)?);
    Roster::check_size(&panel)?;
    // `--persona-model PERSONA=MODEL` (a global flag) is read with the
    // backends; a persona it names must sit on the branch's panel.
    for m in &global.persona_model {
        let id = m.split_once('=').map_or("", |x| x.0.trim());
        if !panel.iter().any(|p| p.id == id) {
            return Err(InputError(format!(
                "--persona-model {m}: {id} does not sit on the branch's panel ({})",
                panel
                    .iter()
                    .map(|p| p.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
        changes.push(format!("model {m}"));
    }
    let question = match &args.question {
        Some(q) if q.trim().is_empty() => {
            return Err(InputError("--question is empty; write the new question".into()).into())
        }
        Some(q) => {
            crate::ask::check_question_text(q.trim(), "--question")?;
            changes.push("question changed".into());
            Some(q.trim().to_string())
        }
        None => None,
    };
    let plan = BranchPlan {
        from_round: args.from_round,
        panel: panel.iter().map(council_core::PanelMember::from).collect(),
        question,
        changes,
    };
    let dest = args.out.clone().unwrap_or_else(|| {
        args.run.join("branches").join(format!(
            "from-r{}-{}",
            args.from_round,
            chrono::Local::now().format("%Y%m%d-%H%M%S")
        ))
    });
    let (store, continued) = start_branch(&args.run, &dest, &plan)?;
    crate::say!(
        "{} {} (rounds 1–{} copied from {})",
        if continued {
            "continuing the branch in"
        } else {
            "branch:"
        },
        dest.display(),
        args.from_round - 1,
        args.run.display()
    );
    let settings = settings_of(&h, args.max_concurrency, args.max_tokens);
    let hint = format!(
        "council branch {} --from-round {} --out {} (with the same flags)",
        args.run.display(),
        args.from_round,
        dest.display()
    );
    let t = play(&s, global, store, settings, &args.budget, &hint).await?;
    crate::ask::write_reports(
        &t,
        &dest,
        &s.backends.prices,
        &council_render::RenderOptions {
            brand: brand.as_ref(),
            appendix: args.export.appendix,
        },
        &args.export.formats,
    )?;
    Ok(t)
}

/// The brand file of `export`, read and checked before any call is made.
fn brand_of(export: &crate::cli::ExportArgs) -> anyhow::Result<Option<council_render::Brand>> {
    export
        .brand
        .as_deref()
        .map(crate::export::load_brand)
        .transpose()
}

/// Runs `council followup`.
pub(crate) async fn followup(args: FollowupArgs, global: &Global) -> anyhow::Result<Transcript> {
    let ask = match (&args.question, args.resume) {
        (Some(q), false) if !q.trim().is_empty() => {
            crate::ask::check_question_text(q.trim(), "the follow-up question")?;
            council_engine::followup::Ask::New(q.trim().to_string())
        }
        (Some(_), false) => {
            return Err(InputError(
                "the follow-up question is empty; write what the board should answer".into(),
            )
            .into())
        }
        (None, true) => council_engine::followup::Ask::Resume,
        _ => {
            return Err(InputError(
                "give a follow-up question, or --resume to finish the last one".into(),
            )
            .into())
        }
    };
    let (h, t) = source_run(&args.run)?;
    if t.status == RunStatus::Incomplete {
        return Err(InputError(council_app::status::unfinished_source(
            &args.run,
            "asking a follow-up",
        ))
        .into());
    }
    if h.version != council_core::TRANSCRIPT_VERSION {
        return Err(InputError(format!(
            "{} was made by another version of Council (transcript format {}); follow-ups need format {}: make a variant or branch of it first",
            args.run.display(),
            h.version,
            council_core::TRANSCRIPT_VERSION
        ))
        .into());
    }
    let s = setup(global, &args.sources)?;
    let mut store = RunStore::open(&args.run).map_err(crate::unreadable_run)?;
    let ids: Vec<String> = h.panel.iter().map(|p| p.id.clone()).collect();
    let panel = s.roster.panel_from_ids(&ids)?;
    // The run's library, if it had one: a follow-up cites it as a round
    // does (checked before any model loads).
    let library = crate::ask::load_library(&h.library, Some(&store))?;
    let model = s.backends.main_model().await?;
    let models = s.backends.models(model.clone()).await?;
    let (models, meter) =
        crate::settings::metered(models, &args.budget, &s.backends.prices, Some(&t))?;
    let names = panel
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let drawer = Drawer::new(names, 1, global.quiet);
    let debate = Debate {
        question: h.question.clone(),
        panel,
        settings: settings_of(&h, args.max_concurrency, args.max_tokens),
        models,
        prompts: &s.prompts,
        progress: &drawer,
        notes: h.notes.clone(),
        library: library.as_ref(),
        library_inputs: h.library.clone(),
    };
    let dir = args.run.clone();
    let hint = format!("council followup {} --resume", args.run.display());
    let t = tokio::select! {
        t = council_engine::followup::followup(&debate, &mut store, &ask) => t.map_err(|e| crate::ask::budget_stop(e, &dir, meter.as_deref(), &hint))?,
        _ = tokio::signal::ctrl_c() => bail!(crate::ask::Interrupted(hint.clone())),
    };
    if let Some(f) = t.followups.last() {
        crate::say!(
            "follow-up {}: {}",
            f.number,
            council_core::excerpt(&f.question, 80)
        );
    }
    crate::ask::write_reports(&t, &args.run, &s.backends.prices, &Default::default(), &[])?;
    Ok(t)
}

/// Runs `council diff`.
pub(crate) fn diff(args: &DiffArgs, global: &Global) -> anyhow::Result<()> {
    let prices = crate::settings::prices_or_builtin(global);
    let report = |p: &PathBuf| -> anyhow::Result<council_core::Report> {
        if !p.exists() {
            return Err(InputError(format!(
                "no run at {}: give two run folders (or transcript.json files)",
                p.display()
            ))
            .into());
        }
        let t = council_engine::read_transcript(p).map_err(crate::unreadable_run)?;
        let mut r = council_engine::report::report_for(&t, None);
        r.cost = Some(council_analysis::cost_of(&t, &prices));
        Ok(r)
    };
    let (ra, rb) = (report(&args.a)?, report(&args.b)?);
    let d = council_analysis::diff(
        &args.a.display().to_string(),
        &ra,
        &args.b.display().to_string(),
        &rb,
    );
    let text = match args.format {
        DiffFormat::Json => serde_json::to_string_pretty(&d)?,
        DiffFormat::Md => council_render::diff::markdown(&d),
        DiffFormat::Html => council_render::diff::html(&d)?,
    };
    match &args.output {
        Some(p) => {
            council_fs::write_atomic(p, text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?;
            crate::say!("{}", p.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
