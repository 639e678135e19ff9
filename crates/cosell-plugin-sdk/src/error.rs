//! The error a plugin returns, sent to the host as an `ErrorBody`.

use crate::abi::{ErrorBody, error_code};
use std::fmt;

/// Why a plugin call failed. Becomes the JSON `ErrorBody` of an `ERROR` status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginError {
    body: ErrorBody,
}

impl PluginError {
    /// A non-retryable error with a stable snake_case `code`.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            body: ErrorBody {
                code: code.to_owned(),
                message: message.into(),
                retryable: false,
            },
        }
    }

    /// Marks the error as one that may go away if the call is repeated.
    pub fn retryable(mut self) -> Self {
        self.body.retryable = true;
        self
    }

    /// The configuration is unusable.
    pub fn bad_config(message: impl Into<String>) -> Self {
        Self::new(error_code::BAD_CONFIG, message)
    }

    /// The request is unusable.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(error_code::BAD_INPUT, message)
    }

    /// The plugin failed for a reason of its own.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(error_code::INTERNAL, message)
    }

    /// The error body as sent to the host.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.body.code, self.body.message)
    }
}

impl std::error::Error for PluginError {}
