//! End-to-end tests: the real router and a real database (SQLite, or PostgreSQL when
//! `COSELL_TEST_DATABASE_URL` is set). One binary, one module per area.

// A test binary reports failure by panicking: helpers unwrap freely.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sales;
mod support;

// Shared with the plugin host's tests: builds the plugin cdylibs from the workspace.
#[path = "../../crates/cosell-plugin-host/tests/support/build_plugins.rs"]
mod build_plugins;

mod auth;
mod bundles;
mod conversion_import;
mod conversions;
mod customers;
mod ended_partnerships;
mod error_codes;
mod errors;
mod explanations;
mod idempotency;
mod isolation;
mod journal;
mod offers;
mod openapi;
mod partners;
mod partnerships;
mod plugin_hooks;
mod plugins;
mod products;
mod recommendations;
mod relations;
mod roles;
mod settlement;
mod tracking;
mod tracking_links;
mod unchanged_writes;
