//! `docs/errors.md` stays the list of problem codes: every code written as a literal in a
//! call to a problem constructor (`ApiError::new`, `unauthorized`, `conflict`, `on_unique`)
//! or paired with a status in a `(status, "code")` tuple (how error types map their
//! variants, e.g. `PluginOpError::problem`) is explained there or, for the plugin codes,
//! in `docs/plugins.md`.

use std::path::{Path, PathBuf};

/// Calls whose first or second argument is a problem code when it is a string literal.
const CONSTRUCTORS: [&str; 4] = ["ApiError::new(", "unauthorized(", "conflict(", "on_unique("];

/// The `.rs` files under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The snake_case string literals among the first two arguments of each constructor call.
fn codes_in(text: &str) -> Vec<String> {
    let mut codes = Vec::new();
    for constructor in CONSTRUCTORS {
        for (at, _) in text.match_indices(constructor) {
            let args = &text[at + constructor.len()..];
            let first_two = args.splitn(3, ',').take(2).collect::<Vec<_>>().join(",");
            let Some(literal) = first_two.split('"').nth(1) else {
                continue;
            };
            if is_code(literal) {
                codes.push(literal.to_owned());
            }
        }
    }
    codes
}

fn is_code(literal: &str) -> bool {
    !literal.is_empty() && literal.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// Whether `expr` is a status: `StatusCode::NAME`, or a local bound to one in `text`
/// (`let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;`).
fn is_status(expr: &str, text: &str) -> bool {
    match expr.strip_prefix("StatusCode::") {
        Some(name) => !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
        None => is_code(expr) && text.contains(&format!("let {expr} = StatusCode::")),
    }
}

/// The snake_case string literals paired with a status in a `(status, "code")` tuple.
fn tuple_codes_in(text: &str) -> Vec<String> {
    let mut codes = Vec::new();
    for (at, _) in text.match_indices(", \"") {
        let Some(open) = text[..at].rfind('(') else {
            continue;
        };
        let rest = &text[at + 3..];
        let Some(end) = rest.find('"') else {
            continue;
        };
        let literal = &rest[..end];
        let closes = rest[end + 1..].trim_start().starts_with(')');
        if closes && is_code(literal) && is_status(text[open + 1..at].trim(), text) {
            codes.push(literal.to_owned());
        }
    }
    codes
}

/// Whether `docs` name `code` in code style: `` `code` ``, or with its status, as in
/// `` `422 config_refused` ``.
fn documented(docs: &str, code: &str) -> bool {
    docs.contains(&format!("`{code}`"))
        || docs.match_indices(&format!(" {code}`")).any(|(at, _)| {
            let status = &docs.as_bytes()[..at];
            status.len() >= 4
                && status[status.len() - 4] == b'`'
                && status[status.len() - 3..].iter().all(u8::is_ascii_digit)
        })
}

#[test]
fn every_problem_code_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let docs = ["docs/errors.md", "docs/plugins.md"]
        .map(|doc| std::fs::read_to_string(root.join(doc)).unwrap())
        .concat();
    let mut found = Vec::new();
    for file in sources(&root.join("crates")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for code in codes_in(&text).into_iter().chain(tuple_codes_in(&text)) {
            found.push((code, file.clone()));
        }
    }
    // The scan must see the codes it is meant to check, or it checks nothing.
    for known in [
        "sku_taken",
        "stale_version",
        "settlement_busy",
        "token_expired",
        "plugin_failed",
        "not_a_library",
        "payload_too_large",
    ] {
        assert!(
            found.iter().any(|(code, _)| code == known),
            "{known} not found"
        );
    }
    let undocumented: Vec<_> = found
        .iter()
        .filter(|(code, _)| !documented(&docs, code))
        .collect();
    assert!(
        undocumented.is_empty(),
        "problem codes missing from docs/errors.md: {undocumented:?}"
    );
}
