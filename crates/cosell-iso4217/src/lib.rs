//! The ISO 4217 currencies Cosell settles in, with their minor units: data shared by the
//! domain (`cosell-core`'s `Currency`) and by plugins (through `cosell-plugin-sdk`), which
//! may depend on nothing else of Cosell's. A plugin that checks its rows against this table
//! refuses exactly the currencies and decimals the catalog refuses.

/// Currencies Cosell settles in, with their minor units from ISO 4217.
/// Kept as data so adding one is a one-line change.
pub const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AUD", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("PLN", 2),
    ("RON", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

/// The number of decimal places `code` allows (EUR 2, JPY 0, BHD 3); `None` for a code
/// Cosell does not settle in.
pub fn minor_units(code: &str) -> Option<u8> {
    CURRENCIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, minor)| *minor)
}

#[cfg(test)]
mod tests {
    use super::minor_units;

    #[test]
    fn codes_have_their_minor_units() {
        assert_eq!(minor_units("EUR"), Some(2));
        assert_eq!(minor_units("JPY"), Some(0));
        assert_eq!(minor_units("BHD"), Some(3));
        assert_eq!(minor_units("ZZZ"), None);
        assert_eq!(minor_units("eur"), None);
    }
}
