//! The policy file, the findings CSV and `diff`, through the real binary.

mod support;

use ftps_scan::testbed::{server_config, CertKind, ServerSpec, TestPki, TestServer};
use support::{read_csv, run_binary};

fn s(v: &str) -> String {
    v.to_string()
}

fn strict(pki: &TestPki, kind: CertKind) -> ServerSpec {
    ServerSpec {
        tls: Some(
            server_config(
                &pki.issue(kind).unwrap(),
                &[&rustls::version::TLS13, &rustls::version::TLS12],
            )
            .unwrap(),
        ),
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
    let pki = TestPki::new("policy CA").unwrap();
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
    let pki = TestPki::new("diff CA").unwrap();
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
        let out = run_binary(vec![
            s("diff"),
            dir.path().join(old).display().to_string(),
            dir.path().join(new).display().to_string(),
            s("-f"),
            s("csv"),
        ])
        .await;
        assert_eq!(
            out.status.code(),
            Some(1),
            "something got worse ({old} vs {new})"
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<(String, String, String, String)> = reader
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
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("no changes"));

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
