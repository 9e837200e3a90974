//! The policy file, the findings CSV and `diff`, through the real binary.

use crate::support::{read_csv, run_binary, run_binary_env, Pki};
use ftps_scan::testbed::{CertKind, ServerSpec, TestServer};

fn s(v: &str) -> String {
    v.to_string()
}

fn strict(pki: &Pki, kind: CertKind) -> ServerSpec {
    ServerSpec {
        tls: Some(pki.tls(kind)),
        require_tls_for_login: true,
        allow_prot_c: false,
        ..Default::default()
    }
}

/// Scans `targets` with the CA trusted, writing JSONL and CSV; returns the
/// exit code and stderr.
async fn scan(
    pki_pem: &str,
    dir: &std::path::Path,
    name: &str,
    targets: &[String],
    extra: &[String],
) -> (i32, String) {
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pki_pem).unwrap();
    let mut args = vec![
        s("-q"),
        s("--no-versions"),
        s("--ca-file"),
        ca.display().to_string(),
    ];
    for t in targets {
        args.push(s("-t"));
        args.push(t.clone());
    }
    args.extend([
        s("--jsonl"),
        dir.join(format!("{name}.jsonl")).display().to_string(),
        s("--csv"),
        dir.join(format!("{name}.csv")).display().to_string(),
        s("-f"),
        s("csv"),
        s("-o"),
        dir.join(format!("{name}.stdout.csv")).display().to_string(),
    ]);
    args.extend(extra.iter().cloned());
    let out = run_binary(args).await;
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_file_changes_verdicts_and_exit_code() {
    let pki = Pki::new("policy CA");
    let self_signed = TestServer::start(strict(&pki, CertKind::SelfSigned))
        .await
        .unwrap();
    let expired = TestServer::start(strict(&pki, CertKind::Expired))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let targets = vec![self_signed.addr.to_string(), expired.addr.to_string()];

    // Built-in policy: expired is high (fail), self-signed medium (warn).
    let (code, stderr) = scan(
        pki.ca_pem(),
        dir.path(),
        "default",
        &targets,
        &[
            s("--findings-csv"),
            dir.path().join("f.csv").display().to_string(),
        ],
    )
    .await;
    assert_eq!(code, 1, "{stderr}");
    let (header, rows) = read_csv(&dir.path().join("f.csv"));
    assert_eq!(header, ftps_scan::report::findings_csv::COLUMNS);
    let mut found: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["target"].clone(),
                r["finding"].clone(),
                r["severity"].clone(),
            )
        })
        .collect();
    found.sort();
    let mut want = vec![
        (expired.addr.to_string(), s("cert-expired"), s("high")),
        (
            self_signed.addr.to_string(),
            s("cert-self-signed"),
            s("medium"),
        ),
    ];
    want.sort();
    assert_eq!(found, want);

    // A policy that excepts the expired certificate (with a reason, until a
    // future date) and makes self-signed high.
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[severity]\n\"cert-self-signed\" = \"high\"\n\n[[exception]]\nfinding = \"cert-expired\"\ntargets = [\"{}\"]\nreason = \"being replaced, CHG-42\"\nexpires = 2999-01-01\n",
            expired.addr
        ),
    )
    .unwrap();
    let (code, _) = scan(
        pki.ca_pem(),
        dir.path(),
        "policy",
        &targets,
        &[s("--policy"), policy.display().to_string()],
    )
    .await;
    assert_eq!(code, 1, "self-signed is now high");
    let (_, rows) = read_csv(&dir.path().join("policy.csv"));
    let row = |t: String| rows.iter().find(|r| r["target"] == t).unwrap().clone();
    assert_eq!(row(self_signed.addr.to_string())["verdict"], "fail");
    assert_eq!(row(expired.addr.to_string())["verdict"], "pass");
    assert_eq!(row(expired.addr.to_string())["findings"], "");

    // An exception that has expired no longer applies.
    std::fs::write(
        &policy,
        format!(
            "[[exception]]\nfinding = \"cert-expired\"\ntargets = [\"{}\"]\nreason = \"was being replaced\"\nexpires = 2001-01-01\n",
            expired.addr
        ),
    )
    .unwrap();
    let (_, _) = scan(
        pki.ca_pem(),
        dir.path(),
        "lapsed",
        &targets,
        &[s("--policy"), policy.display().to_string()],
    )
    .await;
    let (_, rows) = read_csv(&dir.path().join("lapsed.csv"));
    assert!(rows.iter().any(|r| r["findings"] == "cert-expired"));

    // A bad policy: exit 2, the file, line and key named, nothing scanned.
    std::fs::write(&policy, "[severity]\n\"cert-self-signed\" = \"huge\"\n").unwrap();
    let (code, stderr) = scan(
        pki.ca_pem(),
        dir.path(),
        "bad",
        &targets,
        &[s("--policy"), policy.display().to_string()],
    )
    .await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains(&format!(
            "{}:2: severity.cert-self-signed: unknown severity \"huge\"",
            policy.display()
        )),
        "{stderr}"
    );
    assert!(
        !dir.path().join("bad.csv").exists(),
        "no output is started for a bad policy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_of_two_real_runs() {
    let pki = Pki::new("diff CA");
    let dir = tempfile::tempdir().unwrap();
    let stable = TestServer::start(strict(&pki, CertKind::Valid))
        .await
        .unwrap();
    let changing = TestServer::start(strict(&pki, CertKind::Valid))
        .await
        .unwrap();
    let leaving = TestServer::start(strict(&pki, CertKind::Valid))
        .await
        .unwrap();
    let changing_addr = changing.addr;
    let first = vec![
        stable.addr.to_string(),
        changing_addr.to_string(),
        leaving.addr.to_string(),
    ];
    let (code, stderr) = scan(pki.ca_pem(), dir.path(), "old", &first, &[]).await;
    assert_eq!(code, 0, "{stderr}");

    // The second run: the same address now serves an expired certificate,
    // one endpoint is gone and a new one appears.
    drop(changing);
    let replaced = TestServer::start_on(strict(&pki, CertKind::Expired), changing_addr)
        .await
        .unwrap();
    let arriving = TestServer::start(strict(&pki, CertKind::SelfSigned))
        .await
        .unwrap();
    let second = vec![
        stable.addr.to_string(),
        replaced.addr.to_string(),
        arriving.addr.to_string(),
    ];
    let (_, _) = scan(pki.ca_pem(), dir.path(), "new", &second, &[]).await;

    for (old, new) in [
        ("old.jsonl", "new.jsonl"),
        ("old.csv", "new.csv"),
        ("old.csv", "new.jsonl"),
    ] {
        let (code, rows, _) = diff_rows(&dir.path().join(old), &dir.path().join(new), &[]).await;
        assert_eq!(code, 1, "something got worse ({old} vs {new})");
        let has = |kind: &str, target: &str| rows.iter().any(|r| r.0 == kind && r.1 == target);
        let changed = changing_addr.to_string();
        assert!(has("finding-new", &changed), "{rows:?}");
        assert!(has("verdict-changed", &changed), "{rows:?}");
        assert!(has("cert-changed", &changed), "{rows:?}");
        assert!(has("disappeared", &leaving.addr.to_string()), "{rows:?}");
        assert!(has("appeared", &arriving.addr.to_string()), "{rows:?}");
        assert!(
            !rows.iter().any(|r| r.1 == stable.addr.to_string()),
            "the unchanged endpoint has no rows: {rows:?}"
        );
    }

    // Comparing a run with itself: no changes, exit 0.
    let same = dir.path().join("old.jsonl").display().to_string();
    let out = run_binary(vec![s("diff"), same.clone(), same]).await;
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim_end().lines().last(),
        Some("totals: 3 endpoints before, 3 now; no changes; 0 worse"),
        "{stdout}"
    );

    // A file that is not a report: exit 2, named.
    let bogus = dir.path().join("bogus.csv");
    std::fs::write(&bogus, "a,b\n1,2\n").unwrap();
    let out = run_binary(vec![
        s("diff"),
        bogus.display().to_string(),
        dir.path().join("new.csv").display().to_string(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lacks the column"));
}

/// `diff` output as (change, target, detail, worse) rows, and its exit code.
async fn diff_rows(
    old: &std::path::Path,
    new: &std::path::Path,
    extra: &[&str],
) -> (i32, Vec<(String, String, String, String)>, String) {
    let mut args = vec![
        s("diff"),
        old.display().to_string(),
        new.display().to_string(),
    ];
    args.extend([s("-f"), s("csv")]);
    args.extend(extra.iter().map(|e| e.to_string()));
    let out = run_binary(args).await;
    let text = String::from_utf8(out.stdout).unwrap();
    let rows = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_string(),
                r[1].to_string(),
                r[4].to_string(),
                r[5].to_string(),
            )
        })
        .collect();
    (
        out.status.code().unwrap_or(-1),
        rows,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_never_hides_a_regression() {
    let pki = Pki::new("regression CA");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stable = TestServer::start(strict(&pki, CertKind::Valid))
        .await
        .unwrap();
    let leaving = TestServer::start(strict(&pki, CertKind::Valid))
        .await
        .unwrap();
    let self_signed = TestServer::start(strict(&pki, CertKind::SelfSigned))
        .await
        .unwrap();
    let flaky_addr = self_signed.addr;
    let all = vec![
        stable.addr.to_string(),
        leaving.addr.to_string(),
        flaky_addr.to_string(),
    ];
    let (code, stderr) = scan(pki.ca_pem(), d, "base", &all, &[]).await;
    assert_eq!(code, 0, "{stderr}");
    let record = std::fs::read_to_string(d.join("base.csv.run.json")).unwrap();
    let record: serde_json::Value = serde_json::from_str(record.trim()).unwrap();
    assert_eq!(record["record"], "ftps-scan-run");
    assert_eq!(record["completed"], true);
    assert_eq!(record["counts"]["endpoints"], 3);
    assert_eq!(record["settings"]["versions"], "off");
    assert_eq!(record["policy"], "default");

    // A shrunk report: the endpoint that disappeared is a regression
    // unless the user expects it.
    let shrunk = vec![stable.addr.to_string(), flaky_addr.to_string()];
    scan(pki.ca_pem(), d, "shrunk", &shrunk, &[]).await;
    let (code, rows, stderr) = diff_rows(&d.join("base.csv"), &d.join("shrunk.csv"), &[]).await;
    assert_eq!(code, 1, "{rows:?}");
    assert!(
        rows.contains(&(
            s("disappeared"),
            leaving.addr.to_string(),
            s("was status ok, verdict pass"),
            s("yes")
        )),
        "{rows:?}"
    );
    assert_eq!(
        stderr.trim(),
        "totals: 3 endpoints before, 2 now; disappeared 1; 1 worse"
    );
    let (code, rows, _) = diff_rows(
        &d.join("base.csv"),
        &d.join("shrunk.csv"),
        &["--allow-disappeared"],
    )
    .await;
    assert_eq!(code, 0, "{rows:?}");

    // A report with no endpoints at all.
    let header = std::fs::read_to_string(d.join("base.csv")).unwrap();
    let header = header.lines().next().unwrap();
    std::fs::write(d.join("empty.csv"), format!("{header}\n")).unwrap();
    let (code, rows, _) = diff_rows(&d.join("base.csv"), &d.join("empty.csv"), &[]).await;
    assert_eq!(code, 1);
    assert!(
        rows.iter().any(|r| r.0 == "report-empty" && r.3 == "yes"),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r.0 == "run-differs" && r.2.contains("no run record beside the later report")),
        "{rows:?}"
    );
    let (code, _, _) = diff_rows(
        &d.join("base.csv"),
        &d.join("empty.csv"),
        &["--allow-disappeared", "--allow-empty"],
    )
    .await;
    assert_eq!(code, 0);

    // TLS now fails where a self-signed certificate was: the certificate
    // finding could not be observed, so it is unknown, not resolved.
    drop(self_signed);
    let plain = TestServer::start_on(ServerSpec::default(), flaky_addr)
        .await
        .unwrap();
    scan(pki.ca_pem(), d, "broken", &all, &[]).await;
    for (old, new) in [("base.csv", "broken.csv"), ("base.jsonl", "broken.jsonl")] {
        let (code, rows, _) = diff_rows(&d.join(old), &d.join(new), &[]).await;
        assert_eq!(code, 1, "{rows:?}");
        let target = flaky_addr.to_string();
        assert!(
            rows.iter().any(|r| r.0 == "finding-unknown"
                && r.1 == target
                && r.2.starts_with("cert-self-signed")),
            "{old}: {rows:?}"
        );
        assert!(
            !rows.iter().any(|r| r.0 == "finding-resolved"),
            "{old}: {rows:?}"
        );
        assert!(
            rows.contains(&(s("status-changed"), target, s("ok -> no-tls"), s("yes"))),
            "{rows:?}"
        );
    }
    drop(plain);

    // The same servers under another policy and without the data checks:
    // the diff says the runs were made differently.
    let policy = d.join("policy.toml");
    std::fs::write(&policy, "[severity]\n\"cert-self-signed\" = \"low\"\n").unwrap();
    let restored = TestServer::start_on(strict(&pki, CertKind::SelfSigned), flaky_addr)
        .await
        .unwrap();
    scan(
        pki.ca_pem(),
        d,
        "changed",
        &all,
        &[s("--policy"), policy.display().to_string(), s("--no-data")],
    )
    .await;
    let (_, rows, _) = diff_rows(&d.join("base.jsonl"), &d.join("changed.jsonl"), &[]).await;
    let notes: Vec<&str> = rows
        .iter()
        .filter(|r| r.0 == "run-differs")
        .map(|r| r.2.as_str())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("the runs were made differently: policy default -> ")),
        "{notes:?}"
    );
    assert!(
        notes.contains(&"the runs were made differently: data on -> off"),
        "{notes:?}"
    );
    drop(restored);

    // The table ends with the totals line.
    let out = run_binary(vec![
        s("diff"),
        d.join("base.csv").display().to_string(),
        d.join("shrunk.csv").display().to_string(),
    ])
    .await;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.trim_end().ends_with("disappeared 1; 1 worse"),
        "{table}"
    );
}

/// The README's Kubernetes Indexed Job: each pod runs one shard with
/// `--fail-on never`, so findings give exit 0 (a successful pod) while bad
/// input still gives 2; the parts are merged, and the gate is `diff` of
/// yesterday's merged sweep against today's (exit 1 when worse).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_indexed_job_with_findings_succeeds_and_the_diff_gates_it() {
    let pki = Pki::new("job CA");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = d.join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let a = TestServer::start(strict(&pki, CertKind::Valid))
        .await
        .unwrap();
    let b = TestServer::start(strict(&pki, CertKind::Valid))
        .await
        .unwrap();
    let a_addr = a.addr;
    let targets = [a_addr.to_string(), b.addr.to_string()];

    // One day's sweep: two pods, one shard each; their codes and the
    // merged JSON Lines.
    let sweep = |day: &'static str, extra: Vec<String>| {
        let targets = targets.clone();
        let ca = ca.clone();
        async move {
            let mut codes = Vec::new();
            let mut merged = String::new();
            for index in 0..2 {
                let part = d.join(format!("{day}-part-{index}.jsonl"));
                let mut args = vec![s("--shards"), s("2"), s("-q"), s("--no-versions")];
                args.extend([s("--ca-file"), ca.display().to_string()]);
                for t in &targets {
                    args.extend([s("-t"), t.clone()]);
                }
                args.extend([s("-f"), s("jsonl"), s("-o"), part.display().to_string()]);
                args.extend(extra.iter().cloned());
                let env = vec![(s("JOB_COMPLETION_INDEX"), index.to_string())];
                let out = run_binary_env(args, env).await;
                codes.push(out.status.code().unwrap_or(-1));
                merged.push_str(&std::fs::read_to_string(&part).unwrap_or_default());
            }
            let path = d.join(format!("sweep-{day}.jsonl"));
            std::fs::write(&path, merged).unwrap();
            (codes, path)
        }
    };
    let never = vec![s("--fail-on"), s("never")];
    let (codes, yesterday) = sweep("day1", never.clone()).await;
    assert_eq!(codes, [0, 0]);
    assert_eq!(
        std::fs::read_to_string(&yesterday).unwrap().lines().count(),
        2,
        "the shards cover both"
    );

    // Today one server's certificate has expired: a high finding.
    drop(a);
    let expired = TestServer::start_on(strict(&pki, CertKind::Expired), a_addr)
        .await
        .unwrap();
    let (codes, today) = sweep("day2", never.clone()).await;
    assert_eq!(
        codes,
        [0, 0],
        "findings do not fail a pod under --fail-on never"
    );
    let (codes, _) = sweep("day2-default", vec![]).await;
    assert_eq!(
        codes.iter().filter(|c| **c == 1).count(),
        1,
        "without it the pod with the finding exits 1: {codes:?}"
    );
    // Bad input still fails the pod (2 outranks 1 and --fail-on never).
    let mut bad = never.clone();
    bad.extend([s("-t"), s("not a target!")]);
    let (codes, _) = sweep("day2-bad", bad).await;
    assert_eq!(codes, [2, 2]);

    // The gate: worse today than yesterday.
    let (code, rows, _) = diff_rows(&yesterday, &today, &[]).await;
    assert_eq!(code, 1, "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.0 == "finding-new" && r.1 == a_addr.to_string() && r.2 == "cert-expired"),
        "{rows:?}"
    );
    let (code, rows, _) = diff_rows(&yesterday, &yesterday, &[]).await;
    assert_eq!(code, 0, "{rows:?}");
    drop(expired);
}
