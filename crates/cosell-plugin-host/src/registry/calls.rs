//! `PluginRegistry`'s capability calls and the guard every call goes through.

use super::{Entry, PluginId, PluginRegistry, joined_error};
use crate::error::CallError;
use crate::monitor::{FitOutcome, FitRecord, PluginState};
use crate::validate;
use cosell_plugin_abi::json::{self, Message};
use cosell_plugin_abi::{
    AttributeRequest, AttributeResponse, Capability, CatalogContribution, CatalogRequest,
    CommissionRequest, CommissionResponse, FitRequest, FitResponse, error_code, method,
};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

impl PluginRegistry {
    /// Asks an attribution plugin for weights; they are validated (non-negative,
    /// eligible partners only, summing to 1) before being returned.
    pub async fn call_attribution(
        &self,
        id: &PluginId,
        request: &AttributeRequest,
    ) -> Result<AttributeResponse, CallError> {
        let tolerance = self.config.weight_tolerance;
        let check =
            |response: &AttributeResponse| validate::attribution(request, response, tolerance);
        let call = Call::new(id, Capability::Attribution, method::ATTRIBUTION_ATTRIBUTE);
        self.call(call, request, self.config.call_timeout, check)
            .await
    }

    /// Fits an attribution plugin on journeys. `Ok(None)` when the model has no fit
    /// step. A fit that reached the plugin (or was too large to send) is kept as the
    /// plugin's `last_fit`.
    pub async fn fit(
        &self,
        id: &PluginId,
        request: &FitRequest,
    ) -> Result<Option<FitResponse>, CallError> {
        // `fit` is optional: a model without one is not failing. It has the plugin
        // to itself.
        let call = Call {
            optional: true,
            exclusive: true,
            ..Call::new(id, Capability::Attribution, method::ATTRIBUTION_FIT)
        };
        let started = Instant::now();
        let result = match self
            .call(
                call,
                request,
                self.config.slow_call_timeout,
                |_: &FitResponse| Ok(()),
            )
            .await
        {
            Err(CallError::Plugin(body)) if body.code == error_code::UNSUPPORTED => Ok(None),
            other => other.map(Some),
        };
        let outcome = match &result {
            Ok(Some(fitted)) => FitOutcome::Fitted {
                journeys: fitted.journeys,
                partners: fitted.partners,
            },
            Ok(None) => FitOutcome::Unsupported,
            Err(error)
                if error.is_plugin_failure()
                    || matches!(error, CallError::PayloadTooLarge { .. }) =>
            {
                FitOutcome::Failed(error.to_string())
            }
            // Refused before reaching the plugin (disabled, quarantined…): no fit happened.
            Err(_) => return result,
        };
        if let Ok(entry) = self.entry(id) {
            entry.monitor().record_fit(FitRecord {
                at: SystemTime::now(),
                took: started.elapsed(),
                outcome,
            });
        }
        result
    }

    /// Asks a commission plugin for lines; they are validated (non-negative,
    /// same currency, no more than the amount credited to the partner) before
    /// being returned.
    pub async fn call_commission(
        &self,
        id: &PluginId,
        request: &CommissionRequest,
    ) -> Result<CommissionResponse, CallError> {
        let check = |response: &CommissionResponse| validate::commission(request, response);
        let call = Call::new(id, Capability::Commission, method::COMMISSION_COMPUTE);
        self.call(call, request, self.config.call_timeout, check)
            .await
    }

    /// Asks a catalog plugin for its contribution; refused whole if any row is invalid.
    pub async fn call_catalog(
        &self,
        id: &PluginId,
        request: &CatalogRequest,
    ) -> Result<CatalogContribution, CallError> {
        let call = Call::new(id, Capability::Catalog, method::CATALOG_CONTRIBUTE);
        self.call(
            call,
            request,
            self.config.slow_call_timeout,
            validate::catalog,
        )
        .await
    }

    /// The guarded call: state and capability checks, payload limit, blocking
    /// pool, concurrency limit, timeout, decoding, validation, statistics and breaker.
    async fn call<Req: Message, Resp: Message + Send + 'static>(
        &self,
        call: Call<'_>,
        request: &Req,
        timeout: Duration,
        check: impl FnOnce(&Resp) -> Result<(), String>,
    ) -> Result<Resp, CallError> {
        let entry = self.entry(call.id)?;
        check_callable(&entry, call.capability)?;
        let input = json::encode(request).map_err(|e| CallError::InvalidOutput(e.to_string()))?;
        let limit = self.config.max_payload_bytes;
        if input.len() > limit {
            return Err(CallError::PayloadTooLarge {
                size: input.len(),
                limit,
            });
        }
        let turn = take_turn(&entry, call.exclusive, timeout).await?;
        let started = Instant::now();
        let run = async {
            let permit = Arc::clone(&entry.slots)
                .acquire_owned()
                .await
                .map_err(|_| CallError::InvalidOutput("plugin call slots are closed".into()))?;
            let (transport, method) = (Arc::clone(&entry.transport), call.method);
            // The permit and the turn move into the thread: a timed-out call keeps its
            // slot until the plugin really returns, so hung calls cannot pile up, and a
            // fit does not start under a call still running.
            let joined = tokio::task::spawn_blocking(move || {
                let _held = (permit, turn);
                let bytes = transport.call(method, &input, limit)?;
                json::decode::<Resp>(&bytes).map_err(|e| CallError::InvalidOutput(e.to_string()))
            })
            .await;
            joined.unwrap_or_else(|e| Err(joined_error(e)))
        };
        let result = match tokio::time::timeout(timeout, run).await {
            Ok(result) => result.and_then(|response| {
                check(&response).map_err(CallError::InvalidOutput)?;
                Ok(response)
            }),
            Err(_) => Err(CallError::Timeout(timeout)),
        };
        self.record(&entry, call.optional, started.elapsed(), &result);
        result
    }

    fn record<T>(
        &self,
        entry: &Entry,
        optional: bool,
        took: Duration,
        result: &Result<T, CallError>,
    ) {
        let failure = match result {
            // An optional method the plugin does not have: neither a success
            // nor a failure, so it leaves the statistics and breaker alone.
            Err(CallError::Plugin(body)) if optional && body.code == error_code::UNSUPPORTED => {
                return;
            }
            Err(error) if error.is_plugin_failure() => Some(error.to_string()),
            _ => None,
        };
        let tripped =
            entry
                .monitor()
                .record(took, failure.as_deref(), self.config.failure_threshold);
        if let Some(reason) = failure {
            tracing::warn!(plugin = %entry.info.manifest.name, id = %entry.info.id, %reason, "plugin call failed");
        }
        if tripped {
            tracing::error!(plugin = %entry.info.manifest.name, id = %entry.info.id, "plugin quarantined after repeated failures; re-enable it once fixed");
        }
    }
}

/// Which plugin method a guarded call is for.
struct Call<'a> {
    id: &'a PluginId,
    capability: Capability,
    method: &'static str,
    /// The method may answer `unsupported` without that counting as a failure.
    optional: bool,
    /// The method needs the plugin to itself (`fit`).
    exclusive: bool,
}

impl<'a> Call<'a> {
    fn new(id: &'a PluginId, capability: Capability, method: &'static str) -> Self {
        Self {
            id,
            capability,
            method,
            optional: false,
            exclusive: false,
        }
    }
}

/// A call's hold on the plugin, released when the plugin returns.
#[expect(dead_code, reason = "the guards are held for their Drop")]
enum Turn {
    Shared(tokio::sync::OwnedRwLockReadGuard<()>),
    Exclusive(tokio::sync::OwnedRwLockWriteGuard<()>),
}

/// Waits up to `timeout` for a shared (calls) or exclusive (`fit`) turn.
async fn take_turn(entry: &Entry, exclusive: bool, timeout: Duration) -> Result<Turn, CallError> {
    let turns = Arc::clone(&entry.turns);
    let waiting = async move {
        if exclusive {
            Turn::Exclusive(turns.write_owned().await)
        } else {
            Turn::Shared(turns.read_owned().await)
        }
    };
    tokio::time::timeout(timeout, waiting)
        .await
        .map_err(|_| CallError::Busy {
            id: entry.info.id.clone(),
            waited: timeout,
        })
}

fn check_callable(entry: &Entry, capability: Capability) -> Result<(), CallError> {
    let id = entry.info.id.clone();
    match entry.monitor().state() {
        PluginState::Enabled => {}
        PluginState::Disabled => return Err(CallError::Disabled(id)),
        PluginState::Quarantined { reason } => {
            return Err(CallError::Quarantined {
                id,
                reason: reason.clone(),
            });
        }
    }
    let info = &entry.info;
    if info.granted.contains(&capability) && info.manifest.capabilities.contains(&capability) {
        Ok(())
    } else {
        Err(CallError::NoCapability { id, capability })
    }
}
