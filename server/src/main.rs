//! `tracevis`: the server (`serve`), import and export of runs, the demo
//! producer (`demo`) and the benchmarks (`bench`, `bench-live`).

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use tracevis::config::Config;
use tracevis::export::files;
use tracevis::service::TraceService;
use tracevis::{bench, bench_live, demo, retention, store, web};
use tracing::info;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::EnvFilter;

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
    #[arg(long)]
    database_url: Option<String>,
    /// Optional TOML configuration file.
    #[arg(long, env = "TRACEVIS_CONFIG", default_value = "tracevis.toml")]
    config: PathBuf,
}

impl DatabaseArgs {
    async fn open_service(self) -> anyhow::Result<TraceService> {
        let config = Config::load(&self.config)?;
        let url = self.database_url.unwrap_or(config.database_url);
        Ok(TraceService::new(store::open(&url).await?))
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
    // `export -o -` writes the file to standard output: keep logs off it.
    let log_writer = if matches!(cli.command, Command::Export { .. }) {
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
        } => {
            let mut config = Config::load(&config)?;
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
        Command::Demo(args) => demo::run(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::BenchLive(args) => bench_live::run(args).await,
    }
}

async fn serve(config: Config, seed_demo: bool) -> anyhow::Result<()> {
    info!(?config, "starting tracevis");
    let store = store::open(&config.database_url).await?;
    let quiet_after = std::time::Duration::from_secs(config.otlp_quiet_secs.max(1));
    let service = TraceService::new(store).with_quiet_after(quiet_after);
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
    if seed_demo {
        demo::seed_if_empty(service.clone(), addr);
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
    info!("tracevis listening on http://{addr}");
    let router = web::router(service, config.max_body_bytes, &config.site_root);
    web::serve(listener, router).await
}
