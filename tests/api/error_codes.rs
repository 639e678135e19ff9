//! `docs/errors.md` stays the list of problem codes: every code written as a literal in a
//! call to a problem constructor (`ApiError::new`, `unauthorized`, `conflict`, `on_unique`)
//! is explained there or in `docs/plugins.md`. The plugin host's codes, mapped from its
//! error types rather than written in such calls, are listed in `docs/plugins.md`.

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
            if !literal.is_empty() && literal.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                codes.push(literal.to_owned());
            }
        }
    }
    codes
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
        for code in codes_in(&text) {
            found.push((code, file.clone()));
        }
    }
    // The scan must see the codes it is meant to check, or it checks nothing.
    for known in [
        "sku_taken",
        "stale_version",
        "settlement_busy",
        "token_expired",
    ] {
        assert!(
            found.iter().any(|(code, _)| code == known),
            "{known} not found"
        );
    }
    let undocumented: Vec<_> = found
        .iter()
        .filter(|(code, _)| !docs.contains(&format!("`{code}`")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "problem codes missing from docs/errors.md: {undocumented:?}"
    );
}
