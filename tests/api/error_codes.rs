//! `docs/errors.md` stays the list of problem codes: every code given to a problem
//! constructor (`ApiError::new`, `unauthorized`, `conflict`, `on_unique`) is explained there
//! or in `docs/plugins.md`: a literal in the call, or the literals a variable `code` is
//! chosen from in the calling function (a `match` of error kinds) or in the method it asks.
//! Codes paired with a status in a `(status, "code")` tuple (how error types map their
//! variants, e.g. `PluginOpError::problem`) are read too. A call whose code the scan cannot
//! see fails the test, so no code slips past unchecked (the first version only read
//! literals in the call, and missed `self_invite` and `invalid_contribution`).

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

fn is_code(literal: &str) -> bool {
    !literal.is_empty() && literal.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// The snake_case string literals of `text`.
fn literals(text: &str) -> Vec<String> {
    let quoted = text.split('"').skip(1).step_by(2);
    quoted.filter(|l| is_code(l)).map(str::to_owned).collect()
}

/// The body of the function that starts at `at` (its `fn`), braces balanced.
fn body_from(text: &str, at: usize) -> &str {
    let open = at + text[at..].find('{').unwrap_or(0);
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 1 => return &text[open..open + i],
            '}' => depth -= 1,
            _ => {}
        }
    }
    &text[open..]
}

/// The codes a call with the variable `code` as its code can answer, seen from the
/// function it sits in (`fn_at`). `None` when they are passed through: a parameter of
/// that function, or a field of an error destructured there, written where it was made
/// (which the scan sees). `Some(codes)` when the function picks them from literals, in its
/// own body or in the body of the method it asks (`let (…, code) = error.problem()`).
fn codes_of_variable(text: &str, fn_at: usize) -> Option<Vec<String>> {
    let signature = &text[fn_at..fn_at + text[fn_at..].find('{').unwrap_or(0)];
    let body = body_from(text, fn_at);
    if signature.contains("code:") || body.contains("{ code,") || body.contains("{ code }") {
        return None;
    }
    let mut codes = literals(body);
    if let Some(binding) = body.find("code) = ") {
        let call = &body[binding..];
        let method = call[..call.find("()").unwrap_or(0)].rsplit('.').next();
        if let Some(at) = method.and_then(|m| text.find(&format!("fn {m}("))) {
            codes.extend(literals(body_from(text, at)));
        }
    }
    Some(codes)
}

/// The problem codes of each constructor call in `text`: a string literal among its first
/// two arguments, or the literals the variable `code` there is chosen from. Any other
/// argument is a code this scan cannot see, and is reported in `unseen`.
fn codes_in(text: &str, unseen: &mut Vec<String>) -> Vec<String> {
    let mut codes = Vec::new();
    for constructor in CONSTRUCTORS {
        for (at, _) in text.match_indices(constructor) {
            let before = text[..at].chars().next_back().unwrap_or(' ');
            // Another name ending the same way (`on_conflict(`), or the definition itself.
            if before.is_alphanumeric() || before == '_' || text[..at].ends_with("fn ") {
                continue;
            }
            let args = &text[at + constructor.len()..];
            let first_two = args.splitn(3, ',').take(2).collect::<Vec<_>>().join(",");
            if let Some(literal) = first_two.split('"').nth(1) {
                codes.extend(is_code(literal).then(|| literal.to_owned()));
                continue;
            }
            let fn_at = text[..at].rfind("fn ").unwrap_or(0);
            let named_code = first_two.split([',', ' ', '\n']).any(|arg| arg == "code");
            match named_code.then(|| codes_of_variable(text, fn_at)) {
                Some(None) => {}
                Some(Some(found)) if !found.is_empty() => codes.extend(found),
                _ => unseen.push(first_two.trim().to_owned()),
            }
        }
    }
    codes
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
    let mut unseen = Vec::new();
    for file in sources(&root.join("crates")) {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut hidden = Vec::new();
        for code in codes_in(&text, &mut hidden)
            .into_iter()
            .chain(tuple_codes_in(&text))
        {
            found.push((code, file.clone()));
        }
        unseen.extend(hidden.into_iter().map(|call| (call, file.clone())));
    }
    assert!(
        unseen.is_empty(),
        "problem constructors whose code this check cannot see (pass a literal, or a \
         variable `code` chosen from literals in the same function): {unseen:?}"
    );
    // The scan must see the codes it is meant to check, or it checks nothing.
    for known in [
        "sku_taken",
        "stale_version",
        "settlement_busy",
        "token_expired",
        // Chosen by a match, then passed as a variable.
        "self_invite",
        "unknown_method",
        // Paired with a status in a tuple.
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
