//! `cosell serve`: bind the port, migrate (unless told not to), then serve until SIGINT or
//! SIGTERM.

use std::time::Duration;

use anyhow::Context;
use cosell_api::clock::Clock;
use cosell_api::{ApiConfig, AppState, JwtKeys};
use cosell_store::Store;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;

use crate::settings::{AUDIENCE, ISSUER, ServeSettings, StorageSettings, stored_secret};

/// Checks the signing secrets given and returns the previous ones to accept. Each is at
/// least 32 bytes: a previous secret verifies tokens as the current one does, so a short
/// one is as weak, and an empty one would verify tokens anyone can sign with the empty
/// key. Empty entries (an empty variable, a stray comma) name no secret and are left out.
fn checked_secrets(settings: &ServeSettings) -> anyhow::Result<Vec<SecretString>> {
    if let Some(secret) = &settings.jwt_secret {
        anyhow::ensure!(
            secret.expose_secret().len() >= 32,
            "COSELL_JWT_SECRET must be at least 32 bytes"
        );
    }
    let previous: Vec<SecretString> = settings
        .jwt_previous_secrets
        .iter()
        .filter(|secret| !secret.expose_secret().is_empty())
        .cloned()
        .collect();
    for (n, secret) in previous.iter().enumerate() {
        anyhow::ensure!(
            secret.expose_secret().len() >= 32,
            "COSELL_JWT_PREVIOUS_SECRETS: secret {} of {} is shorter than 32 bytes",
            n + 1,
            previous.len()
        );
    }
    Ok(previous)
}

pub async fn run(storage: &StorageSettings, settings: ServeSettings) -> anyhow::Result<()> {
    // Before the database is touched: a refused configuration changes nothing.
    let previous_secrets = checked_secrets(&settings)?;
    // Bound before the database is opened and migrated, so a port in use is refused at
    // once, with nothing created or migrated. Connections that arrive meanwhile wait in
    // the backlog until serving starts.
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let store = if settings.no_migrate {
        let store = Store::connect(&storage.database_url()?)
            .await
            .context("cannot connect to the database")?;
        let pending = store.pending_migrations().await;
        if !matches!(pending, Ok(0)) {
            // Closed as every command closes it: the refusal leaves no write-ahead log.
            super::close(&store).await;
            let pending = pending?;
            anyhow::bail!(
                "the database schema is {pending} migration(s) behind; run `cosell migrate` first"
            );
        }
        store
    } else {
        super::open_store(storage).await?
    };
    // Closed however serving ends, a refusal after opening (an unreadable signing
    // secret…) included: SQLite's write-ahead log is moved into the database file, which
    // then holds everything.
    super::closing(
        &store,
        serve(storage, settings, previous_secrets, store.clone(), listener),
    )
    .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Serves on the opened `store` through the bound `listener` until SIGINT or SIGTERM; the
/// caller closes the store.
async fn serve(
    storage: &StorageSettings,
    settings: ServeSettings,
    previous_secrets: Vec<SecretString>,
    store: Store,
    listener: TcpListener,
) -> anyhow::Result<()> {
    let secret = match settings.jwt_secret.clone() {
        Some(secret) => secret,
        None => stored_secret(&storage.data_dir)?,
    };
    let jwt = JwtKeys::new(
        &secret,
        &previous_secrets,
        ISSUER,
        AUDIENCE,
        settings.token_ttl_seconds,
    );
    let config = ApiConfig {
        max_body_bytes: settings.max_body_bytes,
        request_timeout: settings.request_timeout(),
        recommender: settings.recommendations.recommender(),
        plugins: settings.plugins.host_config(&storage.data_dir),
        plugin_fit: settings.plugin_fit.fit(),
        clock: Clock::default(),
    };
    let state = AppState::new(store.clone(), jwt, config);
    // A plugin that fails to load is logged and listed by GET /v1/plugins; serving goes on.
    let loaded = cosell_api::plugins::load_all(&store, state.plugins())
        .await
        .context("cannot read plugin registrations")?;
    let failed = state.plugins().load_errors().len();
    tracing::info!(loaded, failed, "plugins loaded");
    // Loaded plugins start unfitted: fitted now in the background, then on schedule.
    let fits = cosell_api::plugins::fit::spawn_fits(
        state.store().clone(),
        state.plugins().clone(),
        settings.plugin_fit_interval(),
        settings.plugin_fit.fit(),
    );
    let reco = &settings.recommendations;
    let rebuilds = cosell_api::reco::spawn_model_rebuilds(
        store,
        state.model().clone(),
        Duration::from_secs(reco.model_rebuild_seconds.max(1)),
        reco.model_min_support,
    );
    let app = cosell_api::app(state.clone());
    // The address bound, which names the port the system chose for `--listen …:0`.
    let address = listener.local_addr().unwrap_or(settings.listen);
    tracing::info!(%address, "cosell is serving; API docs at /docs");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    rebuilds.abort();
    fits.abort();
    // Requests have finished; write the impressions their answers recorded (before the
    // caller closes the database).
    state.impressions().flush().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
