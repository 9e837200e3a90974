//! The JSON Lines record's documented shape: the committed JSON Schema
//! accepts what the binary writes, refuses what it must not, and the
//! README's table of facts agrees with the CSV header, the schema and the
//! finding catalogue.

use crate::support;

use ftps_scan::policy::CATALOG;
use ftps_scan::report::csv::COLUMNS;
use serde_json::Value;
use std::collections::BTreeSet;

fn schema() -> Value {
    serde_json::from_str(ftps_scan::report::jsonl::SCHEMA).unwrap()
}

/// The demo (ok, no-tls and refused endpoints, each certificate case): each of
/// its records is valid, `schema_version` first.
#[tokio::test]
async fn every_record_of_the_demo_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("demo.jsonl");
    let out = support::run_binary(vec![
        "demo".into(),
        "-q".into(),
        "-f".into(),
        "jsonl".into(),
        "-o".into(),
        jsonl.display().to_string(),
    ])
    .await;
    let text = std::fs::read_to_string(&jsonl).unwrap();
    assert!(text.lines().count() >= 7, "{out:?}\n{text}");
    for line in text.lines() {
        assert!(line.starts_with("{\"schema_version\":1,"), "{line}");
    }
    let reports = support::read_jsonl(&jsonl);
    let statuses: BTreeSet<_> = reports.iter().map(|r| r.status.as_str()).collect();
    assert!(statuses.len() >= 3, "{statuses:?}");
}

#[test]
fn the_schema_refuses_what_a_record_must_not_be() {
    let good = r#"{"schema_version":1,"input_index":0,"target":"t","host":null,"ip":null,"port":21,"mode":"explicit","mode_detection":null,"status":"dns-error","failed_phase":"resolve","error":"no such host","scanned_at":"2026-12-01T00:00:00Z","duration_ms":3,"ftp":{"banner":null,"feat":null,"feat_reply":null,"auth_tls_reply":null,"auth_ssl_reply":null,"auth_tls_race":null,"auth_tls_in_feat":null,"quit_reply":null},"tls":null,"client_cert":null,"certificate":null,"versions":null,"posture":null,"transfer_path":"not-assessed","transfer_path_reason":"dns-error","verdict":"error","findings":[]}"#;
    assert_eq!(support::schema_errors(good), Vec::<String>::new());
    let mut value: Value = serde_json::from_str(good).unwrap();
    for (pointer, bad, why) in [
        ("/schema_version", Value::from(2), "const 1"),
        ("/status", Value::from("fine"), "not a status"),
        ("/mode", Value::from("both"), "not a mode"),
        ("/port", Value::from(70000), "not a port"),
        ("/scanned_at", Value::from("yesterday"), "not ISO 8601"),
        (
            "/ftp/banner",
            serde_json::json!({"code": 22, "lines": []}),
            "2-digit code",
        ),
        (
            "/findings",
            serde_json::json!([{"id": "x", "severity": "huge", "detail": ""}]),
            "severity",
        ),
    ] {
        let old = value.pointer(pointer).unwrap().clone();
        *value.pointer_mut(pointer).unwrap() = bad;
        let errors = support::schema_errors(&value.to_string());
        assert!(!errors.is_empty(), "{pointer}: {why} accepted");
        *value.pointer_mut(pointer).unwrap() = old;
    }
    // Closed objects: an unknown field at the top or nested is refused.
    value["surprise"] = Value::from(1);
    assert!(!support::schema_errors(&value.to_string()).is_empty());
    value.as_object_mut().unwrap().remove("surprise");
    value["ftp"]["banner_raw"] = Value::from("x");
    assert!(!support::schema_errors(&value.to_string()).is_empty());
    value["ftp"].as_object_mut().unwrap().remove("banner_raw");
    value.as_object_mut().unwrap().remove("schema_version");
    assert!(!support::schema_errors(&value.to_string()).is_empty());
}

#[test]
fn the_schema_lists_exactly_the_statuses_the_scanner_has() {
    let schema = schema();
    let listed: BTreeSet<&str> = schema["properties"]["status"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let ours: BTreeSet<&str> = ftps_scan::Status::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(listed, ours);
}

/// The object schema a dotted path (`posture.prot_c`, `findings[].id`,
/// `versions.results[v].verdict`) leads to, if the schema has it.
fn resolve<'a>(schema: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = schema;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((name, _)) => (name, true),
            None => (part, false),
        };
        node = object_of(schema, node)?.get("properties")?.get(name)?;
        if index {
            node = object_of(schema, node)?.get("items")?;
        }
    }
    Some(node)
}

/// `node` itself, its non-null `anyOf` branch, or what its `$ref` names.
fn object_of<'a>(schema: &'a Value, node: &'a Value) -> Option<&'a Value> {
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        return schema.pointer(r.strip_prefix('#')?);
    }
    if let Some(branches) = node.get("anyOf").and_then(Value::as_array) {
        let branch = branches.iter().find(|b| b["type"] != "null")?;
        return object_of(schema, branch);
    }
    Some(node)
}

#[test]
fn the_readme_table_maps_every_column_to_the_schema_and_the_findings() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = readme
        .split("<!-- facts-table -->")
        .nth(1)
        .and_then(|t| t.split("<!-- /facts-table -->").next())
        .expect("README has the facts table");
    let schema = schema();
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let mut columns = Vec::new();
    let mut findings = BTreeSet::new();
    for row in table.lines().filter(|l| l.starts_with("| ")).skip(1) {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        assert_eq!(cells.len(), 3, "{row}");
        columns.extend(ticked(cells[0]));
        let paths = ticked(cells[1]);
        assert_eq!(paths.len(), 1, "{row}");
        assert!(
            resolve(&schema, &paths[0]).is_some(),
            "{row}: {} is not in the schema",
            paths[0]
        );
        for id in ticked(cells[2]) {
            // Parenthesised notes in backticks are values, not ids.
            if ftps_scan::policy::catalog_entry(&id).is_some() {
                findings.insert(id);
            }
        }
    }
    assert_eq!(
        columns, COLUMNS,
        "the table lists the CSV columns in header order"
    );
    let catalogued: BTreeSet<String> = CATALOG.iter().map(|k| k.id.to_string()).collect();
    assert_eq!(
        findings, catalogued,
        "every finding id is mapped to its fact"
    );
    // And the resolver is not a yes-man.
    assert!(resolve(&schema, "posture.no_such_fact").is_none());
}

/// Every report enum's values are exactly what the schema lists at its
/// place (a `null` the schema allows beside them aside), so the schema
/// cannot drift from the labels the scanner writes.
#[test]
fn the_schema_lists_exactly_every_enums_values() {
    use ftps_scan::model::judgement::{Severity, Verdict};
    use ftps_scan::model::posture::*;
    use ftps_scan::model::tls::{TlsVersion, VersionVerdict};
    use ftps_scan::model::{ClientCert, Mode, ModeDetection, Phase};
    fn labels<T: std::fmt::Display>(all: &[T]) -> BTreeSet<String> {
        all.iter().map(|v| v.to_string()).collect()
    }
    let schema = schema();
    let places = [
        ("mode", labels(&Mode::ALL)),
        ("mode_detection", labels(&ModeDetection::ALL)),
        ("failed_phase", labels(&Phase::ALL)),
        ("client_cert", labels(&ClientCert::ALL)),
        ("verdict", labels(&Verdict::ALL)),
        ("transfer_path", labels(&TransferPath::ALL)),
        ("findings[].severity", labels(&Severity::ALL)),
        ("versions.results[].version", labels(&TlsVersion::ALL)),
        ("versions.results[].verdict", labels(&VersionVerdict::ALL)),
        ("versions.auth_tls_race[]", labels(&TlsVersion::ALL)),
        ("posture.cleartext_login", labels(&CleartextLogin::ALL)),
        ("posture.login", labels(&Login::ALL)),
        ("posture.prot_p", labels(&ProtP::ALL)),
        ("posture.prot_c", labels(&ProtC::ALL)),
        ("posture.passive_port", labels(&PassivePort::ALL)),
        ("posture.data_tls", labels(&DataTls::ALL)),
        (
            "posture.cleartext_after_auth",
            labels(&CleartextAfterAuth::ALL),
        ),
        ("posture.ftp_bounce", labels(&FtpBounce::ALL)),
        ("posture.ccc", labels(&Ccc::ALL)),
    ];
    for (path, ours) in places {
        let node = resolve(&schema, path).unwrap_or_else(|| panic!("{path} is not in the schema"));
        let node = object_of(&schema, node).unwrap();
        let listed: BTreeSet<String> = node["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has no enum: {node}"))
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        assert_eq!(listed, ours, "{path}");
    }
}
