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

/// No import cycle among the files of one top-level module: within `src/broker/` (and every
/// other folder module) the files can be read in an order where each uses only files read
/// before it. A folder's `mod.rs` that only declares and re-exports is its facade and no
/// part of the graph (everything goes through it by design); any other `mod.rs` is a file
/// like the rest.
#[test]
fn no_import_cycle_among_the_files_of_a_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    for module in folder_modules(&src) {
        let graph = FileGraph::read(&src, &module);
        for cycle in graph.cycles() {
            problems.push(graph.describe(&cycle));
        }
    }
    assert!(
        problems.is_empty(),
        "import cycles among the files of a module:\n{}",
        problems.join("\n")
    );
}

/// Prints each folder module's file graph (`file -> files it uses`) and its cycles, for
/// docs/architecture.md and for untying knots:
/// `cargo test --test layers -- --ignored --nocapture print_file_graphs`.
#[test]
#[ignore = "prints the file graphs; run by hand"]
fn print_file_graphs() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for module in folder_modules(&src) {
        let graph = FileGraph::read(&src, &module);
        println!("## {module}");
        for node in 0..graph.nodes.len() {
            let mut uses: Vec<String> = graph
                .edges
                .iter()
                .filter(|(from, _, _)| *from == node)
                .map(|&(_, to, _)| graph.file_name(to))
                .collect();
            uses.sort();
            println!("{} -> {}", graph.file_name(node), uses.join(", "));
        }
        for cycle in graph.cycles() {
            println!("CYCLE {}", graph.describe(&cycle));
        }
    }
}

/// The checker on a planted cycle: `a` uses `b` through `super::`, `b` uses `a` through
/// `crate::`; `c` uses both (no cycle), and the facade re-exports all three.
#[test]
fn the_cycle_checker_finds_a_planted_cycle_and_ignores_the_facade() {
    let files = [
        (
            "mod.rs",
            "//! Facade.\nmod a;\nmod b;\nmod c;\npub use a::A;\npub use b::{B, self as bee};\n",
        ),
        ("a.rs", "use super::b::B;\npub struct A;\n"),
        ("b.rs", "pub struct B(crate::planted::a::A);\n"),
        ("c.rs", "use super::{a::A, b::B};\nfn f(_: A, _: B) {}\n"),
    ];
    let graph = FileGraph::from_texts("planted", &files);
    let cycles = graph.cycles();
    assert_eq!(cycles.len(), 1, "{:?}", graph.edges);
    let described = graph.describe(&cycles[0]);
    assert!(
        described.contains("planted/a.rs:1 uses planted/b.rs")
            && described.contains("planted/b.rs:1 uses planted/a.rs"),
        "{described}"
    );
    // Without the planted edge there is none.
    let mut fixed = files;
    fixed[2] = ("b.rs", "pub struct B;\n");
    assert!(FileGraph::from_texts("planted", &fixed).cycles().is_empty());
    // Through the facade: `a` uses `super::B` (re-exported from b), `b` uses `super::A`.
    let mut hidden = files;
    hidden[1] = ("a.rs", "use super::B;\npub struct A;\n");
    hidden[2] = ("b.rs", "pub struct B(super::A);\n");
    assert_eq!(FileGraph::from_texts("planted", &hidden).cycles().len(), 1);
    // A mod.rs that holds more than declarations is a file of the graph.
    let mut knot = files;
    knot[0] = (
        "mod.rs",
        "mod a;\nmod b;\nmod c;\npub struct State;\npub use a::A;\n",
    );
    knot[2] = ("b.rs", "use super::State;\npub struct B;\n");
    knot[1] = ("a.rs", "use super::b::B;\npub struct A(super::State);\n");
    assert_eq!(FileGraph::from_texts("planted", &knot).cycles().len(), 1);
    // Through a module imported by name and a `pub(in …)` facade: `a` imports the folder
    // `d` (whose facade re-exports `f` from d/e.rs) and calls `d::f()`; d/e.rs uses `a`.
    let mut by_name: Vec<(&str, &str)> = files.to_vec();
    by_name[0] = ("mod.rs", "mod a;\nmod b;\nmod c;\nmod d;\npub use a::A;\n");
    by_name[1] = ("a.rs", "use super::d;\npub struct A;\nfn g() { d::f() }\n");
    by_name.push(("d/mod.rs", "mod e;\npub(in crate::planted) use e::f;\n"));
    by_name.push(("d/e.rs", "use crate::planted::a::A;\npub fn f() {}\n"));
    let graph = FileGraph::from_texts("planted", &by_name);
    assert_eq!(graph.cycles().len(), 1, "{:?}", graph.edges);
    // Under another name too.
    by_name[1] = (
        "a.rs",
        "use super::d as dee;\npub struct A;\nfn g() { dee::f() }\n",
    );
    assert_eq!(FileGraph::from_texts("planted", &by_name).cycles().len(), 1);
}

/// Folders directly under `src/` (the top-level modules with files of their own).
fn folder_modules(src: &Path) -> Vec<String> {
    let mut modules: Vec<String> = std::fs::read_dir(src)
        .expect("read src")
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    modules.sort();
    modules
}

/// The files of one top-level module and which of them uses which.
struct FileGraph {
    /// Module paths (`broker/doors/ecs`), one per file; facades left out.
    nodes: Vec<String>,
    /// The file of each node, as `module/relative.rs`.
    names: Vec<String>,
    /// (from, to, line of the first use).
    edges: Vec<(usize, usize, usize)>,
}

/// What a facade re-exports: (facade path, exported name, module path it comes from).
type Exports = Vec<(String, String, String)>;

impl FileGraph {
    fn read(src: &Path, module: &str) -> FileGraph {
        let files: Vec<(String, String)> = module_files(src, module)
            .into_iter()
            .filter(|file| file.starts_with(src.join(module)))
            .map(|file| {
                let relative = file
                    .strip_prefix(src.join(module))
                    .expect("under the module")
                    .to_string_lossy()
                    .into_owned();
                (relative, std::fs::read_to_string(&file).expect("read"))
            })
            .collect();
        let borrowed: Vec<(&str, &str)> = files
            .iter()
            .map(|(path, text)| (path.as_str(), text.as_str()))
            .collect();
        FileGraph::from_texts(module, &borrowed)
    }

    /// `files`: paths relative to the module's folder (`mod.rs`, `doors/ecs.rs`) and texts.
    fn from_texts(module: &str, files: &[(&str, &str)]) -> FileGraph {
        let module_path = |relative: &str| -> String {
            let trimmed = relative.trim_end_matches(".rs");
            let trimmed = trimmed
                .strip_suffix("/mod")
                .or_else(|| (trimmed == "mod").then_some(""))
                .unwrap_or(trimmed);
            if trimmed.is_empty() {
                module.to_string()
            } else {
                format!("{module}/{trimmed}")
            }
        };
        let all: Vec<String> = files.iter().map(|(path, _)| module_path(path)).collect();
        let facade: Vec<bool> = files
            .iter()
            .map(|(path, text)| path.ends_with("mod.rs") && is_facade(text))
            .collect();
        let nodes: Vec<String> = all
            .iter()
            .zip(&facade)
            .filter(|(_, facade)| !**facade)
            .map(|(path, _)| path.clone())
            .collect();
        let names: Vec<String> = files
            .iter()
            .zip(&facade)
            .filter(|(_, facade)| !**facade)
            .map(|((relative, _), _)| format!("{module}/{relative}"))
            .collect();
        // A name used through a facade is a use of the file that defines it.
        let mut exports: Exports = Vec::new();
        for (((_, text), own), facade) in files.iter().zip(&all).zip(&facade) {
            if !facade {
                continue;
            }
            let own_segments: Vec<&str> = own.split('/').collect();
            for (_, path, alias) in reexports(text) {
                let Some(source) = resolve(&path, &own_segments, &all, &Vec::new()) else {
                    continue;
                };
                if source == *own {
                    continue;
                }
                match alias {
                    Some(name) => exports.push((own.clone(), name, source)),
                    None => {
                        let text = files
                            .iter()
                            .zip(&all)
                            .find(|(_, path)| **path == source)
                            .map(|((_, text), _)| *text)
                            .unwrap_or_default();
                        for name in public_names(text) {
                            exports.push((own.clone(), name, source.clone()));
                        }
                    }
                }
            }
        }
        let mut edges = Vec::new();
        for ((_, text), own) in files.iter().zip(&all) {
            let Some(from) = nodes.iter().position(|node| node == own) else {
                continue;
            };
            // `super::` from `x.rs` and from `x/mod.rs` both reach x's parent.
            let own_segments: Vec<&str> = own.split('/').collect();
            let aliases = module_aliases(text, &own_segments, &all);
            for (line, mut target) in module_paths(text) {
                // `alias::rest` is `crate::<the module>::rest`.
                let named = target.first().and_then(|first| {
                    aliases
                        .iter()
                        .find(|(alias, _)| alias == first)
                        .map(|(_, module)| module)
                });
                if let Some(module) = named {
                    let mut full = vec!["crate".to_string()];
                    full.extend(module.iter().cloned());
                    full.extend(target.drain(1..));
                    target = full;
                }
                let resolved = resolve(&target, &own_segments, &all, &exports);
                let Some(resolved) = resolved else { continue };
                let Some(to) = nodes.iter().position(|node| *node == resolved) else {
                    continue;
                };
                if to != from && !edges.iter().any(|&(f, t, _)| f == from && t == to) {
                    edges.push((from, to, line));
                }
            }
        }
        FileGraph {
            nodes,
            names,
            edges,
        }
    }

    /// Each strongly connected set of more than one file (Tarjan), as node indexes.
    fn cycles(&self) -> Vec<Vec<usize>> {
        struct State {
            index: Vec<Option<usize>>,
            low: Vec<usize>,
            on_stack: Vec<bool>,
            stack: Vec<usize>,
            next: usize,
            found: Vec<Vec<usize>>,
        }
        fn visit(graph: &FileGraph, v: usize, state: &mut State) {
            state.index[v] = Some(state.next);
            state.low[v] = state.next;
            state.next += 1;
            state.stack.push(v);
            state.on_stack[v] = true;
            for &(from, to, _) in &graph.edges {
                if from != v {
                    continue;
                }
                match state.index[to] {
                    None => {
                        visit(graph, to, state);
                        state.low[v] = state.low[v].min(state.low[to]);
                    }
                    Some(index) if state.on_stack[to] => state.low[v] = state.low[v].min(index),
                    Some(_) => {}
                }
            }
            if Some(state.low[v]) == state.index[v] {
                let mut set = Vec::new();
                while let Some(w) = state.stack.pop() {
                    state.on_stack[w] = false;
                    set.push(w);
                    if w == v {
                        break;
                    }
                }
                if set.len() > 1 {
                    set.sort();
                    state.found.push(set);
                }
            }
        }
        let n = self.nodes.len();
        let mut state = State {
            index: vec![None; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            stack: Vec::new(),
            next: 0,
            found: Vec::new(),
        };
        for v in 0..n {
            if state.index[v].is_none() {
                visit(self, v, &mut state);
            }
        }
        state.found
    }

    /// The files of a cycle and the uses between them, `file:line uses file`.
    fn describe(&self, cycle: &[usize]) -> String {
        let file = |node: usize| self.file_name(node);
        let uses: Vec<String> = self
            .edges
            .iter()
            .filter(|(from, to, _)| cycle.contains(from) && cycle.contains(to))
            .map(|&(from, to, line)| format!("  {}:{line} uses {}", file(from), file(to)))
            .collect();
        format!(
            "{}:\n{}",
            cycle
                .iter()
                .map(|&n| file(n))
                .collect::<Vec<_>>()
                .join(" <-> "),
            uses.join("\n")
        )
    }

    /// The node's file, `broker/doors/ecs.rs`.
    fn file_name(&self, node: usize) -> String {
        self.names[node].clone()
    }
}

/// A `mod.rs` that only declares modules and re-exports (besides attributes and docs).
fn is_facade(text: &str) -> bool {
    let code = without_inline_modules(&code_only(text));
    let mut statement = String::new();
    for line in code.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("#[") || line.starts_with("#![") {
            continue;
        }
        statement.push_str(line);
        statement.push(' ');
        if !line.ends_with(';') {
            continue;
        }
        let whole = statement.trim().to_string();
        statement.clear();
        let words: Vec<&str> = whole.split_whitespace().collect();
        let start = statement_start(&words);
        let declares = start == Some("mod");
        let reexports = start == Some("use") && whole.starts_with("pub");
        if !(declares || reexports) {
            return false;
        }
    }
    statement.trim().is_empty()
}

/// The first word of a statement after its visibility (`pub`, `pub(crate)`,
/// `pub(in crate::a)`).
fn statement_start<'a>(words: &[&'a str]) -> Option<&'a str> {
    let mut words = words.iter().copied();
    let first = words.next()?;
    if first == "pub" {
        return words.next();
    }
    if first.starts_with("pub(") {
        if first.ends_with(')') {
            return words.next();
        }
        // `pub(in path)`: skip to the word that closes it.
        for word in words.by_ref() {
            if word.ends_with(')') {
                break;
            }
        }
        return words.next();
    }
    Some(first)
}

/// Modules a file imports under a name (`use super::doors;`, `use super::faults as f;`):
/// the name and the module's path from the crate root. A later `doors::door_of(…)` in
/// the body is a use of that module, as the compiler reads it.
fn module_aliases(text: &str, own: &[&str], all: &[String]) -> Vec<(String, Vec<String>)> {
    let code = without_inline_modules(&code_only(text));
    let mut aliases = Vec::new();
    for statement in code.split(';') {
        let words: Vec<&str> = statement.split_whitespace().collect();
        if statement_start(&words) != Some("use") {
            continue;
        }
        let Some(at) = statement.find("use ") else {
            continue;
        };
        for (path, alias) in expand_with_aliases(&statement[at + 4..]) {
            let Some(alias) = alias else { continue };
            let Some(module) = resolve(&path, own, all, &Vec::new()) else {
                continue;
            };
            // Only a path that names the module itself, not an item in it.
            if module.rsplit('/').next() == path.last().map(String::as_str) {
                let segments = module.split('/').map(str::to_string).collect();
                aliases.push((alias, segments));
            }
        }
    }
    aliases
}

/// Every module path in `text` that may name a file: `crate::…`, `super::…`, `self::…`
/// and plain `name::…` paths (a child module), with grouped imports expanded; each with
/// its line. The path is given as written: its root word and the segments after it.
fn module_paths(text: &str) -> Vec<(usize, Vec<String>)> {
    let code = without_inline_modules(&code_only(text));
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let starts_word = at == 0 || !is_word_byte(bytes[at - 1]);
        if !starts_word || !(bytes[at].is_ascii_alphabetic() || bytes[at] == b'_') {
            at += 1;
            continue;
        }
        let word = leading_word(&code[at..]);
        let after = at + word.len();
        if !code[after..].starts_with("::") {
            at = after.max(at + 1);
            continue;
        }
        let line = code[..at].matches('\n').count() + 1;
        // The whole path (a group included), then each path it names.
        let mut end = after;
        let mut depth = 0usize;
        for (offset, c) in code[after..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth > 0 => depth -= 1,
                c if depth == 0 && !(c.is_ascii_alphanumeric() || c == '_' || c == ':') => {
                    end = after + offset;
                    break;
                }
                _ => {}
            }
            end = after + offset + c.len_utf8();
        }
        for (path, _) in expand_with_aliases(&code[at..end]) {
            found.push((line, path));
        }
        at = end.max(at + 1);
    }
    found
}

/// The module path a written path lands in, among `all`: the longest prefix that is one.
fn resolve(path: &[String], own: &[&str], all: &[String], exports: &Exports) -> Option<String> {
    let (mut base, rest): (Vec<String>, &[String]) = match path.first().map(String::as_str) {
        Some("crate") => (Vec::new(), &path[1..]),
        Some("self") => (own.iter().map(|s| s.to_string()).collect(), &path[1..]),
        Some("super") => {
            let climbs = path
                .iter()
                .take_while(|segment| *segment == "super")
                .count();
            let keep = own.len().checked_sub(climbs)?;
            (
                own[..keep].iter().map(|s| s.to_string()).collect(),
                &path[climbs..],
            )
        }
        // A child module of this file's module, named plainly (`use access::X;`).
        Some(_) => (own.iter().map(|s| s.to_string()).collect(), path),
        None => return None,
    };
    let mut best = None;
    for segment in rest {
        // `facade::Name`: the file the facade re-exports Name from.
        let here = base.join("/");
        if let Some((_, _, source)) = exports
            .iter()
            .find(|(facade, name, _)| *facade == here && name == segment)
        {
            return Some(source.clone());
        }
        base.push(segment.clone());
        let joined = base.join("/");
        if all.contains(&joined) {
            best = Some(joined);
        } else {
            break;
        }
    }
    if best.is_none()
        && path
            .first()
            .is_some_and(|first| first == "super" || first == "crate")
    {
        // `super::Item` names the parent module itself.
        let joined = base[..base.len().saturating_sub(rest.len())].join("/");
        let parent = if rest.is_empty() {
            base.join("/")
        } else {
            joined
        };
        if all.contains(&parent) {
            best = Some(parent);
        }
    }
    best
}

/// `code` with every inline `mod name { … }` blanked (newlines kept): in a file's
/// `mod tests`, `super::` is the file itself, and test code is no part of the structure.
fn without_inline_modules(code: &str) -> String {
    let mut out: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < out.len() {
        let starts_word = i == 0 || !(out[i - 1].is_alphanumeric() || out[i - 1] == '_');
        let is_mod = starts_word
            && out[i..].starts_with(&['m', 'o', 'd'])
            && out.get(i + 3).is_some_and(|c| c.is_whitespace());
        if !is_mod {
            i += 1;
            continue;
        }
        let mut j = i + 3;
        while j < out.len() && (out[j].is_alphanumeric() || out[j] == '_' || out[j].is_whitespace())
        {
            j += 1;
        }
        if out.get(j) != Some(&'{') {
            i += 1;
            continue;
        }
        let mut depth = 0usize;
        let mut k = j;
        while k < out.len() {
            match out[k] {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            k += 1;
        }
        let end = (k + 1).min(out.len());
        for c in &mut out[i..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = k + 1;
    }
    out.into_iter().collect()
}

/// The `pub use` lines of a facade, each path as written with its line and, for a
/// single name, the name it is exported as (None for a glob: every public name).
fn reexports(text: &str) -> Vec<(usize, Vec<String>, Option<String>)> {
    let code = without_inline_modules(&code_only(text));
    let mut found = Vec::new();
    let mut offset = 0;
    for statement in code.split(';') {
        let line = code[..offset].matches('\n').count() + 1;
        offset += statement.len() + 1;
        let trimmed = statement.trim();
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        let exported = words.first().is_some_and(|first| first.starts_with("pub"));
        if !exported || statement_start(&words) != Some("use") {
            continue;
        }
        let Some(rest) = trimmed.find("use ").map(|at| &trimmed[at + 4..]) else {
            continue;
        };
        // `a::{B, C as D, e::*}`: expand with the aliases and globs kept apart.
        let rest = rest.trim();
        for path in expand_with_aliases(rest) {
            let (segments, alias) = path;
            found.push((line, segments, alias));
        }
    }
    found
}

/// The paths a `use` path names, group expanded: (the path, the name it is known by), or
/// (the module path, None) for a glob. `a::{b as c, d::*}` → ([a, b], c), ([a, d], None).
fn expand_with_aliases(text: &str) -> Vec<(Vec<String>, Option<String>)> {
    let cleaned = text.replace(['\n', '\t'], " ");
    let mut out = Vec::new();
    for path in expand_raw(&cleaned) {
        let last = path.last().cloned().unwrap_or_default();
        if last == "*" {
            out.push((path[..path.len() - 1].to_vec(), None));
        } else if let Some((name, alias)) = last.split_once(" as ") {
            let mut module = path[..path.len() - 1].to_vec();
            module.push(name.trim().to_string());
            out.push((module, Some(alias.trim().to_string())));
        } else {
            out.push((path.clone(), Some(last)));
        }
    }
    out
}

/// `a::{b, c as d, e::*}` → [[a, b], [a, "c as d"], [a, e, *]].
fn expand_raw(path: &str) -> Vec<Vec<String>> {
    let path = path.trim();
    if let Some((head, group)) = path.split_once('{') {
        let prefix: Vec<String> = head
            .split("::")
            .map(str::trim)
            .filter(|segment| !segment.is_empty())
            .map(str::to_string)
            .collect();
        let group = group.rsplit_once('}').map_or(group, |(inner, _)| inner);
        let mut items = Vec::new();
        let (mut depth, mut start) = (0usize, 0);
        for (index, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&group[start..index]);
                    start = index + 1;
                }
                _ => {}
            }
        }
        items.push(&group[start..]);
        let mut out = Vec::new();
        for item in items
            .into_iter()
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            for tail in expand_raw(item) {
                let mut full = prefix.clone();
                full.extend(tail.into_iter().filter(|segment| segment != "self"));
                out.push(full);
            }
        }
        out
    } else {
        vec![path
            .split("::")
            .map(str::trim)
            .filter(|segment| !segment.is_empty())
            .map(str::to_string)
            .collect()]
    }
}

/// The names a file declares public at its top level (`pub struct X`, `pub fn y`, …).
fn public_names(text: &str) -> Vec<String> {
    let code = without_inline_modules(&code_only(text));
    let mut names = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        let Some(rest) = line
            .strip_prefix("pub ")
            .or_else(|| line.strip_prefix("pub(crate) "))
        else {
            continue;
        };
        let rest = rest
            .trim_start_matches("async ")
            .trim_start_matches("unsafe ");
        for keyword in [
            "struct ", "enum ", "fn ", "const ", "static ", "type ", "trait ", "mod ",
        ] {
            if let Some(after) = rest.strip_prefix(keyword) {
                let name = leading_word(after);
                if !name.is_empty() {
                    names.push(name.to_string());
                }
            }
        }
    }
    names
}
