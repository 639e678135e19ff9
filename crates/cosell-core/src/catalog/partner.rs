//! Partners: the organisations that co-sell on the platform.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::parse_text;
use crate::{PartnerId, ValidationError, ValidationErrors};

/// Whether a partner may act. A suspended partner's tokens stop working at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerStatus {
    Active,
    Suspended,
}

impl PartnerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerStatus::Active => "active",
            PartnerStatus::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(PartnerStatus::Active),
            "suspended" => Some(PartnerStatus::Suspended),
            _ => None,
        }
    }
}

/// A URL-safe unique handle: lower-case letters, digits and single dashes, 2 to 63 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let ok_chars = value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let ok_shape = !value.starts_with('-') && !value.ends_with('-') && !value.contains("--");
        if !(2..=63).contains(&value.len()) || !ok_chars || !ok_shape {
            return Err(ValidationError::new(
                "slug",
                "must be 2-63 characters of a-z, 0-9 and single inner dashes",
            ));
        }
        Ok(Slug(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A contact address: one `@` with a non-empty local part and a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let value = value.trim();
        let valid = match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
                    && !value.contains(char::is_whitespace)
            }
            None => false,
        };
        if !valid || value.len() > 254 {
            return Err(ValidationError::new(
                "contact_email",
                "must be an e-mail address",
            ));
        }
        Ok(Email(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A partner as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Partner {
    pub id: PartnerId,
    pub name: String,
    pub slug: Slug,
    pub status: PartnerStatus,
    pub contact_email: Email,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The validated fields of a new partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPartner {
    pub name: String,
    pub slug: Slug,
    pub contact_email: Email,
}

impl NewPartner {
    /// Checks every field and reports all bad ones at once.
    pub fn parse(name: &str, slug: &str, contact_email: &str) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name = errors.take(parse_text("name", name, 200));
        let slug = errors.take(Slug::parse(slug));
        let email = errors.take(Email::parse(contact_email));
        match (name, slug, email) {
            (Some(name), Some(slug), Some(contact_email)) => Ok(NewPartner {
                name,
                slug,
                contact_email,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe() {
        assert!(Slug::parse("acme-outdoor").is_ok());
        assert!(Slug::parse("Acme").is_err());
        assert!(Slug::parse("-acme").is_err());
        assert!(Slug::parse("ac--me").is_err());
        assert!(Slug::parse("a").is_err());
    }

    #[test]
    fn every_bad_field_is_reported() {
        let errors = NewPartner::parse(" ", "A", "nope").unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "slug", "contact_email"]);
    }
}
