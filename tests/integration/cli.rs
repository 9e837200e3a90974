//! The real binary on a targets file: CSV and JSON Lines parsed back and
//! asserted field by field, input errors, exit codes.

use crate::support;

use crate::support::{read_csv, read_jsonl, run_binary, Pki};
use ftps_scan::report::csv::COLUMNS;
use ftps_scan::testbed::{closed_port, CertKind, ServerSpec, TestServer};
use ftps_scan::Status;

fn s(v: &str) -> String {
    v.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_file_to_csv_and_jsonl_field_by_field() {
    let pki = Pki::new("cli CA");
    let valid = pki
        .ftps(ServerSpec {
            greeting: vec!["Hello".into(), "second line".into()],
            require_tls_for_login: true,
            allow_prot_c: false,
            ..Default::default()
        })
        .await;
    let expired = pki
        .server(
            CertKind::Expired,
            ServerSpec {
                implicit: true,
                allow_prot_c: false,
                ..Default::default()
            },
        )
        .await;
    let plain = TestServer::start(ServerSpec::default()).await.unwrap();
    let dead = closed_port().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(
        &targets,
        format!(
            "# test targets\n\n{}\nftps://{}   # implicit\n{}\nbad host name\n{}\n127.0.0.1:70000\n",
            valid.addr, expired.addr, plain.addr, dead
        ),
    )
    .unwrap();
    let csv_path = dir.path().join("out.csv");
    let jsonl_path = dir.path().join("out.jsonl");
    let out = run_binary(vec![
        targets.display().to_string(),
        s("--ca-file"),
        ca.display().to_string(),
        s("--csv"),
        csv_path.display().to_string(),
        s("--jsonl"),
        jsonl_path.display().to_string(),
        s("--read-timeout"),
        s("3"),
        s("--no-versions"),
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Bad lines: named with file and line, the rest still scanned, exit 2.
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:6: more than one word on the line",
            targets.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{}:8: port 70000 is out of range",
            targets.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("ftps-scan: 4 endpoints"), "{stderr}");
    // The table on stdout has a header and one line per endpoint.
    assert!(stdout.starts_with("ENDPOINT"), "{stdout}");
    assert_eq!(stdout.lines().count(), 5, "{stdout}");

    let (header, rows) = read_csv(&csv_path);
    assert_eq!(header, COLUMNS, "the CSV header is the public contract");
    assert_eq!(rows.len(), 4);
    let row = |target: String| {
        rows.iter()
            .find(|r| r["target"] == target)
            .unwrap_or_else(|| panic!("{target}"))
    };

    let r = row(valid.addr.to_string());
    assert_eq!(r["input_index"], "0");
    assert_eq!(r["host"], "");
    assert_eq!(r["ip"], "127.0.0.1");
    assert_eq!(r["port"], valid.addr.port().to_string());
    assert_eq!(r["mode"], "explicit");
    assert_eq!(r["status"], "ok");
    assert_eq!(r["failed_phase"], "");
    assert_eq!(r["error"], "");
    assert!(
        r["scanned_at"].ends_with('Z') && r["scanned_at"].len() == 20,
        "{}",
        r["scanned_at"]
    );
    assert!(r["duration_ms"].parse::<u64>().is_ok());
    assert_eq!(r["banner"], "Hello;second line");
    assert_eq!(r["feat"], "AUTH TLS;PBSZ;PROT;EPSV;UTF8");
    assert_eq!(r["auth_tls_reply"], "234 Proceed with negotiation.");
    assert_eq!(r["auth_ssl_reply"], "");
    assert_eq!(r["tls_version"], "TLSv1.3");
    assert!(
        r["tls_cipher"].starts_with("TLS_AES_") || r["tls_cipher"].starts_with("TLS_CHACHA20"),
        "{}",
        r["tls_cipher"]
    );
    for v in ["sslv2", "sslv3", "tls1_0", "tls1_1", "tls1_2", "tls1_3"] {
        assert_eq!(r[v], "", "--no-versions leaves {v} empty");
    }
    assert_eq!(r["cert_subject"], "O=ftps-scan test server,CN=localhost");
    assert_eq!(r["cert_issuer"], "O=ftps-scan test PKI,CN=cli CA");
    assert_eq!(r["cert_sans"], "localhost;127.0.0.1");
    assert!(r["cert_not_before"].ends_with('Z'));
    assert!(r["cert_not_after"].ends_with('Z'));
    let days: i64 = r["cert_days_left"].parse().unwrap();
    assert!((88..=90).contains(&days), "{days}");
    assert_eq!(r["cert_expired"], "no");
    assert_eq!(r["cert_self_signed"], "no");
    assert_eq!(r["cert_trusted"], "yes");
    assert_eq!(r["cert_trust_error"], "");
    assert_eq!(r["cert_name_match"], "yes");
    assert_eq!(r["cert_key"], "EC-P256");
    assert_eq!(r["cert_signature"], "ecdsa-with-SHA256");
    assert_eq!(r["cert_sha256"].len(), 64);
    assert_eq!(r["verdict"], "pass");
    assert_eq!(r["findings"], "");
    assert_eq!(r["cleartext_login"], "refused");
    assert_eq!(
        r["cleartext_login_reply"],
        "530 Non-anonymous sessions must use encryption."
    );
    assert_eq!(r["login"], "ok");
    assert_eq!(r["prot_p"], "ok");
    assert_eq!(r["prot_c"], "refused");
    assert_eq!(r["pasv_address"], "127.0.0.1");
    assert!(r["pasv_port"].parse::<u16>().unwrap() > 0);
    assert_eq!(r["pasv_address_mismatch"], "no");
    assert_eq!(r["pasv_private_address"], "no");
    assert_eq!(r["passive_port"], "reachable");
    assert!(r["epsv_port"].parse::<u16>().unwrap() > 0);
    assert_eq!(
        r["data_tls"], "ok",
        "the data channel is checked by default"
    );
    assert_eq!(r["data_tls_resumed"], "yes");
    assert_eq!(r["data_tls_reuse_required"], "no");
    assert_eq!(r["prot_c_reply"], "536 Data connections must be encrypted.");
    assert_eq!(
        r["prot_c_transfer_reply"],
        "536 Data connections must be encrypted."
    );
    assert_eq!(r["client_cert"], "none");
    assert_eq!(r["auth_tls_race"], "no");

    let r = row(format!("ftps://{}", expired.addr));
    assert_eq!(r["input_index"], "1");
    assert_eq!(r["mode"], "implicit");
    assert_eq!(r["status"], "ok");
    assert_eq!(r["auth_tls_reply"], "");
    assert_eq!(r["cert_expired"], "yes");
    assert_eq!(r["cert_trusted"], "no");
    assert_eq!(r["cert_trust_error"], "expired");
    // A number the scanner computed stays a number for the spreadsheet.
    let days: i64 = r["cert_days_left"].parse().unwrap();
    assert!((-11..=-10).contains(&days), "{days}");
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["findings"], "cert-expired");

    let r = row(plain.addr.to_string());
    assert_eq!(r["status"], "no-tls");
    assert_eq!(r["failed_phase"], "auth");
    assert_eq!(r["auth_tls_reply"], "502 AUTH not supported");
    assert_eq!(r["auth_ssl_reply"], "502 AUTH not supported");
    assert_eq!(r["tls_version"], "");
    assert_eq!(r["cert_subject"], "");
    assert_eq!(r["cert_trusted"], "");
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["findings"], "ftp-no-tls;cleartext-login-allowed");
    assert_eq!(r["cleartext_login"], "allowed");
    assert_eq!(
        r["cleartext_login_reply"],
        "331 Please specify the password."
    );

    let r = row(dead.to_string());
    assert_eq!(r["input_index"], "3");
    assert_eq!(r["status"], "refused");
    assert_eq!(r["failed_phase"], "connect");
    assert_eq!(r["error"], "connection refused");
    assert_eq!(r["banner"], "");
    assert_eq!(r["verdict"], "error");

    // JSON Lines: the same endpoints with the nested report.
    let reports = read_jsonl(&jsonl_path);
    assert_eq!(reports.len(), 4);
    let valid_json = reports
        .iter()
        .find(|r| r.target == valid.addr.to_string())
        .unwrap();
    assert_eq!(valid_json.status, Status::Ok);
    assert_eq!(
        valid_json.ftp.banner.as_ref().unwrap().lines,
        vec!["Hello", "second line"]
    );
    assert_eq!(valid_json.ftp.auth_tls_reply.as_ref().unwrap().code, 234);
    let cert = valid_json.certificate.as_ref().unwrap();
    assert_eq!(cert.chain_length, 2);
    assert_eq!(cert.key_bits, Some(256));
    assert_eq!(valid_json.verdict, Some(ftps_scan::policy::Verdict::Pass));
    let expired_json = reports
        .iter()
        .find(|r| r.target.starts_with("ftps://"))
        .unwrap();
    assert_eq!(expired_json.findings.len(), 1);
    assert_eq!(
        expired_json.findings[0].severity,
        ftps_scan::policy::Severity::High
    );
    let dead_json = reports
        .iter()
        .find(|r| r.status == Status::Refused)
        .unwrap();
    assert_eq!(dead_json.failed_phase, Some(ftps_scan::Phase::Connect));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_follow_verdicts() {
    let pki = Pki::new("cli CA");
    let strict = |kind| ServerSpec {
        tls: Some(pki.tls(kind)),
        require_tls_for_login: true,
        allow_prot_c: false,
        ..Default::default()
    };
    let good = TestServer::start(ServerSpec {
        ..strict(CertKind::Valid)
    })
    .await
    .unwrap();
    let self_signed = TestServer::start(ServerSpec {
        ..strict(CertKind::SelfSigned)
    })
    .await
    .unwrap();
    let dead = closed_port().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let base = |extra: &[&str]| -> Vec<String> {
        let mut v = vec![
            s("-q"),
            s("--no-versions"),
            s("--ca-file"),
            ca.display().to_string(),
        ];
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let good_t = good.addr.to_string();
    let warn_t = self_signed.addr.to_string();
    let dead_t = dead.to_string();

    let out = run_binary(base(&["-t", &good_t])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty(), "-q prints nothing but errors");

    let out = run_binary(base(&["-t", &warn_t])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warn is below the default --fail-on fail"
    );
    let out = run_binary(base(&["-t", &warn_t, "--fail-on", "warn"])).await;
    assert_eq!(out.status.code(), Some(1));

    let out = run_binary(base(&["-t", &dead_t])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "dead endpoints alone do not fail the run"
    );
    let out = run_binary(base(&["-t", &dead_t, "--fail-on-error"])).await;
    assert_eq!(out.status.code(), Some(3));

    let out = run_binary(base(&["--ports", "0", "-t", &good_t])).await;
    assert_eq!(out.status.code(), Some(2), "port 0 is a usage error");
    let out = run_binary(base(&["--concurrency", "lots", "-t", &good_t])).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--concurrency"), "{stderr}");
    let out = run_binary(base(&["/nonexistent/targets.txt"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/targets.txt: No such file"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_output_fails_before_scanning_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("report.csv");
    let out = run_binary(vec![
        s("-t"),
        s("127.0.0.1:1"),
        s("--csv"),
        csv_path.display().to_string(),
        s("--jsonl"),
        s("/nonexistent-dir/report.jsonl"),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot write output file /nonexistent-dir/report.jsonl"),
        "{stderr}"
    );
    assert!(!csv_path.exists(), "the CSV opened first was removed again");
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_targets_and_sorted_csv_on_stdout() {
    let dead_a = closed_port().await.unwrap();
    let dead_b = closed_port().await.unwrap();
    let output = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = support::binary_command()
            .args(["-", "-f", "csv", "--sort", "input", "-q"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{dead_a}\n{dead_b}").unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), COLUMNS.join(","));
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    let second: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!((first[0], first[1]), ("0", dead_a.to_string().as_str()));
    assert_eq!((second[0], second[1]), ("1", dead_b.to_string().as_str()));
    assert_eq!(first[6], "refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_never_appears_in_any_output() {
    const PASSWORD: &str = "s3cret-Pa55-do-not-print";
    let pki = Pki::new("cli CA");
    let server = pki
        .ftps(ServerSpec {
            users: vec![(s("alice"), s(PASSWORD))],
            ..Default::default()
        })
        .await;
    let refusing = pki
        .ftps(ServerSpec {
            ..Default::default()
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let csv_path = dir.path().join("out.csv");
    let jsonl_path = dir.path().join("out.jsonl");
    let out = support::run_binary_env(
        vec![
            s("-t"),
            server.addr.to_string(),
            s("-t"),
            refusing.addr.to_string(),
            s("--user"),
            s("alice"),
            s("--ca-file"),
            ca.display().to_string(),
            s("--csv"),
            csv_path.display().to_string(),
            s("--jsonl"),
            jsonl_path.display().to_string(),
        ],
        vec![(s("FTPS_SCAN_PASSWORD"), s(PASSWORD))],
    )
    .await;
    let everything = [
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        std::fs::read_to_string(&csv_path).unwrap(),
        std::fs::read_to_string(&jsonl_path).unwrap(),
    ];
    for text in &everything {
        assert!(
            !text.contains(PASSWORD),
            "password leaked into output: {text}"
        );
    }
    let reports = read_jsonl(&jsonl_path);
    let ok = reports
        .iter()
        .find(|r| r.port == server.addr.port())
        .unwrap();
    assert_eq!(
        ok.posture.as_ref().unwrap().login.map(|v| v.as_str()),
        Some("ok")
    );
    assert_eq!(
        ok.posture.as_ref().unwrap().login_user.as_deref(),
        Some("alice")
    );
    let refused = reports
        .iter()
        .find(|r| r.port == refusing.addr.port())
        .unwrap();
    assert_eq!(
        refused.posture.as_ref().unwrap().login.map(|v| v.as_str()),
        Some("refused")
    );
    // The password did reach the server, under TLS only.
    let log = server.log();
    let pass: Vec<_> = log
        .commands
        .iter()
        .filter(|c| c.line.starts_with("PASS"))
        .collect();
    assert_eq!(pass.len(), 1);
    assert!(pass[0].secure);

    // --user without a password source is a usage error naming the fix.
    let out = run_binary(vec![
        s("-t"),
        server.addr.to_string(),
        s("--user"),
        s("alice"),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FTPS_SCAN_PASSWORD"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_cover_every_endpoint_exactly_once() {
    let port = closed_port().await.unwrap().port().to_string();
    let scan_shard = |extra: Vec<String>, env: Vec<(String, String)>| {
        let port = port.clone();
        async move {
            let mut args = vec![
                s("-t"),
                s("127.0.9.0/26"),
                s("--ports"),
                port,
                s("-f"),
                s("csv"),
                s("-q"),
            ];
            args.extend(extra);
            let out = support::run_binary_env(args, env).await;
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            reader
                .records()
                .map(|r| r.unwrap()[3].to_string())
                .collect::<Vec<String>>()
        }
    };
    let all = scan_shard(vec![], vec![]).await;
    assert_eq!(all.len(), 62, "a /26 has 62 hosts");
    let mut union = Vec::new();
    for k in 0..3 {
        let part = scan_shard(vec![s("--shard"), format!("{k}/3")], vec![]).await;
        assert!(
            !part.is_empty() && part.len() < 62,
            "shard {k}: {}",
            part.len()
        );
        union.extend(part);
    }
    // The same split, with the index from a Kubernetes Indexed Job.
    let from_env = scan_shard(
        vec![s("--shards"), s("3")],
        vec![(s("JOB_COMPLETION_INDEX"), s("1"))],
    )
    .await;
    let explicit = scan_shard(vec![s("--shard"), s("1/3")], vec![]).await;
    let (mut a, mut b) = (from_env, explicit);
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let (mut u, mut all) = (union, all);
    u.sort();
    all.sort();
    assert_eq!(u, all, "every endpoint exactly once across shards");

    let out = run_binary(vec![s("-t"), s("127.0.0.1"), s("--shard"), s("3/3")]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not below the shard count"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_fitted_to_the_open_file_limit() {
    let port = closed_port().await.unwrap().port();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -n 256 && exec {} -t 127.0.0.1:{port} -c 5000",
                env!("CARGO_BIN_EXE_ftps-scan")
            ))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the open-file limit is 256; lowering --concurrency from 5000 to 48"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_user_input_is_named_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let dead_a = closed_port().await.unwrap();
    let dead_b = closed_port().await.unwrap();
    let targets = dir.path().join("targets.txt");
    let long_line = "a".repeat(1 << 20);
    std::fs::write(
        &targets,
        format!("{dead_a}\n{long_line}\n10.0.0.0/33\n127.0.0.1:0\n127.0.0.1:70000\n{dead_b}\n"),
    )
    .unwrap();
    let csv_path = dir.path().join("out.csv");
    let out = run_binary(vec![
        targets.display().to_string(),
        s("-q"),
        s("-f"),
        s("csv"),
        s("-o"),
        csv_path.display().to_string(),
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let t = targets.display().to_string();
    for (line, why) in [
        (2, "line longer than 4096 bytes"),
        (3, "invalid CIDR block \"10.0.0.0/33\""),
        (4, "port 0 is out of range"),
        (5, "port 70000 is out of range"),
    ] {
        assert!(
            stderr.contains(&format!("{t}:{line}: {why}")),
            "line {line}: {stderr}"
        );
    }
    assert_eq!(stderr.lines().count(), 4, "one line per error: {stderr}");
    assert!(
        stderr.len() < 2000,
        "the 1 MB line is not echoed: {} bytes",
        stderr.len()
    );
    let (_, rows) = read_csv(&csv_path);
    let mut scanned: Vec<String> = rows.iter().map(|r| r["target"].clone()).collect();
    scanned.sort();
    let mut want = vec![dead_a.to_string(), dead_b.to_string()];
    want.sort();
    assert_eq!(
        scanned, want,
        "the good lines around the bad ones were scanned"
    );

    // An empty file, and one with only comments.
    for (name, text) in [("empty.txt", ""), ("comments.txt", "# nothing\n\n")] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = run_binary(vec![path.display().to_string(), s("-q")]).await;
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{}: holds no targets", path.display())),
            "{stderr}"
        );
    }

    // A binary file: named, cut short, nothing scanned, a valid empty CSV.
    let binary = dir.path().join("image.bin");
    let bytes: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&binary, bytes).unwrap();
    let out = run_binary(vec![
        binary.display().to_string(),
        s("-q"),
        s("-f"),
        s("csv"),
        s("-o"),
        csv_path.display().to_string(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&binary.display().to_string()), "{stderr}");
    assert!(
        stderr.lines().count() <= 51,
        "bad lines are capped: {} lines",
        stderr.lines().count()
    );
    let (header, rows) = read_csv(&csv_path);
    assert_eq!(header, COLUMNS);
    assert!(rows.is_empty());

    // Nonsense flag values: clap's usage error, exit 2, the flag named.
    for args in [
        vec![s("-t"), s("127.0.0.1"), s("--format"), s("xml")],
        vec![s("-t"), s("127.0.0.1"), s("--read-timeout=-3")],
        vec![s("-t"), s("127.0.0.1"), s("--no-such-flag")],
    ] {
        let flag = args[2].split('=').next().unwrap().to_string();
        let out = run_binary(args).await;
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&flag), "{flag}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_ports_are_scanned_once() {
    let a = closed_port().await.unwrap().port().to_string();
    let b = closed_port().await.unwrap().port().to_string();
    let out = run_binary(vec![
        s("-t"),
        s("127.0.0.1"),
        s("--ports"),
        format!("{a},{b},{a}"),
        s("-f"),
        s("csv"),
        s("-q"),
    ])
    .await;
    let text = String::from_utf8(out.stdout).unwrap();
    let mut ports: Vec<String> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap()[4].to_string())
        .collect();
    ports.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(ports, want);
}

/// `--threads 1` and `--threads 4` scan with the same facts (the number of
/// workers is not visible from outside; this checks the flag is taken and
/// changes no fact); zero or a word is a usage error naming the flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_flag_scans_alike_and_refuses_nonsense() {
    let pki = Pki::new("unit CA");
    let server = pki.ftps(ServerSpec::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path()).display().to_string();
    let scan = |threads: &'static str| {
        crate::support::Scan::new()
            .target(format!("ftp://{}", server.addr))
            .args([
                "--ca-file",
                &ca,
                "--read-timeout",
                "2",
                "--threads",
                threads,
            ])
            .run()
    };
    let (code_one, row_one, _) = scan("1").await.one();
    let (code_four, row_four, _) = scan("4").await.one();
    // The lax test server fails the policy (cleartext allowed): exit 1.
    assert_eq!(code_one, Some(1), "{row_one:?}");
    assert_eq!(code_four, Some(1), "{row_four:?}");
    for column in [
        "status",
        "verdict",
        "prot_c",
        "tls_version",
        "tls1_2",
        "tls1_3",
        "prot_p",
        "data_tls",
        "findings",
    ] {
        assert_eq!(row_one[column], row_four[column], "{column}");
    }
    assert_eq!(row_one["status"], "ok");
    for bad in ["0", "many"] {
        let out = run_binary(vec![
            s("--threads"),
            s(bad),
            s("-t"),
            server.addr.to_string(),
        ])
        .await;
        assert_eq!(out.status.code(), Some(2), "--threads {bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--threads"), "{stderr}");
    }
}
