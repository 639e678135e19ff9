//! Who is calling: an operator of the platform or one partner.

use serde::{Deserialize, Serialize};

/// The role an API key carries into its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the platform: manages partners, sees every tenant's data.
    Operator,
    /// Acts for one partner, on its own data only.
    Partner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Partner => "partner",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "operator" => Some(Role::Operator),
            "partner" => Some(Role::Partner),
            _ => None,
        }
    }
}
