//! A terminal that fits (the table at 80 columns, every finding shown once,
//! plain progress lines with a total and an ETA, `--help` wrapped) and the
//! shell completions and manual page, on the real binary.

use crate::support;

use std::process::{Command, Output, Stdio};

fn binary(args: &[&str], env: &[(&str, &str)]) -> Output {
    support::binary_command()
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run ftps-scan")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_table_fits_80_columns_and_shows_every_finding_once() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("demo.jsonl");
    let jsonl_arg = jsonl.display().to_string();
    let out = binary(
        &["demo", "-q", "--fail-on", "never", "--jsonl", &jsonl_arg],
        &[("COLUMNS", "80")],
    );
    let table = text(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    for line in table.lines() {
        assert!(
            line.chars().count() <= 80,
            "{}: {line}",
            line.chars().count()
        );
    }
    let words: Vec<&str> = table.split_whitespace().collect();
    for r in support::read_jsonl(&jsonl) {
        assert!(
            table.contains(&ftps_scan::report::table::endpoint_label(&r)),
            "{table}"
        );
        // The ids of the row that follows its label, each once.
        let label = ftps_scan::report::table::endpoint_label(&r);
        let at = words.iter().position(|w| *w == label).unwrap();
        let row_end = words[at + 1..]
            .iter()
            .position(|w| w.starts_with("127.0.0.1:"))
            .map_or(words.len(), |p| at + 1 + p);
        let row = &words[at..row_end];
        for f in &r.findings {
            assert_eq!(
                row.iter().filter(|w| **w == f.id).count(),
                1,
                "{} in {row:?}",
                f.id
            );
        }
    }
    // Without a width (a pipe, no COLUMNS) a row is one line, as before.
    let out = binary(&["demo", "-q", "--fail-on", "never"], &[("COLUMNS", "")]);
    let lines = text(&out.stdout).lines().count();
    assert_eq!(lines, 1 + 7, "{}", text(&out.stdout));
}

#[test]
fn progress_always_prints_plain_lines_with_a_total_and_an_eta() {
    let out = binary(
        &[
            "demo",
            "--fail-on",
            "never",
            "--progress",
            "always",
            "--progress-interval",
            "0.05",
        ],
        &[],
    );
    let stderr = text(&out.stderr);
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(" endpoints done"))
        .collect();
    assert!(progress.len() >= 2, "{stderr}");
    assert!(
        progress
            .iter()
            .all(|l| l.starts_with("ftps-scan: ") && l.contains("/7 endpoints done")),
        "{stderr}"
    );
    let last = progress.last().unwrap();
    assert!(
        last.starts_with("ftps-scan: 7/7 endpoints done"),
        "{stderr}"
    );
    assert!(last.contains(", ETA 0s"), "{stderr}");
    // No bar drawing: no carriage returns or escape sequences in a log.
    assert!(
        !stderr.contains('\r') && !stderr.contains('\u{1b}'),
        "{stderr:?}"
    );
}

#[test]
fn help_wraps_to_the_terminal_width() {
    for width in ["60", "100"] {
        let out = binary(&["--help"], &[("COLUMNS", width)]);
        let help = text(&out.stdout);
        assert!(help.contains("--html <FILE>"), "{help}");
        let widest = help.lines().map(|l| l.chars().count()).max().unwrap();
        let width: usize = width.parse().unwrap();
        assert!(
            widest <= width && widest > width - 15,
            "{widest} for {width}"
        );
    }
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let bash = binary(&["completions", "bash"], &[]);
    assert!(bash.status.success());
    let script = text(&bash.stdout);
    for word in ["--html", "--prom", "--input-format", "completions", "demo"] {
        assert!(script.contains(word), "{word}");
    }
    // bash parses it, and it registers a completion for the command.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ftps-scan.bash");
    std::fs::write(&file, &script).unwrap();
    let check = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p ftps-scan",
            file.display()
        ))
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    assert!(text(&check.stdout).contains("ftps-scan"), "{check:?}");

    let zsh = text(&binary(&["completions", "zsh"], &[]).stdout);
    assert!(zsh.starts_with("#compdef ftps-scan"), "{zsh}");
    assert!(zsh.contains("--html"));
    let fish = text(&binary(&["completions", "fish"], &[]).stdout);
    assert!(fish.contains("complete -c ftps-scan"), "{fish}");
    assert!(fish.contains("-l html"), "{fish}");
    let bad = binary(&["completions", "tcsh"], &[]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn the_manual_page_renders_with_man() {
    let out = binary(&["man"], &[]);
    assert!(out.status.success());
    let roff = text(&out.stdout);
    assert!(roff.contains(".TH ftps-scan 1"), "{roff}");
    if !support::tool_available("man", "apt-get install man-db") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("ftps-scan.1");
    std::fs::write(&page, &roff).unwrap();
    let rendered = Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .output()
        .unwrap();
    let shown = text(&rendered.stdout);
    assert!(rendered.status.success(), "{rendered:?}");
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SUBCOMMANDS"] {
        assert!(shown.contains(section), "{section}:\n{shown}");
    }
    assert!(shown.contains("--prom"), "{shown}");
}
