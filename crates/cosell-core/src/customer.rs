//! The merchant's reference of a customer: one rule wherever a reference enters Cosell, so
//! a profile, a touchpoint and a conversion of one customer always agree on what it is.

use crate::ValidationError;

/// Most characters a customer reference may have.
pub const MAX_CUSTOMER_REF: usize = 200;

/// Checks a customer reference given as `field`: 1 to 200 characters, not only whitespace
/// (a blank reference would name no one and yet group every blank sender together), and no
/// control characters (they cannot be typed, printed or logged faithfully).
pub fn check_customer_ref(field: &str, reference: &str) -> Result<(), ValidationError> {
    let length = reference.chars().count();
    if !(1..=MAX_CUSTOMER_REF).contains(&length) {
        return Err(ValidationError::new(
            field,
            format!("must be 1 to {MAX_CUSTOMER_REF} characters, got {length}"),
        ));
    }
    if reference.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be blank"));
    }
    if reference.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_1_to_200_printable_characters_not_blank() {
        for good in ["cust-42", "a", "Zoë Müller", " padded ", &"é".repeat(200)] {
            assert_eq!(check_customer_ref("reference", good), Ok(()), "{good:?}");
        }
        for bad in [
            "",
            " ",
            "\t",
            "\u{a0}",
            "a\u{0}b",
            "line\nbreak",
            "\u{7f}",
            &"x".repeat(201),
        ] {
            let error = check_customer_ref("reference", bad).unwrap_err();
            assert_eq!(error.field, "reference", "{bad:?}");
        }
    }
}
