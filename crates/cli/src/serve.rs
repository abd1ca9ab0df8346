//! `council serve`: the web app (council-web) on a socket, with the
//! command line's backend flags handed to every run it starts.

use crate::cli::{Global, ServeArgs};
use crate::InputError;
use anyhow::Context as _;
use council_web::{is_loopback, new_token, PersonaCard, ServeConfig};

/// The global flags a run started by the server is given, so it speaks
/// through the same backend as `council serve` was told to use.
fn forwarded(g: &Global) -> Vec<String> {
    // Paths made absolute: a job must find them whatever its directory.
    let abs = |p: &std::path::Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    };
    let mut out = Vec::new();
    let mut pair = |flag: &str, v: String| {
        out.push(flag.to_string());
        out.push(v);
    };
    if let Some(v) = &g.base_url {
        pair("--base-url", v.clone());
    }
    if let Some(v) = &g.model {
        pair("--model", v.clone());
    }
    if let Some(p) = g.provider {
        pair("--provider", p.as_str().to_string());
    }
    for pm in &g.persona_model {
        pair("--persona-model", pm.clone());
    }
    if let Some(v) = &g.config {
        pair("--config", abs(v));
    }
    if let Some(v) = &g.replay {
        pair("--replay", abs(v));
    }
    if g.embedded {
        out.push("--embedded".into());
    }
    if g.verbose > 0 {
        out.push(format!("-{}", "v".repeat(usize::from(g.verbose))));
    }
    out
}

/// Runs `council serve` until Ctrl-C.
pub(crate) async fn serve(args: ServeArgs, global: &Global) -> anyhow::Result<()> {
    if global.record.is_some() {
        return Err(InputError(
            "--record does not work with council serve (runs at once would write one cassette); record with council ask".into(),
        )
        .into());
    }
    let roster = args.sources.roster()?;
    let backends = crate::settings::load(global, &crate::env_lookup)?;
    let mut models = vec![backends.default_model_name()];
    for e in &backends.endpoints {
        if !models.contains(&e.model) {
            models.push(e.model.clone());
        }
    }
    let loopback = is_loopback(&args.host);
    let token = match (&args.token, loopback) {
        (Some(t), _) => Some(t.clone()),
        (None, true) => None,
        (None, false) => Some(new_token()?),
    };
    let mut config = ServeConfig::new(
        std::path::absolute(&args.runs)
            .with_context(|| format!("the runs folder {}", args.runs.display()))?,
        std::env::current_exe().context("cannot find the council executable to run jobs with")?,
    );
    config.child_args = forwarded(global);
    config.prices = backends.prices.clone();
    // The persona and prompt folders: flags of each job's subcommand.
    for (flag, dir) in [
        ("--personas", &args.sources.personas),
        ("--prompts", &args.sources.prompts),
    ] {
        if let Some(d) = dir {
            config.sub_args.push(flag.to_string());
            config.sub_args.push(
                std::path::absolute(d)
                    .unwrap_or_else(|_| d.clone())
                    .display()
                    .to_string(),
            );
        }
    }
    let check_roster = std::sync::Arc::new(args.sources.roster()?);
    config.panel_check = Some(council_web::PanelCheck(std::sync::Arc::new(
        move |ids: &[String]| {
            let panel = check_roster
                .panel_from_ids(ids)
                .map_err(|e| council_core::error_chain(&e))?;
            council_personas::Roster::check_size(&check_roster.seat(panel))
                .map_err(|e| council_core::error_chain(&e))
        },
    )));
    // Every brand is read and checked now: a bad file stops the server
    // before it listens, not a download later.
    for b in &args.brand {
        config.brands.push(council_app::report::load_brand(b)?);
    }
    config.token = token.clone();
    config.max_calls = args.max_calls;
    config.calls_per_run = args.calls_per_run.min(args.max_calls);
    let seated: Vec<String> = roster.seat_holders().iter().map(|p| p.id.clone()).collect();
    config.personas = roster
        .all()
        .iter()
        .map(|p| PersonaCard {
            id: p.id.clone(),
            name: p.name.clone(),
            role: p.role.clone(),
            focus: p.focus.iter().take(4).cloned().collect(),
            seated: seated.contains(&p.id),
        })
        .collect();
    config.models = models;
    let runs = config.runs.clone();
    let web = council_web::build(config).map_err(|e| InputError(e.0))?;
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| {
            InputError(format!(
                "cannot listen on {}:{} ({e}); choose another --port (0 picks a free one) or --host",
                args.host, args.port
            ))
        })?;
    let addr = listener.local_addr()?;
    let shown_host = if addr.ip().is_unspecified() {
        "localhost".to_string()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    // The address (with the token, printed this once) on stdout, first.
    match (&token, &args.token) {
        (Some(t), None) => println!(
            "Council is serving http://{shown_host}:{}/?token={t}",
            addr.port()
        ),
        _ => println!("Council is serving http://{shown_host}:{}/", addr.port()),
    }
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    crate::say!(
        "runs folder: {}; model: {}; Ctrl-C stops the server (runs in progress stop with it and can be resumed from their page)",
        runs.display(),
        backends.default_model_name()
    );
    council_web::serve(listener, web.router.clone(), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("the web server stopped")?;
    let stopped = web.stop_jobs().await;
    if stopped > 0 {
        crate::say!("stopped {stopped} run(s) in progress; every finished answer is saved: resume them from their pages");
    }
    Ok(())
}
