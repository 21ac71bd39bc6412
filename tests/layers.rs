//! The layer order stated in `src/lib.rs`'s doc comment holds: a module refers only to
//! modules listed after it (below it). Reads the source as text: every `crate::MODULE` path
//! (in `use` lines, grouped `use crate::{a, b::c}` imports and inline paths, and `super::`
//! paths that climb to the crate root), with comments, strings and char literals skipped.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// One reference from a file to a crate-level module.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    line: usize,
    module: String,
}

#[test]
fn no_module_refers_to_a_module_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("read src/lib.rs");
    let layers = layer_order(&lib).expect(
        "src/lib.rs states the layers in a doc comment line such as `//! commands, cli, app, ...`",
    );
    let declared = declared_modules(&lib);
    let unlisted: Vec<&String> = declared.iter().filter(|m| !layers.contains(m)).collect();
    assert!(
        unlisted.is_empty(),
        "modules declared in src/lib.rs but missing from its layer list {layers:?}: {unlisted:?}"
    );

    let mut violations = Vec::new();
    for (rank, module) in layers.iter().enumerate() {
        for file in module_files(&root.join("src"), module) {
            let text = std::fs::read_to_string(&file).expect("read a source file");
            let depth = module_depth(&root.join("src"), &file);
            for reference in references(&text, depth) {
                let shown = file.strip_prefix(root).unwrap_or(&file).display();
                // A root name that is no layer (none today) is not a module: nothing to order.
                let target = layers.iter().position(|layer| *layer == reference.module);
                if target.is_some_and(|target| target < rank) {
                    violations.push(format!(
                        "{shown}:{}: {module} refers to crate::{}, which is listed above it",
                        reference.line, reference.module
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layer order (highest first): {}\n{} reference(s) point up:\n{}",
        layers.join(", "),
        violations.len(),
        violations.join("\n")
    );
}

/// The scanner itself: grouped imports, inline paths, `super::` to the root, and what it
/// must not count (comments, strings, char literals, a module's own name).
#[test]
fn the_scanner_finds_references_and_skips_comments_and_strings() {
    let text = r##"
use crate::config::Config;
use crate::{imds::tree, provider::{self, Provider}};
// use crate::app::State;
/* use crate::cli::Args; /* nested */ use crate::cli::Other; */
fn f() -> crate::broker::TokenStore {
    let quote = '"'; let s = "crate::docker::x"; let r = r#"crate::session"#;
    let _life: &'static str = "";
    super::super::commands::run();
    crate::imds::time::now()
}
"##;
    let found: Vec<(usize, &str)> = references(text, 2)
        .iter()
        .map(|r| (r.line, leak(&r.module)))
        .collect();
    assert_eq!(
        found,
        [
            (2, "config"),
            (3, "imds"),
            (3, "provider"),
            (6, "broker"),
            (9, "commands"),
            (10, "imds"),
        ]
    );
    // One `super::` from a module's own mod.rs reaches the root; from a file below it, not.
    assert_eq!(references("use super::app::State;", 1).len(), 1);
    assert!(references("use super::State;", 2).is_empty());
    assert_eq!(
        layer_order("//! Layers:\n//!\n//! commands, cli, app, config\n"),
        Some(vec![
            "commands".to_string(),
            "cli".to_string(),
            "app".to_string(),
            "config".to_string()
        ])
    );
}

fn leak(text: &str) -> &'static str {
    Box::leak(text.to_string().into_boxed_str())
}

/// The first doc comment line that is only a comma-separated list of module names.
fn layer_order(lib: &str) -> Option<Vec<String>> {
    lib.lines()
        .filter_map(|line| line.trim().strip_prefix("//!"))
        .map(|rest| {
            rest.split(',')
                .map(|name| name.trim().to_string())
                .collect::<Vec<_>>()
        })
        .find(|names| names.len() >= 2 && names.iter().all(|name| is_identifier(name)))
}

/// `pub mod NAME;` and `mod NAME;` lines of lib.rs.
fn declared_modules(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))?;
            Some(rest.strip_suffix(';')?.trim().to_string())
        })
        .collect()
}

fn is_identifier(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !word.starts_with(|c: char| c.is_ascii_digit())
}

/// `src/MODULE.rs` and every `.rs` file under `src/MODULE/`.
fn module_files(src: &Path, module: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let single = src.join(format!("{module}.rs"));
    if single.is_file() {
        files.push(single);
    }
    let mut dirs = vec![src.join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// How many `super::` it takes to reach the crate root from `file`'s module:
/// `src/app.rs` and `src/app/mod.rs` are 1, `src/app/state.rs` is 2, and so on.
fn module_depth(src: &Path, file: &Path) -> usize {
    let relative = file.strip_prefix(src).expect("a file under src");
    let parts = relative.components().count();
    if relative.file_name().is_some_and(|name| name == "mod.rs") {
        parts - 1
    } else {
        parts
    }
}

/// Every crate-level module a source text refers to, with its line, in order.
fn references(text: &str, depth: usize) -> Vec<Reference> {
    let code = code_only(text);
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let starts_word = at == 0 || !is_word_byte(bytes[at - 1]);
        if !starts_word {
            at += 1;
            continue;
        }
        let rest = &code[at..];
        let after_root = if rest.starts_with("crate::") {
            Some(at + "crate::".len())
        } else {
            climbs_to_root(rest, depth).map(|len| at + len)
        };
        let Some(path_start) = after_root else {
            at += 1;
            continue;
        };
        let line = code[..at].matches('\n').count() + 1;
        for module in first_segments(&code[path_start..]) {
            found.push(Reference { line, module });
        }
        at = path_start;
    }
    found
}

/// The length of `super::` repeated `depth` times (or more) at the start of `text`.
fn climbs_to_root(text: &str, depth: usize) -> Option<usize> {
    let mut len = 0;
    let mut climbs = 0;
    while text[len..].starts_with("super::") {
        len += "super::".len();
        climbs += 1;
    }
    (climbs >= depth && climbs > 0).then_some(len)
}

/// The crate-level names at the start of a path: `config::X` → [config];
/// `{imds::tree, provider::{self, P}}` → [imds, provider].
fn first_segments(path: &str) -> Vec<String> {
    let path = path.trim_start();
    if let Some(group) = path.strip_prefix('{') {
        let mut names = Vec::new();
        let mut depth = 0usize;
        let mut item_start = true;
        let mut chars = group.char_indices().peekable();
        while let Some((index, c)) = chars.next() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => item_start = true,
                c if item_start && !c.is_whitespace() => {
                    item_start = false;
                    let word = leading_word(&group[index..]);
                    if !word.is_empty() && word != "self" {
                        names.push(word.to_string());
                    }
                    for _ in 1..word.len() {
                        chars.next();
                    }
                }
                _ => {}
            }
        }
        names
    } else {
        let word = leading_word(path);
        if word.is_empty() {
            Vec::new()
        } else {
            vec![word.to_string()]
        }
    }
}

fn leading_word(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b':'
}

/// `text` with comments, string literals and char literals blanked out (newlines kept, so
/// line numbers stay right).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && starts_raw(&chars, i) {
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            let open = i + 1 + hashes;
            out.extend(std::iter::repeat_n(' ', open + 1 - i));
            i = open + 1;
            while i < chars.len() {
                let closes = chars[i] == '"'
                    && chars[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes;
                if closes {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'); otherwise a lifetime, kept as code.
            let end = if next == Some('\\') {
                chars[i + 2..]
                    .iter()
                    .position(|&q| q == '\'')
                    .map(|offset| i + 2 + offset)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.extend(std::iter::repeat_n(' ', end + 1 - i));
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `r"` or `r#..#"` at `i`, not the end of an identifier such as `for` or `bar`.
fn starts_raw(chars: &[char], i: usize) -> bool {
    let after_word = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
    if after_word {
        return false;
    }
    let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
    chars.get(i + 1 + hashes) == Some(&'"')
}
