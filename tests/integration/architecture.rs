//! The module graph of `src/` has no cycle: each module may use those
//! below it, never one that (through others) uses it.
//!
//! An edge is a path in a module's code (comments and `#[cfg(test)]`
//! modules left out) to another module: `crate::a::b::Item` (the longest
//! module prefix counts), `super::Item` or `super::sibling::Item`, and a
//! `pub use child::...` re-export. A parent's relative use of its own
//! children (`posture::check_...` in `probe/mod.rs`) is not an edge: the
//! children are part of it. The library's root (`lib.rs`) is a module too,
//! `crate`: a path to one of its own items (`crate::ScanConfig`) is an edge
//! to it, and its re-exports (`pub use config::ScanConfig`) are its edges,
//! so a module that used the root would close a cycle through what the
//! root re-exports. The binary's root (`main.rs`) is another crate, which
//! sees the library only as `ftps_scan::`; its modules (`cli`, `output`,
//! ...) are checked. README ("Architecture") names this test as the check.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library's root, as the graph names it.
const ROOT: &str = "crate";

/// `probe::posture` -> its source file, for every module under `src/`
/// (`lib.rs` as [`ROOT`]).
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path
                .strip_prefix(src)
                .expect("under src")
                .with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["main"] {
                continue;
            }
            if parts == ["lib"] {
                out.insert(ROOT.to_string(), path);
                continue;
            }
            out.insert(parts.join("::"), path);
        }
    }
    out
}

/// The code of a file without comments and without its test module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read module");
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths after each `prefix` in `code`, `a::b::{c, d::e}` expanded to
/// `a::b`, `a::b::c`, `a::b::d::e`.
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let base: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let base = base.trim_end_matches(':').to_string();
        let after = &rest[base.len()..];
        out.push(base.clone());
        if let Some(group) = after.strip_prefix("::{") {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let item = item.split_whitespace().next().unwrap_or("");
                if !item.is_empty() && item != "self" {
                    out.push(format!("{base}::{item}"));
                }
            }
        }
    }
    out
}

/// The module a path names: its longest prefix that is a module.
fn module_of(path: &str, modules: &BTreeMap<String, PathBuf>) -> Option<String> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len())
        .rev()
        .map(|k| segments[..k].join("::"))
        .find(|m| modules.contains_key(m))
}

fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, path) in &modules {
        let code = code(path);
        let parent = name.rsplit_once("::").map_or("", |(p, _)| p).to_string();
        let join = |a: &str, b: &str| {
            if a.is_empty() || a == ROOT {
                b.to_string()
            } else {
                format!("{a}::{b}")
            }
        };
        let mut targets = BTreeSet::new();
        // A path that names no module names an item of the root.
        for p in paths_after(&code, "crate::") {
            targets.insert(module_of(&p, &modules).unwrap_or_else(|| ROOT.to_string()));
        }
        for p in paths_after(&code, "super::") {
            let full = join(&parent, &p);
            match module_of(&full, &modules) {
                Some(m) if m.len() > parent.len() || parent.is_empty() => {
                    targets.insert(m);
                }
                _ if modules.contains_key(&parent) => {
                    targets.insert(parent.clone());
                }
                // `super::` of a top-level module is the root.
                _ if parent.is_empty() && *name != ROOT => {
                    targets.insert(ROOT.to_string());
                }
                _ => {}
            }
        }
        for line in code.lines() {
            if let Some(rest) = line.trim_start().strip_prefix("pub use ") {
                let child = rest.split("::").next().unwrap_or("");
                let full = join(name, child);
                if modules.contains_key(&full) {
                    targets.insert(full);
                }
            }
        }
        targets.remove(name);
        edges.insert(name.clone(), targets);
    }
    edges
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(v: &'a str, s: &mut State<'a>) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(w, s);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(v, &mut state);
        }
    }
    state.found
}

#[test]
fn the_module_graph_has_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = graph(&src);
    assert!(edges.contains_key("model") && edges.contains_key("probe::posture"));
    // The root is in the graph, at the top: no module uses it.
    assert!(edges[ROOT].contains("config"), "{:?}", edges[ROOT]);
    let users: Vec<&String> = edges
        .iter()
        .filter(|(_, targets)| targets.contains(ROOT))
        .map(|(m, _)| m)
        .collect();
    assert!(
        users.is_empty(),
        "modules that use the crate root: {users:?}"
    );
    let found = cycles(&edges);
    let explain: Vec<String> = found
        .iter()
        .flatten()
        .map(|m| format!("{m} -> {:?}", edges[m]))
        .collect();
    assert!(
        found.is_empty(),
        "import cycles {found:?}\n{}",
        explain.join("\n")
    );
    // The vocabulary is the bottom layer: it uses no module but the
    // FTP reply type (a leaf parser) and its own.
    let model_uses: BTreeSet<&String> = edges
        .iter()
        .filter(|(m, _)| m.as_str() == "model" || m.starts_with("model::"))
        .flat_map(|(_, targets)| targets)
        .filter(|t| t.as_str() != "model" && !t.starts_with("model::"))
        .collect();
    assert_eq!(
        model_uses.into_iter().collect::<Vec<_>>(),
        ["ftp::reply"],
        "model must stay a leaf"
    );
}

#[test]
fn the_check_sees_a_cycle_where_there_is_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir(src.join("a")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod a; pub mod b;").unwrap();
    std::fs::write(src.join("a/mod.rs"), "pub mod c;\nuse crate::b::Thing;\n").unwrap();
    std::fs::write(src.join("a/c.rs"), "use super::Other;\n").unwrap();
    std::fs::write(
        src.join("b.rs"),
        "// crate::a::c in a comment is no edge\nuse crate::a::{c::X, Y};\n",
    )
    .unwrap();
    let edges = graph(src);
    assert_eq!(edges["a::c"], BTreeSet::from(["a".to_string()]));
    assert_eq!(
        edges["b"],
        BTreeSet::from(["a".to_string(), "a::c".to_string()])
    );
    // a -> b -> a::c -> a.
    assert_eq!(cycles(&edges), vec![vec!["a", "a::c", "b"]]);
}

#[test]
fn the_check_sees_a_cycle_through_the_crate_root() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(
        src.join("lib.rs"),
        "pub mod a; pub mod b;\npub use a::Config;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("a.rs"),
        "use crate::b::Shard;\npub struct Config;\n",
    )
    .unwrap();
    std::fs::write(src.join("b.rs"), "use crate::Config;\npub struct Shard;\n").unwrap();
    let edges = graph(src);
    assert_eq!(edges["b"], BTreeSet::from([ROOT.to_string()]));
    assert_eq!(edges[ROOT], BTreeSet::from(["a".to_string()]));
    // b -> crate -> a -> b.
    assert_eq!(cycles(&edges), vec![vec!["a", "b", ROOT]]);
}
