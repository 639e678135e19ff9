//! Typed settings: defaults, then `COSELL_…`/`DATABASE_URL` environment variables, then flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use secrecy::SecretString;

/// Where Cosell keeps its data and which database it uses.
#[derive(Debug, Args)]
pub struct StorageSettings {
    /// Directory for the embedded SQLite database, the signing secret and installed plugins.
    #[arg(long, env = "COSELL_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Database URL; default: a SQLite file in the data directory. Use postgres://… for PostgreSQL.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
}

impl StorageSettings {
    /// Refuses, with a plain message, when the default SQLite database does not exist:
    /// for the commands that work on existing data (`settle`, `import`, `plugin`), where a
    /// mistyped `--data-dir` would otherwise create an empty database and report success
    /// on it. Only `serve`, `migrate` and the bootstrap commands (`partner create`,
    /// `api-key create`) create the database. A `DATABASE_URL` is taken as given.
    pub fn require_existing_database(&self) -> anyhow::Result<()> {
        let file = self.data_dir.join("cosell.db");
        if self.database_url.is_none() && !file.is_file() {
            anyhow::bail!(
                "no database at {}: check --data-dir (or COSELL_DATA_DIR), or create it with `cosell migrate`",
                file.display()
            );
        }
        Ok(())
    }

    /// Creates the data directory if needed and returns the database URL to use. The
    /// directory and the default SQLite file are created private to the server's user
    /// (0700 and 0600 on Unix), like the signing secret beside them: the database holds
    /// API key hashes, customers and the ledger. SQLite gives its journal files the
    /// database file's mode.
    pub fn database_url(&self) -> anyhow::Result<String> {
        create_private_dir(&self.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                self.data_dir.display()
            )
        })?;
        Ok(match &self.database_url {
            Some(url) => url.clone(),
            None => {
                let file = self.data_dir.join("cosell.db");
                create_private_file(&file)
                    .with_context(|| format!("cannot create the database {}", file.display()))?;
                format!("sqlite://{}?mode=rwc", file.display())
            }
        })
    }
}

/// How `cosell serve` listens and signs tokens.
#[derive(Debug, Args)]
pub struct ServeSettings {
    /// Address to listen on.
    #[arg(long, env = "COSELL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// HS256 signing secret for tokens (at least 32 bytes). Default: generated on first start
    /// and kept in `<data-dir>/jwt-secret` with 0600 permissions.
    #[arg(long, env = "COSELL_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,

    /// Earlier signing secrets, comma-separated, still accepted until their tokens expire.
    #[arg(
        long,
        env = "COSELL_JWT_PREVIOUS_SECRETS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub jwt_previous_secrets: Vec<SecretString>,

    /// Lifetime of issued tokens, in seconds (at least 1: a token must not be born expired).
    #[arg(
        long,
        env = "COSELL_TOKEN_TTL_SECONDS",
        default_value_t = 900,
        value_parser = clap::value_parser!(i64).range(1..)
    )]
    pub token_ttl_seconds: i64,

    /// Largest request body accepted, in bytes (at least 1: 0 would refuse every body).
    #[arg(
        long,
        env = "COSELL_MAX_BODY_BYTES",
        default_value_t = 2 * 1024 * 1024,
        value_parser = at_least_one_usize()
    )]
    pub max_body_bytes: usize,

    /// Longest a request may run before it is answered 408, in seconds (at least 1: 0
    /// would answer 408 to every request that waits on anything).
    #[arg(
        long,
        env = "COSELL_REQUEST_TIMEOUT_SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub request_timeout_seconds: u64,

    /// Do not apply pending migrations on start; refuse to serve a schema that is behind
    /// (for deployments that run `cosell migrate` as a release step). The variable takes
    /// 1/0, true/false, yes/no or on/off.
    #[arg(long, env = "COSELL_NO_MIGRATE", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_migrate: bool,

    #[command(flatten)]
    pub recommendations: RecommendationSettings,

    #[command(flatten)]
    pub plugins: PluginSettings,

    #[command(flatten)]
    pub plugin_fit: PluginFitSettings,

    /// Seconds between scheduled fits of attribution plugins on recent journeys (they
    /// are also fitted at start-up, on install, enable and reconfiguration); 0: no
    /// schedule.
    #[arg(
        long,
        env = "COSELL_PLUGIN_FIT_INTERVAL_SECONDS",
        default_value_t = 3600
    )]
    pub plugin_fit_interval_seconds: u64,
}

/// How recommendations guard customers and how often their model is rebuilt.
#[derive(Debug, Args)]
pub struct RecommendationSettings {
    /// Seconds between rebuilds of the co-purchase model from imported baskets and recorded
    /// conversions (a rebuild runs in the background, only when either grew; requests keep
    /// using the previous model meanwhile).
    #[arg(long, env = "COSELL_MODEL_REBUILD_SECONDS", default_value_t = 300)]
    pub model_rebuild_seconds: u64,

    /// Baskets an item or a pair must appear in to count as bought together (at least 1).
    #[arg(long, env = "COSELL_MODEL_MIN_SUPPORT", default_value = "10")]
    pub model_min_support: cosell_reco::MinSupport,

    /// Most recommendations shown to one customer in 7 days.
    #[arg(long, env = "COSELL_CONTACT_CAP", default_value_t = 3)]
    pub contact_cap: u32,

    /// Customers returning more than this share of purchases are not pitched (0 to 1,
    /// as a profile's return rate is).
    #[arg(
        long,
        env = "COSELL_RETURN_RATE_THRESHOLD",
        default_value_t = 0.3,
        value_parser = share
    )]
    pub return_rate_threshold: f64,
}

impl RecommendationSettings {
    /// The recommender's guardrails, other knobs at their defaults.
    pub fn recommender(&self) -> cosell_reco::RecommenderConfig {
        cosell_reco::RecommenderConfig {
            contact_cap: self.contact_cap,
            return_rate_threshold: self.return_rate_threshold,
            ..cosell_reco::RecommenderConfig::default()
        }
    }
}

/// Limits on native plugin calls; plugins live in `<data-dir>/plugins/`.
#[derive(Debug, Args)]
pub struct PluginSettings {
    /// Longest an attribution or commission call to a plugin may take, in milliseconds
    /// (at least 1: 0 would time every call out and quarantine the plugin).
    #[arg(
        long,
        env = "COSELL_PLUGIN_CALL_TIMEOUT_MS",
        default_value_t = 250,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub plugin_call_timeout_ms: u64,

    /// Longest a plugin's `init`, `fit` or catalog contribution may take, in seconds (at
    /// least 1: 0 would refuse every install).
    #[arg(
        long,
        env = "COSELL_PLUGIN_SLOW_CALL_TIMEOUT_SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub plugin_slow_call_timeout_seconds: u64,

    /// Calls to one plugin running at once.
    #[arg(long, env = "COSELL_PLUGIN_MAX_CONCURRENT_CALLS", default_value_t = 4)]
    pub plugin_max_concurrent_calls: usize,

    /// Largest request or response exchanged with a plugin, in bytes of JSON (at least 1:
    /// 0 would refuse every call as too large).
    #[arg(
        long,
        env = "COSELL_PLUGIN_MAX_PAYLOAD_BYTES",
        default_value_t = 4 << 20,
        value_parser = at_least_one_usize()
    )]
    pub plugin_max_payload_bytes: usize,

    /// Consecutive failed calls after which a plugin is quarantined until re-enabled.
    #[arg(long, env = "COSELL_PLUGIN_FAILURE_THRESHOLD", default_value_t = 5)]
    pub plugin_failure_threshold: u32,
}

impl PluginSettings {
    /// The plugin host's configuration, storing plugins under `data_dir`.
    pub fn host_config(&self, data_dir: &Path) -> cosell_plugin_host::HostConfig {
        cosell_plugin_host::HostConfig {
            call_timeout: Duration::from_millis(self.plugin_call_timeout_ms),
            slow_call_timeout: Duration::from_secs(self.plugin_slow_call_timeout_seconds),
            max_concurrent_calls: self.plugin_max_concurrent_calls.max(1),
            max_payload_bytes: self.plugin_max_payload_bytes,
            failure_threshold: self.plugin_failure_threshold.max(1),
            ..cosell_plugin_host::HostConfig::new(data_dir)
        }
    }
}

/// Which journeys attribution plugins are fitted on.
#[derive(Debug, Args)]
pub struct PluginFitSettings {
    /// A fit sees the customers touched in this many days before it.
    #[arg(long, env = "COSELL_PLUGIN_FIT_WINDOW_DAYS", default_value_t = 30)]
    pub plugin_fit_window_days: u32,

    /// Most journeys in one fit: those of the most recently touched customers.
    #[arg(long, env = "COSELL_PLUGIN_FIT_MAX_JOURNEYS", default_value_t = 20_000)]
    pub plugin_fit_max_journeys: u64,
}

impl PluginFitSettings {
    pub fn fit(&self) -> cosell_api::plugins::fit::FitSettings {
        cosell_api::plugins::fit::FitSettings {
            window: chrono::TimeDelta::days(i64::from(self.plugin_fit_window_days.max(1))),
            max_journeys: self.plugin_fit_max_journeys.max(1),
        }
    }
}

impl ServeSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    /// How often attribution plugins are refitted, if on a schedule.
    pub fn plugin_fit_interval(&self) -> Option<Duration> {
        (self.plugin_fit_interval_seconds > 0)
            .then(|| Duration::from_secs(self.plugin_fit_interval_seconds))
    }
}

/// A share from 0 to 1: a threshold above 1 (or NaN) would silently turn the guardrail
/// off, and one below 0 would suppress every customer.
fn share(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("expected a number from 0 to 1, not `{text}`"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be from 0 to 1, got {text}"))
    }
}

/// A `usize` of 1 or more, for limits at which 0 would refuse everything.
fn at_least_one_usize() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

/// Token issuer and audience: fixed, so tokens from another system are never accepted.
pub const ISSUER: &str = "cosell";
pub const AUDIENCE: &str = "cosell-api";

/// Reads the signing secret from `<data_dir>/jwt-secret`, generating it on first start.
/// The file is created with 0600 permissions and its content is never logged.
pub fn stored_secret(data_dir: &Path) -> anyhow::Result<SecretString> {
    let path = data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let trimmed = existing.trim();
        anyhow::ensure!(
            trimmed.len() >= 32,
            "{} holds a secret shorter than 32 characters",
            path.display()
        );
        return Ok(SecretString::from(trimmed.to_owned()));
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let secret = hex::encode(bytes);
    write_private(&path, &secret)
        .with_context(|| format!("cannot write the signing secret to {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a new token signing secret");
    Ok(SecretString::from(secret))
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

/// Creates `path` and its missing parents, 0700 on Unix; an existing directory is kept as is.
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Creates `path` empty, 0600 on Unix, unless it exists (its content and mode are kept).
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}
