//! `tracevis`: the server (`serve`), import and export of runs, the demo
//! producer (`demo`) and the benchmarks (`bench`, `bench-live`).

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use tracevis::config::Config;
use tracevis::export::files;
use tracevis::service::TraceService;
use tracevis::{access, bench, bench_live, demo, retention, store, web};
use tracing::info;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// Runs indexed per transaction when earlier runs are made searchable.
const SEARCH_BACKFILL_CHUNK: u32 = 20;
use tracing_subscriber::EnvFilter;

// See server/Cargo.toml for why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A self-hosted dashboard for graph/agent workflow runs.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the dashboard and the HTTP API.
    Serve {
        /// Address to listen on [env: TRACEVIS_ADDR] [default: 127.0.0.1:3000].
        #[arg(long)]
        addr: Option<SocketAddr>,
        /// Database URL [env: DATABASE_URL] [default: sqlite://tracevis.db].
        #[arg(long)]
        database_url: Option<String>,
        /// Optional TOML configuration file.
        #[arg(long, env = "TRACEVIS_CONFIG", default_value = "tracevis.toml")]
        config: PathBuf,
        /// When the database holds no runs yet, fill it with demo runs.
        #[arg(long, env = "TRACEVIS_SEED_DEMO")]
        seed_demo: bool,
        /// Whether requests need credentials [env: TRACEVIS_AUTH] [default: auto:
        /// required unless listening on loopback only].
        #[arg(long, value_enum)]
        auth: Option<tracevis::access::AuthMode>,
    },
    /// Manage API tokens (for producers and tools) on the configured database.
    Token {
        #[command(subcommand)]
        command: access::cli::TokenCommand,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Manage the people who sign in to the dashboard.
    User {
        #[command(subcommand)]
        command: access::cli::UserCommand,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Load exported runs (`tracevis export` / the run page's download) into
    /// the database.
    Import {
        /// Export files (`*.tracevis.json`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Write one run to a file: the tracevis export document or Chrome-trace
    /// JSON (opens in Perfetto, chrome://tracing, speedscope).
    Export {
        /// The run's id.
        execution_id: String,
        /// File format.
        #[arg(long, value_enum, default_value = "tracevis")]
        format: files::ExportFormat,
        /// Output file; `-` writes to standard output.
        #[arg(long, short, default_value = "-")]
        output: PathBuf,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Recount the run statistics' hourly aggregates from the stored runs and
    /// report every row that differs (exit status 1 if any does). Reads every
    /// run: run it when the server is quiet.
    Check {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Post simulated graph runs to a tracevis server through its HTTP API.
    Demo(demo::DemoArgs),
    /// Measure trace reads and ingest; prints the figures BENCHMARKS.md records.
    Bench(bench::BenchArgs),
    /// Measure live delivery latency and a sustained subscriber load.
    BenchLive(bench_live::BenchLiveArgs),
}

/// Which database a command works on, as for `serve`.
#[derive(clap::Args)]
struct DatabaseArgs {
    /// Database URL [env: DATABASE_URL] [default: sqlite://tracevis.db].
    // global: also accepted after a subcommand (`tracevis token create … --database-url …`).
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Optional TOML configuration file.
    #[arg(long, env = "TRACEVIS_CONFIG", default_value = "tracevis.toml", global = true)]
    config: PathBuf,
}

impl DatabaseArgs {
    fn url(self) -> anyhow::Result<String> {
        let config = Config::load(&self.config)?;
        Ok(self.database_url.unwrap_or(config.database_url))
    }

    async fn open_service(self) -> anyhow::Result<TraceService> {
        Ok(TraceService::new(store::open(&self.url()?).await?))
    }

    async fn open_access(self) -> anyhow::Result<access::AccessStore> {
        Ok(store::open_with_access(&self.url()?).await?.1)
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // One line with the whole cause chain: what failed and why.
            eprintln!("tracevis: error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `export -o -` writes the file to standard output, `token create` the
    // token: keep logs off it.
    let log_writer = if matches!(
        cli.command,
        Command::Export { .. } | Command::Token { .. } | Command::User { .. }
    ) {
        BoxMakeWriter::new(std::io::stderr)
    } else {
        BoxMakeWriter::new(std::io::stdout)
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(log_writer)
        .init();
    match cli.command {
        Command::Serve {
            addr,
            database_url,
            config,
            seed_demo,
            auth,
        } => {
            let mut config = Config::load(&config)?;
            if let Some(auth) = auth {
                config.auth = auth;
            }
            if let Some(addr) = addr {
                config.addr = addr;
            }
            if let Some(url) = database_url {
                config.database_url = url;
            }
            serve(config, seed_demo).await
        }
        Command::Import { files, db } => files::import_files(&db.open_service().await?, &files).await,
        Command::Export {
            execution_id,
            format,
            output,
            db,
        } => files::export_file(&db.open_service().await?, &execution_id, format, &output).await,
        Command::Token { command, db } => access::cli::token(&db.open_access().await?, command).await,
        Command::User { command, db } => access::cli::user(&db.open_access().await?, command).await,
        Command::Check { db } => {
            let differences = db.open_service().await?.check_run_aggregates().await?;
            for difference in &differences {
                println!("{difference}");
            }
            anyhow::ensure!(
                differences.is_empty(),
                "{} aggregate rows differ from a recount",
                differences.len()
            );
            println!("the run aggregates equal a recount from the stored runs");
            Ok(())
        }
        Command::Demo(args) => demo::run(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::BenchLive(args) => bench_live::run(args).await,
    }
}

async fn serve(config: Config, seed_demo: bool) -> anyhow::Result<()> {
    info!(?config, "starting tracevis");
    let mut gate_settings = config.gate_settings()?;
    let limits = config.limits()?;
    let (store, access_store, alert_store) = store::open_all(&config.database_url).await?;
    let quiet_after = std::time::Duration::from_secs(config.otlp_quiet_secs.max(1));
    let service = TraceService::new(store)
        .with_quiet_after(quiet_after)
        .with_alerts(tracevis::alerts::Alerts {
            store: alert_store.clone(),
            allow_private: config.allow_private_webhooks,
        });
    // Checked often enough that a run is failed within a tenth of its quiet time.
    tracevis::service::otel::spawn_quiet_sweep(
        service.clone(),
        (quiet_after / 10).clamp(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(60),
        ),
    );
    if config.database_url.starts_with("postgres") {
        tracevis::service::relay::spawn_relay(config.database_url.clone(), service.clone());
    }
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    let addr = listener.local_addr()?;
    // Alerts: the outbox is delivered by every instance side by side; trend
    // rules are evaluated periodically.
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    tracevis::alerts::delivery::spawn(
        alert_store.clone(),
        tracevis::alerts::delivery::DeliverySettings::new(public_url, config.allow_private_webhooks),
    );
    tracevis::alerts::baseline::spawn(
        alert_store,
        std::time::Duration::from_secs(config.baseline_interval_secs.max(1)),
    );
    if seed_demo {
        // Seeding posts through this server's own API; when sign-in is
        // required it needs a credential: the admin token if set, else one
        // made for this process only (never stored or shown).
        let token = gate_settings.admin_token.clone().or_else(|| {
            gate_settings.required.then(|| {
                let token = access::new_token(access::Scope::Admin).0;
                gate_settings.admin_token = Some(token.clone());
                token
            })
        });
        demo::seed_if_empty(service.clone(), addr, token);
    }
    {
        // Runs stored before the search index existed become searchable
        // in the background; new records are indexed as they are written.
        let service = service.clone();
        tokio::spawn(async move {
            match service.backfill_search(SEARCH_BACKFILL_CHUNK).await {
                Ok(0) => {}
                Ok(n) => info!("search: indexed {n} runs stored before search existed"),
                Err(e) => {
                    tracing::warn!(error = %e, "search: indexing earlier runs failed; restart to retry")
                }
            }
        });
    }
    if let Some(days) = config.retention_days {
        let max_age = std::time::Duration::try_from_secs_f64(days * 86_400.0)
            .context("retention_days must be a non-negative number")?;
        retention::spawn(
            service.clone(),
            max_age,
            std::time::Duration::from_secs(config.retention_interval_secs.max(1)),
        );
        info!(
            "retention: runs older than {days} days are deleted every {} s",
            config.retention_interval_secs
        );
    }
    let (required, why) = config.auth.resolve(config.addr);
    if required {
        info!("sign-in required: {why}");
        if config.admin_token.is_none()
            && access_store.list_tokens().await?.is_empty()
            && access_store.list_users().await?.is_empty()
        {
            tracing::warn!(
                "no tokens and no people yet: create the first admin with `tracevis user add NAME --role admin` and producer tokens with `tracevis token create --name NAME --scope ingest`"
            );
        }
    } else {
        info!("sign-in not required: {why}");
    }
    info!("tracevis listening on http://{addr}");
    let gate = access::Gate::new(gate_settings, access_store);
    let router = web::router(service, gate, limits, &config.site_root);
    web::serve(listener, router).await
}
