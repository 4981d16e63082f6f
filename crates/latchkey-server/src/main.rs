//! `latchkey`: the command line. Parses arguments, loads configuration, sets up logging and
//! hands over to the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use latchkey_config::{Config, Loaded};
use latchkey_core::{Secret, SystemClock};
use latchkey_server::{Application, Dependencies};

/// Sign in with Google (and other providers) for single-page apps, with short-lived JWT access
/// tokens and rotating refresh tokens.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version)]
struct Cli {
    /// A TOML configuration file (else $LATCHKEY_CONFIG, else none). Environment variables
    /// LATCHKEY_* override it; see `latchkey print-config`.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Print a commented example configuration file.
    PrintConfig,
    /// Run the dev identity provider, a local stand-in for Google. Refuses to start when
    /// LATCHKEY_ENV=production.
    DevIdp(DevIdpArgs),
}

#[derive(Debug, clap::Args)]
struct DevIdpArgs {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:9099")]
    listen: SocketAddr,
    /// The OAuth client id it accepts.
    #[arg(
        long,
        env = "LATCHKEY_DEV_IDP_CLIENT_ID",
        default_value = "latchkey-dev-client"
    )]
    client_id: String,
    /// The client secret it accepts.
    #[arg(
        long,
        env = "LATCHKEY_DEV_IDP_CLIENT_SECRET",
        default_value = "latchkey-dev-secret"
    )]
    client_secret: String,
    /// Approve sign-ins that carry a login_hint without showing the page.
    #[arg(long)]
    auto_approve: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("latchkey: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latchkey: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::PrintConfig => {
            print!("{}", latchkey_config::example_toml());
            Ok(())
        }
        Command::DevIdp(args) => dev_idp(args).await,
        Command::Migrate => {
            let config = load(cli.config.as_deref())?;
            latchkey_store::migrate(config.database_url().expose())
                .await
                .context("migrating the database")?;
            tracing::info!("database is up to date");
            Ok(())
        }
        Command::Serve => {
            let config = load(cli.config.as_deref())?;
            let app = Application::build(&config, Dependencies::default()).await?;
            tracing::info!(address = %app.local_addr()?, issuer = %config.issuer, "latchkey is serving");
            app.run_until_stopped().await?;
            Ok(())
        }
    }
}

/// Loads the configuration and starts logging with its filter; reports unknown variables.
fn load(config_file: Option<&std::path::Path>) -> anyhow::Result<Config> {
    let Loaded {
        config, warnings, ..
    } = Config::from_process_env(config_file)?;
    init_tracing(&config.log);
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    Ok(config)
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr; stdout is for output such as `print-config`. A second call (never
    // made) would fail harmlessly.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn dev_idp(args: DevIdpArgs) -> anyhow::Result<()> {
    latchkey_dev_idp::refuse_in_production(std::env::var("LATCHKEY_ENV").ok().as_deref())?;
    init_tracing("info");
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let config = latchkey_dev_idp::DevIdpConfig {
        client_id: args.client_id,
        client_secret: Secret::new(args.client_secret),
        auto_approve: args.auto_approve,
        ..latchkey_dev_idp::DevIdpConfig::default()
    };
    let handle = latchkey_dev_idp::spawn(config, listener, Arc::new(SystemClock)).await?;
    println!(
        "dev identity provider on {} (discovery: {})",
        handle.base_url(),
        handle.discovery_url()
    );
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
