//! Outputs never clobber inputs or each other; an unreadable input leaves
//! yesterday's report alone; `--no-clobber` and `--append` (issue "Safe,
//! honest outputs", point 2). The real binary, its files read back.

use crate::support;

use std::path::Path;

fn s(x: &Path) -> String {
    x.display().to_string()
}

async fn run(args: &[String]) -> (i32, String) {
    let out = support::run_binary(args.to_vec()).await;
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn colliding_paths_are_refused_before_anything_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("t.txt");
    std::fs::write(&targets, "127.0.0.1:1\n").unwrap();
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink(&targets, &link).unwrap();
    let report = dir.path().join("r.csv");
    let same_report = dir.path().join(".").join("r.csv");
    let q = "-q".to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![s(&targets), "-o".into(), s(&targets), q.clone()],
            "is also the targets file",
        ),
        (
            // a symlink to the targets file is the same file
            vec![s(&targets), "--csv".into(), s(&link), q.clone()],
            "is also the targets file",
        ),
        (
            // two spellings of one file that does not exist yet
            vec![
                s(&targets),
                "-o".into(),
                s(&report),
                "--jsonl".into(),
                s(&same_report),
                q.clone(),
            ],
            "name the same file",
        ),
        (
            // the whole-run reports are outputs like the others
            vec![s(&targets), "--html".into(), s(&targets), q.clone()],
            "--html",
        ),
        (
            vec![
                s(&targets),
                "--csv".into(),
                s(&report),
                "--prom".into(),
                s(&same_report),
                q.clone(),
            ],
            "--csv and --prom name the same file",
        ),
    ];
    for (args, why) in cases {
        let (code, stderr) = run(&args).await;
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_to_string(&targets).unwrap(), "127.0.0.1:1\n");
    assert!(!report.exists(), "no output was created");
}

#[tokio::test]
async fn a_missing_input_leaves_yesterdays_report_alone() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.csv");
    std::fs::write(&report, "yesterday\n").unwrap();
    let missing = dir.path().join("missing.txt");
    let (code, stderr) = run(&[
        s(&missing),
        "-f".into(),
        "csv".into(),
        "-o".into(),
        s(&report),
    ])
    .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot read targets file"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "yesterday\n");
}

#[tokio::test]
async fn no_clobber_refuses_and_append_adds_rows_under_one_header() {
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("t.txt");
    std::fs::write(&targets, "127.0.0.1:1\n").unwrap();
    let report = dir.path().join("r.csv");
    let scan = |extra: &[&str]| {
        let mut args = vec![
            s(&targets),
            "-q".into(),
            "-f".into(),
            "csv".into(),
            "-o".into(),
            s(&report),
        ];
        args.extend(extra.iter().map(|x| x.to_string()));
        args
    };
    let (code, stderr) = run(&scan(&[])).await;
    assert_eq!(code, 0, "{stderr}");
    let first = std::fs::read_to_string(&report).unwrap();
    assert_eq!(first.lines().count(), 2, "{first}");

    let (code, stderr) = run(&scan(&["--no-clobber"])).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("already exists (--no-clobber)"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&report).unwrap(), first);

    let (code, stderr) = run(&scan(&["--append"])).await;
    assert_eq!(code, 0, "{stderr}");
    let both = std::fs::read_to_string(&report).unwrap();
    assert_eq!(both.lines().count(), 3, "{both}");
    assert_eq!(both.matches("input_index").count(), 1, "one header: {both}");
    let rows = support::read_csv(&report);
    assert_eq!(rows.1.len(), 2, "two rows read back under the one header");
}

/// Raw control bytes other than line ends, DEL, and C1 controls (UTF-8
/// `C2 80`..`C2 9F`) in `bytes`.
fn raw_controls(bytes: &[u8]) -> Vec<usize> {
    let text = String::from_utf8_lossy(bytes);
    text.char_indices()
        .filter(|(_, c)| {
            let n = u32::from(*c);
            (n < 0x20 && *c != '\n' && *c != '\r') || (0x7f..=0x9f).contains(&n)
        })
        .map(|(i, _)| i)
        .collect()
}

#[tokio::test]
async fn a_hostile_greeting_reaches_no_output_raw() {
    // Title change, clipboard write (OSC 52), clear screen, a CSI in its C1
    // form, DEL, a fake row, and bytes that are not UTF-8.
    let mut greeting = b"220 \x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x1b[2J".to_vec();
    greeting.extend("\u{9b}31m fake pass row \u{7f}".as_bytes());
    greeting.extend(b" \xff\xfe end\r\n");
    let server = support::hostile_no_tls_server(greeting, b"502 \x1b[31mno TLS\x1b[0m\r\n").await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("r.csv");
    let jsonl = dir.path().join("r.jsonl");
    let html = dir.path().join("r.html");
    let prom = dir.path().join("r.prom");
    let out = support::run_binary(vec![
        "-t".into(),
        server.addr.to_string(),
        "--no-versions".into(),
        "--csv".into(),
        s(&csv),
        "--jsonl".into(),
        s(&jsonl),
        "--html".into(),
        s(&html),
        "--prom".into(),
        s(&prom),
    ])
    .await;
    let table = out.stdout;
    for (name, bytes) in [
        ("table", table.clone()),
        ("stderr", out.stderr.clone()),
        ("csv", std::fs::read(&csv).unwrap()),
        ("jsonl", std::fs::read(&jsonl).unwrap()),
        ("html", std::fs::read(&html).unwrap()),
        ("prom", std::fs::read(&prom).unwrap()),
    ] {
        assert_eq!(
            raw_controls(&bytes),
            Vec::<usize>::new(),
            "{name}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    let table = String::from_utf8_lossy(&table);
    // The table's notes quote the AUTH replies here, escapes made visible.
    assert!(table.contains("502 \\x1b[31mno TLS\\x1b[0m"), "{table}");
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    assert!(csv_text.contains("\\x1b]0;pwned\\x07"), "{csv_text}");
    assert!(csv_text.contains("\\u009b31m"), "{csv_text}");
    let html_text = std::fs::read_to_string(&html).unwrap();
    assert!(html_text.contains("\\x1b]0;pwned\\x07"), "{html_text}");
    assert!(html_text.contains("\\xff\\xfe end"), "{html_text}");
    let rows = support::read_jsonl(&jsonl);
    let banner = rows[0].ftp.banner.as_ref().unwrap().text();
    assert!(
        banner.contains("\\xff\\xfe end"),
        "invalid UTF-8 kept visibly: {banner}"
    );
    assert!(!banner.contains('\u{fffd}'), "{banner}");
    // JSON keeps the server's text exactly (escaped only in the encoding).
    assert!(
        banner.contains('\u{1b}') && banner.contains('\u{9b}'),
        "{banner:?}"
    );
}
