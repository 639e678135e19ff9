//! `cosell`: the server and its operator commands.

mod commands;
mod settings;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use settings::StorageSettings;

/// mimalloc instead of the system allocator: the store allocates and frees many small
/// values per row, and glibc's malloc spent a quarter of a bulk import's CPU time on
/// them (perf, docs/benchmarks.md); serving allocates per request the same way. Its
/// `override` feature (SQLite's `malloc` too) made bulk loads faster but raised the
/// recommendation endpoint's p99 from 3 ms to over 20 ms, so C code keeps glibc's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Cosell: co-selling between partner businesses.
#[derive(Debug, Parser)]
#[command(name = "cosell", version, about)]
struct Cli {
    #[command(flatten)]
    storage: StorageSettings,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API (binds its port, then applies pending migrations unless
    /// --no-migrate).
    Serve(settings::ServeSettings),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage partners.
    #[command(subcommand)]
    Partner(commands::partner::PartnerCommand),
    /// Manage API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(commands::api_key::ApiKeyCommand),
    /// Install and manage native plugins.
    Plugin(commands::plugin::PluginArgs),
    /// Print the OpenAPI document.
    Openapi,
    /// Settle commissions payable by the end of a day into statements.
    Settle(commands::settle::SettleArgs),
    /// Import data.
    #[command(subcommand)]
    Import(commands::import::ImportCommand),
    /// Measure quality offline.
    #[command(subcommand)]
    Eval(commands::eval::EvalCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs its progress; one-shot commands print their result and stay quiet
    // unless something is wrong.
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info,sqlx=warn"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Everything the command does is awaited by now. A plugin call that outlived its
    // timeout may still be running on a blocking thread, and dropping the runtime would
    // wait for it (for as long as the plugin likes); its outcome was reported already.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", report(&error));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(settings) => commands::serve::run(&cli.storage, settings).await,
        Command::Migrate => commands::migrate(&cli.storage).await,
        Command::Partner(cmd) => commands::partner::run(&cli.storage, cmd).await,
        Command::ApiKey(cmd) => commands::api_key::run(&cli.storage, cmd).await,
        Command::Plugin(args) => commands::plugin::run(&cli.storage, args).await,
        Command::Openapi => commands::print_openapi(),
        Command::Settle(args) => commands::settle::run(&cli.storage, args).await,
        Command::Import(cmd) => commands::import::run(&cli.storage, cmd).await,
        Command::Eval(cmd) => commands::eval::run(cmd),
    }
}

/// The error and its causes, each said once. Most error messages already end with
/// their cause (ours, so that an API problem's `detail` is complete, and sea-orm's and
/// sqlx's too), so `{:#}`, which appends every cause again, said each twice; a cause
/// is appended only when the message so far does not already contain it.
fn report(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::{Cli, report};

    /// Every flag and argument `--help` shows, as `command path: name`, that has no help
    /// line, in this command and every subcommand below it.
    fn undescribed(command: &clap::Command, path: &str, found: &mut Vec<String>) {
        for arg in command.get_arguments().filter(|arg| !arg.is_hide_set()) {
            if arg.get_help().is_none() {
                found.push(format!("{path}: {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
            if sub.get_about().is_none() {
                found.push(format!("{path} {} (the command itself)", sub.get_name()));
            }
            undescribed(sub, &format!("{path} {}", sub.get_name()), found);
        }
    }

    #[test]
    fn every_flag_and_command_has_a_help_line() {
        let mut found = Vec::new();
        undescribed(&Cli::command(), "cosell", &mut found);
        assert!(found.is_empty(), "without help text: {found:#?}");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("cannot access plugin file /nonexistent: {0}")]
    struct SaysItsCause(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("mining stopped")]
    struct HidesItsCause(#[source] std::io::Error);

    fn missing() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::NotFound)
    }

    #[test]
    fn each_cause_is_reported_once() {
        let error = anyhow::Error::new(SaysItsCause(missing())).context("installing failed");
        assert_eq!(
            report(&error),
            "installing failed: cannot access plugin file /nonexistent: entity not found"
        );
        // A cause the message does not mention is still reported.
        let error = anyhow::Error::new(HidesItsCause(missing()));
        assert_eq!(report(&error), "mining stopped: entity not found");
    }
}
