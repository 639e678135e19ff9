//! The plugin manifest, the message-API version, method names and the error body.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Version of the JSON message API (the schemas in [`crate::messages`]).
/// Minor versions only add optional fields; a major bump breaks plugins.
pub const API_VERSION: ApiVersion = ApiVersion {
    major: 1,
    minor: 0,
    patch: 0,
};

/// Method names passed to the table's `call`.
pub mod method {
    /// [`crate::CatalogRequest`] → [`crate::CatalogContribution`].
    pub const CATALOG_CONTRIBUTE: &str = "catalog.contribute";
    /// [`crate::AttributeRequest`] → [`crate::AttributeResponse`].
    pub const ATTRIBUTION_ATTRIBUTE: &str = "attribution.attribute";
    /// [`crate::FitRequest`] → [`crate::FitResponse`].
    pub const ATTRIBUTION_FIT: &str = "attribution.fit";
    /// [`crate::CommissionRequest`] → [`crate::CommissionResponse`].
    pub const COMMISSION_COMPUTE: &str = "commission.compute";
}

/// Well-known error codes in [`ErrorBody::code`]; plugins may use others.
pub mod error_code {
    /// The plugin panicked; the SDK caught it.
    pub const PANIC: &str = "panic";
    /// The configuration given to `init` was not valid for this plugin.
    pub const BAD_CONFIG: &str = "bad_config";
    /// The input JSON did not match the method's schema.
    pub const BAD_INPUT: &str = "bad_input";
    /// The method is not implemented (for example an attribution model without `fit`).
    pub const UNSUPPORTED: &str = "unsupported";
    /// `call` came before a successful `init`.
    pub const NOT_INITIALISED: &str = "not_initialised";
    /// The plugin failed for a reason of its own.
    pub const INTERNAL: &str = "internal";
    /// `init` built an instance the host no longer wanted (it had stopped waiting,
    /// see [`crate::HostApi::confirm_init`]); the previous instance stays live.
    pub const ABANDONED: &str = "abandoned";
}

/// What a plugin can do for Cosell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Contributes products and relations to its owner's catalog.
    Catalog,
    /// Splits a conversion's credit between partners (optionally fitted on journeys).
    Attribution,
    /// Computes commission lines for an attributed conversion.
    Commission,
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Catalog => "catalog",
            Self::Attribution => "attribution",
            Self::Commission => "commission",
        })
    }
}

/// A `major.minor.patch` version of the message API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion {
    /// Breaking changes.
    pub major: u32,
    /// Added optional fields or methods.
    pub minor: u32,
    /// Documentation or clarifications.
    pub patch: u32,
}

/// An API version string that is not `major.minor.patch`.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a major.minor.patch version")]
pub struct BadApiVersion(String);

impl ApiVersion {
    /// Parses `"1.2.3"`.
    pub fn parse(text: &str) -> Result<Self, BadApiVersion> {
        let bad = || BadApiVersion(text.to_owned());
        let mut parts = text.split('.').map(|p| p.parse::<u32>().map_err(|_| bad()));
        let (Some(major), Some(minor), Some(patch), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        Ok(Self {
            major: major?,
            minor: minor?,
            patch: patch?,
        })
    }

    /// Whether a host speaking `self` can serve a plugin built against
    /// `plugin`: same major, and the plugin expects no newer minor.
    pub fn serves(self, plugin: ApiVersion) -> bool {
        self.major == plugin.major && plugin.minor <= self.minor
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl Serialize for ApiVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ApiVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What a plugin says about itself, returned as JSON by the table's `manifest`.
/// Reading one refuses unknown fields and an empty (or blank) `name`, `version`
/// or `vendor`: the host shows and stores them to say which plugin is which.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawManifest")]
pub struct Manifest {
    /// Package name, e.g. `shapley-attribution`.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// Who publishes it.
    pub vendor: String,
    /// Capabilities the plugin implements.
    pub capabilities: Vec<Capability>,
    /// Message API version the plugin was built against.
    pub api: ApiVersion,
}

/// A manifest as read, before its fields are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: String,
    version: String,
    vendor: String,
    capabilities: Vec<Capability>,
    api: ApiVersion,
}

impl TryFrom<RawManifest> for Manifest {
    type Error = String;

    fn try_from(raw: RawManifest) -> Result<Self, String> {
        for (field, value) in [
            ("name", &raw.name),
            ("version", &raw.version),
            ("vendor", &raw.vendor),
        ] {
            if value.trim().is_empty() {
                return Err(format!("`{field}` is empty"));
            }
        }
        Ok(Self {
            name: raw.name,
            version: raw.version,
            vendor: raw.vendor,
            capabilities: raw.capabilities,
            api: raw.api,
        })
    }
}

/// The JSON body of an `ERROR` or `PANIC` status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable snake_case code, see [`error_code`].
    pub code: String,
    /// Human-readable explanation for the operator.
    pub message: String,
    /// Whether the same call may succeed if repeated.
    pub retryable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_parse_and_compare() -> Result<(), BadApiVersion> {
        let host = ApiVersion::parse("1.2.0")?;
        assert!(host.serves(ApiVersion::parse("1.0.7")?));
        assert!(host.serves(ApiVersion::parse("1.2.0")?));
        assert!(!host.serves(ApiVersion::parse("1.3.0")?));
        assert!(!host.serves(ApiVersion::parse("2.0.0")?));
        for bad in ["1.2", "1.2.3.4", "a.b.c", "", "1..2"] {
            assert!(ApiVersion::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn manifest_round_trips_with_snake_case_capabilities() -> Result<(), serde_json::Error> {
        let json = r#"{"name":"x","version":"0.1.0","vendor":"v","capabilities":["catalog","attribution"],"api":"1.0.0"}"#;
        let manifest: Manifest = serde_json::from_str(json)?;
        assert_eq!(
            manifest.capabilities,
            [Capability::Catalog, Capability::Attribution]
        );
        assert_eq!(serde_json::to_string(&manifest)?, json);
        Ok(())
    }

    #[test]
    fn a_manifest_needs_a_name_version_and_vendor() {
        let with = |name: &str, version: &str, vendor: &str| {
            let json = format!(
                r#"{{"name":"{name}","version":"{version}","vendor":"{vendor}","capabilities":["commission"],"api":"1.0.0"}}"#
            );
            serde_json::from_str::<Manifest>(&json).map_err(|e| e.to_string())
        };
        assert!(with("x", "0.1.0", "v").is_ok());
        for (manifest, field) in [
            (with("", "0.1.0", "v"), "name"),
            (with("x", "", "v"), "version"),
            (with("x", "0.1.0", "  "), "vendor"),
        ] {
            let error = manifest.err().unwrap_or_default();
            assert!(error.contains(&format!("`{field}` is empty")), "{error}");
        }
        let unknown =
            r#"{"name":"x","version":"1","vendor":"v","capabilities":[],"api":"1.0.0","extra":1}"#;
        assert!(serde_json::from_str::<Manifest>(unknown).is_err());
    }
}
