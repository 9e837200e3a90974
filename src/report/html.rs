//! `--html`: one self-contained page for auditors: summary tiles, charts
//! (accepted TLS versions, findings by severity, certificate expiry), a
//! sortable and filterable endpoint table, and each endpoint's evidence.
//!
//! Everything is inline (CSS, SVG, a little JS) and the page's
//! Content-Security-Policy forbids every fetch, so it opens from a mail
//! attachment or an air-gapped share. The template engine (maud) escapes
//! every interpolation for HTML; server text additionally goes through
//! [`visible`] first, so control characters show as `\x1b` rather than
//! reaching a terminal that a copied snippet is pasted into.

use super::escape::visible;
use super::table::{accepted_versions, certificate_summary, display_label};
use super::{in_input_order, EndpointReport, RunInfo, Status};
use crate::ftp::Reply;
use crate::model::tls::TlsVersion;
use crate::policy::{Severity, Verdict};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::collections::BTreeMap;

/// Severities as the page lists them: the worst first.
const SEVERITIES: [Severity; 5] = {
    let [a, b, c, d, e] = Severity::ALL;
    [e, d, c, b, a]
};

/// Certificates drawn on the expiry timeline at most (the table has all).
const TIMELINE_MAX: usize = 40;

/// The whole page.
pub fn render(reports: &[EndpointReport], run: &RunInfo) -> String {
    let reports = in_input_order(reports);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content={ "ftps-scan " (run.version) };
                title { "FTPS scan report, " (run.started_at) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    h1 { "FTPS scan report" }
                    p.meta {
                        "Started " time datetime=(run.started_at) { (run.started_at) }
                        ", " (format!("{:.1}", run.duration.as_secs_f64())) " s, "
                        (reports.len()) " endpoints, ftps-scan " (run.version)
                        @if run.interrupted { strong.bad { " (interrupted: partial report)" } }
                        @if run.input_errors > 0 { strong.bad { ", " (run.input_errors) " input errors" } }
                    }
                }
                section #summary aria-label="Summary" {
                    @for tile in tiles(&reports) { (tile.markup()) }
                }
                section #charts {
                    figure.chart #chart-versions {
                        figcaption { "Accepted protocol versions (endpoints)" }
                        (versions_chart(&reports))
                    }
                    figure.chart #chart-severity {
                        figcaption { "Findings by severity" }
                        (severity_chart(&reports))
                    }
                    figure.chart.wide #chart-expiry {
                        figcaption { "Certificate expiry (days left)" }
                        (expiry_timeline(&reports))
                    }
                }
                section #table-section {
                    h2 { "Endpoints" }
                    div.controls {
                        label { "Filter " input #filter type="search" placeholder="text in any cell"; }
                        label { " Verdict "
                            select #verdict-filter {
                                option value="" { "all" }
                                @for v in ["fail", "warn", "pass", "error"] { option value=(v) { (v) } }
                            }
                        }
                        span #shown {}
                    }
                    table #endpoints {
                        thead { tr {
                            @for (heading, kind) in TABLE_HEADINGS {
                                th data-kind=(kind) tabindex="0" title="sort" { (heading) }
                            }
                        } }
                        tbody {
                            @for (i, r) in reports.iter().enumerate() { (table_row(i, r)) }
                        }
                    }
                }
                section #details {
                    h2 { "Evidence per endpoint" }
                    @for (i, r) in reports.iter().enumerate() { (detail(i, r)) }
                }
                script { (PreEscaped(JS)) }
            }
        }
    };
    page.into_string()
}

/// One summary tile: a number, what it counts, and a breakdown.
struct Tile {
    label: &'static str,
    value: String,
    parts: Vec<(String, u64)>,
    tone: &'static str,
}

impl Tile {
    fn markup(&self) -> Markup {
        html! {
            div class={ "tile " (self.tone) } data-tile=(self.label) {
                div.value { (self.value) }
                div.label { (self.label) }
                @if !self.parts.is_empty() {
                    ul { @for (name, n) in &self.parts {
                        li data-part=(name) { span.part-name { (name) } " " span.part-count { (n) } }
                    } }
                }
            }
        }
    }
}

/// A tile counting values: the total and each value's count, in the order
/// given by `order` first, then any other value. A tile for a new fact is
/// one call, e.g. `breakdown("transfer paths", &[...], values)`.
fn breakdown<'a>(
    label: &'static str,
    order: &[&str],
    values: impl Iterator<Item = &'a str>,
) -> Tile {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    let mut total = 0;
    for v in values {
        *counts.entry(v).or_default() += 1;
        total += 1;
    }
    let mut parts: Vec<(String, u64)> = order
        .iter()
        .filter_map(|o| counts.remove(o).map(|n| (o.to_string(), n)))
        .collect();
    parts.extend(counts.into_iter().map(|(v, n)| (visible(v), n)));
    Tile {
        label,
        value: total.to_string(),
        parts,
        tone: "",
    }
}

fn verdict_str(v: Option<Verdict>) -> &'static str {
    match v {
        Some(Verdict::Pass) => "pass",
        Some(Verdict::Warn) => "warn",
        Some(Verdict::Fail) => "fail",
        Some(Verdict::Error) | None => "error",
    }
}

/// The summary tiles, in display order.
fn tiles(reports: &[&EndpointReport]) -> Vec<Tile> {
    let mut endpoints = breakdown(
        "endpoints",
        &["ok"],
        reports.iter().map(|r| r.status.as_str()),
    );
    endpoints.parts.retain(|(name, _)| name != "ok");
    let ftps = reports.iter().filter(|r| r.status == Status::Ok).count();
    endpoints.parts.insert(0, ("FTPS ok".into(), ftps as u64));
    let mut verdicts = breakdown(
        "verdicts",
        &["fail", "warn", "pass", "error"],
        reports.iter().map(|r| verdict_str(r.verdict)),
    );
    // The worst verdict of those assessed (`error` says nothing of posture).
    let worst = reports
        .iter()
        .filter_map(|r| r.verdict)
        .filter(|v| *v != Verdict::Error)
        .max();
    verdicts.value = worst.map(|w| w.to_string()).unwrap_or_else(|| "-".into());
    verdicts.tone = match worst {
        Some(Verdict::Fail) => "bad",
        Some(Verdict::Warn) => "warn",
        Some(Verdict::Pass) => "good",
        _ => "",
    };
    let findings = breakdown(
        "findings",
        &SEVERITIES.map(Severity::as_str),
        reports
            .iter()
            .flat_map(|r| r.findings.iter().map(|f| f.severity.as_str())),
    );
    let expiring = reports
        .iter()
        .filter_map(|r| r.certificate.as_ref()?.days_left)
        .collect::<Vec<_>>();
    let certs = Tile {
        label: "certificates",
        value: expiring.len().to_string(),
        parts: vec![
            (
                "expired".into(),
                expiring.iter().filter(|d| **d < 0).count() as u64,
            ),
            (
                "within 30 days".into(),
                expiring.iter().filter(|d| (0..30).contains(*d)).count() as u64,
            ),
        ],
        tone: if expiring.iter().any(|d| *d < 0) {
            "bad"
        } else {
            ""
        },
    };
    // Can a client move a file here with nothing in clear?
    let mut transfer = breakdown(
        "transfer paths",
        &["protected", "cleartext-possible", "broken", "not-assessed"],
        reports
            .iter()
            .filter_map(|r| r.transfer_path.map(|t| t.as_str())),
    );
    transfer.tone = if transfer
        .parts
        .iter()
        .any(|(p, _)| p == "cleartext-possible" || p == "broken")
    {
        "warn"
    } else {
        ""
    };
    vec![endpoints, verdicts, findings, certs, transfer]
}

const TABLE_HEADINGS: [(&str, &str); 9] = [
    ("Endpoint", "text"),
    ("Mode", "text"),
    ("Status", "text"),
    ("TLS", "text"),
    ("Accepts", "text"),
    ("Certificate", "text"),
    ("Days left", "num"),
    ("Verdict", "verdict"),
    ("Findings", "text"),
];

fn anchor(i: usize) -> String {
    format!("ep-{i}")
}

fn table_row(i: usize, r: &EndpointReport) -> Markup {
    let verdict = verdict_str(r.verdict);
    let days = r.certificate.as_ref().and_then(|c| c.days_left);
    let mut ids: Vec<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
    ids.dedup();
    html! {
        tr data-verdict=(verdict) {
            td { a href={ "#" (anchor(i)) } { (visible(&display_label(r))) } }
            td { (r.mode) }
            td { (r.status) }
            td { (r.tls.as_ref().map(|t| visible(&t.version)).unwrap_or_default()) }
            td { (accepted_versions(r)) }
            td { (visible(&certificate_summary(r))) }
            td data-sort=(days.map(|d| d.to_string()).unwrap_or_default()) { (days.map(|d| d.to_string()).unwrap_or_default()) }
            td { span class={ "verdict " (verdict) } { (verdict) } }
            td.ids { (ids.join(" ")) }
        }
    }
}

/// A reply as `code text`, server text made visible.
fn reply(r: Option<&Reply>) -> Markup {
    html! {
        @if let Some(r) = r {
            code { (r.code) } " "
            (visible(&r.lines.join("\n")))
            @if r.truncated { em { " (truncated)" } }
        } @else { span.none { "-" } }
    }
}

fn fact(name: &str, value: Option<String>) -> Markup {
    html! {
        dt { (name) }
        dd { @match value { Some(v) => (visible(&v)), None => span.none { "-" } } }
    }
}

fn yes_no(b: Option<bool>) -> Option<String> {
    b.map(|b| if b { "yes" } else { "no" }.to_string())
}

fn detail(i: usize, r: &EndpointReport) -> Markup {
    let verdict = verdict_str(r.verdict);
    html! {
        details.endpoint id=(anchor(i)) data-verdict=(verdict) {
            summary {
                span class={ "verdict " (verdict) } { (verdict) } " "
                strong { (visible(&display_label(r))) } " "
                span.muted { (r.mode) ", " (r.status) }
            }
            div.grid {
                div {
                    h3 { "Outcome" }
                    dl {
                        (fact("target", Some(r.target.clone())))
                        (fact("host", r.host.clone()))
                        (fact("address", r.ip.map(|ip| ip.to_string())))
                        (fact("port", Some(r.port.to_string())))
                        (fact("status", Some(r.status.to_string())))
                        (fact("failed phase", r.failed_phase.map(|p| p.to_string())))
                        (fact("error", r.error.clone()))
                        (fact("scanned at", Some(r.scanned_at.clone())))
                        (fact("duration", Some(format!("{} ms", r.duration_ms))))
                    }
                    h3 { "Findings" }
                    @if r.findings.is_empty() { p.none { "none" } }
                    ul.findings {
                        @for f in &r.findings {
                            li { span class={ "sev " (f.severity) } { (f.severity) } " " code { (visible(&f.id)) } " " (visible(&f.detail)) }
                        }
                    }
                }
                div {
                    h3 { "Replies" }
                    dl.replies {
                        dt { "greeting" } dd { (reply(r.ftp.banner.as_ref())) }
                        dt { "FEAT" } dd { (reply(r.ftp.feat_reply.as_ref())) }
                        dt { "AUTH TLS" } dd { (reply(r.ftp.auth_tls_reply.as_ref())) }
                        @if r.ftp.auth_ssl_reply.is_some() { dt { "AUTH SSL" } dd { (reply(r.ftp.auth_ssl_reply.as_ref())) } }
                        @if let Some(p) = &r.posture {
                            dt { "USER in clear" } dd { (reply(p.cleartext_login_reply.as_ref())) }
                            dt { "login" } dd { (reply(p.login_reply.as_ref())) }
                            dt { "PROT P" } dd { (reply(p.prot_p_reply.as_ref())) }
                            dt { "PROT C" } dd { (reply(p.prot_c_reply.as_ref())) }
                            dt { "cleartext transfer" } dd { (reply(p.prot_c_transfer_reply.as_ref())) }
                            dt { "PASV" } dd { (reply(p.pasv_reply.as_ref())) }
                            dt { "EPSV" } dd { (reply(p.epsv_reply.as_ref())) }
                        }
                    }
                }
            }
            div.grid {
                div {
                    h3 { "Protocol versions" }
                    @match &r.versions {
                        Some(v) => table.versions {
                            tr { th { "version" } th { "verdict" } th { "evidence" } }
                            @for res in &v.results {
                                tr { td { (res.version.as_str()) } td class=(res.verdict) { (res.verdict.as_str()) } td { (visible(&res.reason)) } }
                            }
                        },
                        None => p.none { "not probed" },
                    }
                    @if let Some(t) = &r.tls {
                        p { "Session: " (visible(&t.version)) ", " code { (visible(&t.cipher)) } }
                    }
                }
                div {
                    h3 { "Certificate" }
                    @match &r.certificate {
                        Some(c) => dl {
                            (fact("subject", Some(c.subject.clone())))
                            (fact("issuer", Some(c.issuer.clone())))
                            (fact("SANs", Some(c.sans.join(", "))))
                            (fact("valid", Some(format!("{} to {}", c.not_before.as_deref().unwrap_or("?"), c.not_after.as_deref().unwrap_or("?")))))
                            (fact("days left", c.days_left.map(|d| d.to_string())))
                            (fact("trusted", yes_no(Some(c.trusted))))
                            (fact("trust error", c.trust_error.as_ref().map(|t| t.to_string())))
                            (fact("name match", yes_no(c.name_match)))
                            (fact("key", Some(c.key.clone())))
                            (fact("signature", Some(c.signature.clone())))
                            (fact("chain", Some(format!("{} certificate(s), from the {}", c.chain_length, c.source))))
                            (fact("SHA-256", Some(c.sha256.clone())))
                        },
                        None => p.none { "none seen" },
                    }
                }
            }
            @if let Some(p) = &r.posture {
                h3 { "FTP posture" }
                dl.posture {
                    (fact("cleartext login", p.cleartext_login.map(|x| x.to_string())))
                    (fact("login", p.login.map(|x| x.to_string())))
                    (fact("PROT P", p.prot_p.map(|x| x.to_string())))
                    (fact("PROT C (cleartext data)", p.prot_c.map(|x| x.to_string())))
                    (fact("PASV address", p.pasv_address.clone()))
                    (fact("passive port", p.passive_port.map(|x| x.to_string())))
                    (fact("data TLS", p.data_tls.map(|x| x.to_string())))
                    (fact("data TLS resumed", yes_no(p.data_tls_resumed)))
                    (fact("session reuse required", yes_no(p.data_tls_reuse_required)))
                    (fact("posture error", p.error.clone()))
                }
            }
        }
    }
}

/// Horizontal bars, one per `(label, count, class)`.
fn bars(rows: &[(String, u64, &str)], unit: &str) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let (label_w, bar_w, row_h) = (70.0, 250.0, 24.0);
    let height = row_h * rows.len() as f64 + 4.0;
    html! {
        svg viewBox={ "0 0 360 " (height) } width="360" height=(height) role="img" {
            @for (i, (label, n, class)) in rows.iter().enumerate() {
                @let y = 2.0 + row_h * i as f64;
                @let w = bar_w * *n as f64 / max as f64;
                g class={ "bar " (class) } {
                    title { (label) ": " (n) " " (unit) }
                    text x=(label_w - 6.0) y=(y + 16.0) text-anchor="end" { (label) }
                    rect x=(label_w) y=(y + 3.0) width=(format!("{w:.1}")) height=(row_h - 6.0) rx="3" {}
                    text.count x=(label_w + w + 5.0) y=(y + 16.0) { (n) }
                }
            }
        }
    }
}

fn versions_chart(reports: &[&EndpointReport]) -> Markup {
    let rows: Vec<(String, u64, &str)> = TlsVersion::ALL
        .into_iter()
        .map(|v| {
            let n = reports
                .iter()
                .filter(|r| r.versions.as_ref().is_some_and(|x| x.accepts(v)))
                .count() as u64;
            let class = if v >= TlsVersion::Tls12 {
                "good"
            } else {
                "bad"
            };
            (v.to_string(), n, class)
        })
        .collect();
    bars(&rows, "endpoints accept it")
}

fn severity_chart(reports: &[&EndpointReport]) -> Markup {
    let rows: Vec<(String, u64, &str)> = SEVERITIES
        .iter()
        .map(|s| {
            let n = reports
                .iter()
                .flat_map(|r| &r.findings)
                .filter(|f| f.severity == *s)
                .count() as u64;
            (s.to_string(), n, s.as_str())
        })
        .collect();
    bars(&rows, "findings")
}

/// One row per distinct certificate (by fingerprint), placed by its days
/// left on an axis from the most expired to a year out, with the expiry
/// day and the 30-day warning marked.
fn expiry_timeline(reports: &[&EndpointReport]) -> Markup {
    let mut certs: Vec<(String, i64, Vec<String>)> = Vec::new();
    for r in reports {
        let Some(c) = &r.certificate else { continue };
        let Some(days) = c.days_left else { continue };
        let label = visible(&display_label(r));
        match certs.iter_mut().find(|(sha, _, _)| *sha == c.sha256) {
            Some(entry) => entry.2.push(label),
            None => certs.push((c.sha256.clone(), days, vec![label])),
        }
    }
    if certs.is_empty() {
        return html! { p.none { "no certificates seen" } };
    }
    certs.sort_by_key(|c| c.1);
    let hidden = certs.len().saturating_sub(TIMELINE_MAX);
    certs.truncate(TIMELINE_MAX);
    let lo = certs.iter().map(|c| c.1).min().unwrap_or(0).min(-30) as f64;
    let hi = certs.iter().map(|c| c.1).max().unwrap_or(0).max(365) as f64;
    let (left, width, row_h) = (20.0, 660.0, 20.0);
    let x = |d: f64| left + width * (d - lo) / (hi - lo);
    let height = 30.0 + row_h * certs.len() as f64;
    html! {
        svg viewBox={ "0 0 960 " (height) } width="960" height=(height) role="img" {
            rect.soon x=(x(0.0)) y="0" width=(format!("{:.1}", x(30.0) - x(0.0))) height=(height - 20.0) {}
            line.axis x1=(left) x2=(left + width) y1=(height - 20.0) y2=(height - 20.0) {}
            @for (d, name) in [(lo, format!("{lo}")), (0.0, "0 (expiry)".to_string()), (30.0, "30".to_string()), (hi, format!("{hi}"))] {
                line.tick x1=(x(d)) x2=(x(d)) y1="0" y2=(height - 16.0) {}
                text.tick x=(x(d)) y=(height - 4.0) text-anchor="middle" { (name) }
            }
            @for (i, (_, days, labels)) in certs.iter().enumerate() {
                @let y = 12.0 + row_h * i as f64;
                @let class = if *days < 0 { "bad" } else if *days < 30 { "warn" } else { "good" };
                g class={ "cert " (class) } {
                    title { (labels.join(", ")) ": " (days) " days" }
                    circle cx=(format!("{:.1}", x(*days as f64))) cy=(y) r="5" {}
                    text x=(left + width + 12.0) y=(y + 4.0) { (days) " d  " (labels.join(", ")) }
                }
            }
        }
        @if hidden > 0 { p.muted { "and " (hidden) " more certificates (the table has every endpoint)" } }
    }
}

const CSS: &str = r#"
:root{--good:#2e7d32;--warn:#e08e00;--bad:#c62828;--muted:#666;--line:#ddd}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;padding:16px 24px;max-width:1400px;color:#222;background:#fafafa}
h1{margin:0 0 4px;font-size:24px}h2{margin:28px 0 8px;font-size:18px}h3{margin:12px 0 4px;font-size:14px}
.meta,.muted{color:var(--muted)}.none{color:#999}
#summary{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.tile{background:#fff;border:1px solid var(--line);border-left:5px solid #90a4ae;border-radius:6px;padding:10px 14px;min-width:170px}
.tile .value{font-size:28px;font-weight:600}.tile .label{color:var(--muted);text-transform:uppercase;font-size:11px;letter-spacing:.05em}
.tile ul{list-style:none;margin:6px 0 0;padding:0;font-size:12px}.tile li{display:inline-block;margin-right:10px}
.tile.good{border-left-color:var(--good)}.tile.warn{border-left-color:var(--warn)}.tile.bad{border-left-color:var(--bad)}
#charts{display:flex;gap:16px;flex-wrap:wrap}
.chart{background:#fff;border:1px solid var(--line);border-radius:6px;margin:0;padding:10px}.chart figcaption{font-weight:600;margin-bottom:6px}
.chart svg{font-size:12px;max-width:100%;height:auto}.bar rect{fill:#90a4ae}.bar.good rect{fill:var(--good)}.bar.bad rect,.bar.critical rect,.bar.high rect{fill:var(--bad)}
.bar.medium rect{fill:var(--warn)}.bar.low rect{fill:#fbc02d}.bar.info rect{fill:#64b5f6}
.cert circle{fill:var(--good)}.cert.warn circle{fill:var(--warn)}.cert.bad circle{fill:var(--bad)}
rect.soon{fill:#fff3e0}line.axis,line.tick{stroke:#bbb}text.tick{fill:var(--muted);font-size:11px}
.controls{margin:8px 0}.controls input,.controls select{font:inherit;padding:3px 6px}#shown{margin-left:12px;color:var(--muted)}
table{border-collapse:collapse;background:#fff;width:100%}th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
#endpoints th{cursor:pointer;user-select:none;background:#eceff1;position:sticky;top:0}#endpoints th[aria-sort=ascending]::after{content:" \25B2"}#endpoints th[aria-sort=descending]::after{content:" \25BC"}
td.ids{font-family:ui-monospace,monospace;font-size:12px}
.verdict{display:inline-block;padding:0 8px;border-radius:10px;color:#fff;font-size:12px;font-weight:600;background:#78909c}
.verdict.pass{background:var(--good)}.verdict.warn{background:var(--warn)}.verdict.fail{background:var(--bad)}
.sev{display:inline-block;min-width:56px;font-size:11px;font-weight:600;text-transform:uppercase}.sev.critical,.sev.high{color:var(--bad)}.sev.medium{color:var(--warn)}
details.endpoint{background:#fff;border:1px solid var(--line);border-radius:6px;margin:6px 0;padding:6px 12px}details.endpoint summary{cursor:pointer}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}dt{color:var(--muted)}dd{margin:0;white-space:pre-wrap;word-break:break-word}
td.accepted{color:var(--bad)}table.versions td.accepted{font-weight:600}ul.findings{padding-left:18px}
@media print{body{background:#fff}.controls{display:none}details.endpoint{break-inside:avoid}}
"#;

/// Sorting by a clicked heading (numbers as numbers, verdicts by
/// severity), filtering by text and verdict, and every detail opened for
/// printing. No network, no eval.
const JS: &str = r#"
(function(){
  var table=document.getElementById('endpoints'),body=table.tBodies[0];
  var rank={fail:0,warn:1,error:2,pass:3};
  function key(row,i,kind){var c=row.cells[i],v=c.hasAttribute('data-sort')?c.getAttribute('data-sort'):c.textContent.trim();
    if(kind==='num'){return v===''?Infinity:parseFloat(v);} if(kind==='verdict'){return rank[v];} return v.toLowerCase();}
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
    function sort(){var asc=th.getAttribute('aria-sort')!=='ascending',kind=th.getAttribute('data-kind');
      Array.prototype.forEach.call(table.tHead.rows[0].cells,function(o){o.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',asc?'ascending':'descending');
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){var x=key(a,i,kind),y=key(b,i,kind);return (x<y?-1:x>y?1:0)*(asc?1:-1);});
      rows.forEach(function(r){body.appendChild(r);});}
    th.addEventListener('click',sort);th.addEventListener('keydown',function(e){if(e.key==='Enter')sort();});
  });
  var text=document.getElementById('filter'),verdict=document.getElementById('verdict-filter'),shown=document.getElementById('shown');
  function filter(){var q=text.value.toLowerCase(),v=verdict.value,n=0;
    Array.prototype.forEach.call(body.rows,function(r){var ok=(!v||r.getAttribute('data-verdict')===v)&&(!q||r.textContent.toLowerCase().indexOf(q)>=0);
      r.hidden=!ok;if(ok)n++;});
    shown.textContent=n+' of '+body.rows.length+' shown';}
  text.addEventListener('input',filter);verdict.addEventListener('change',filter);filter();
  window.addEventListener('beforeprint',function(){Array.prototype.forEach.call(document.querySelectorAll('details'),function(d){d.open=true;});});
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Finding;

    fn run() -> RunInfo {
        RunInfo {
            started_at: "2026-12-01T00:00:00Z".into(),
            started_unix: 0,
            duration: std::time::Duration::from_millis(1500),
            version: "test",
            interrupted: false,
            input_errors: 0,
        }
    }

    #[test]
    fn server_text_is_escaped_for_html_and_controls_made_visible() {
        let report = EndpointReport {
            target: "<b>t</b>".into(),
            ip: "127.0.0.1".parse().ok(),
            port: 21,
            status: Status::NoTls,
            error: Some("</td></tr><script>alert(1)</script>".into()),
            ftp: crate::report::FtpFacts {
                banner: Some(Reply::new(
                    220,
                    vec!["<img src=x onerror=alert(2)> \u{1b}]0;pwned\u{7} \u{9b}31m".into()],
                )),
                ..Default::default()
            },
            findings: vec![Finding {
                id: "ftp-no-tls".into(),
                severity: Severity::High,
                detail: "\"quoted\" & 'single' <x>".into(),
            }],
            verdict: Some(Verdict::Fail),
            ..Default::default()
        };
        let page = render(&[report], &run());
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<img src=x"), "{page}");
        assert!(!page.contains("<b>t</b>"));
        assert!(page.contains("&lt;img src=x onerror=alert(2)&gt;"));
        assert!(page.contains("\\x1b]0;pwned\\x07"));
        assert!(page.contains("\\u009b31m"));
        assert!(!page
            .chars()
            .any(|c| matches!(u32::from(c), 0..=0x08 | 0x0b..=0x1f | 0x7f..=0x9f)));
        // The page's only scripts are its own.
        assert_eq!(page.matches("<script").count(), 1);
    }

    #[test]
    fn tiles_count_what_they_say() {
        let mk = |status, verdict| EndpointReport {
            status,
            verdict: Some(verdict),
            ..Default::default()
        };
        let reports = [
            mk(Status::Ok, Verdict::Pass),
            mk(Status::Ok, Verdict::Fail),
            mk(Status::Refused, Verdict::Error),
        ];
        let refs: Vec<&EndpointReport> = reports.iter().collect();
        let tiles = tiles(&refs);
        assert_eq!(tiles[0].value, "3");
        assert_eq!(tiles[0].parts[0], ("FTPS ok".to_string(), 2));
        assert!(tiles[0].parts.contains(&("refused".to_string(), 1)));
        assert_eq!(tiles[1].value, "fail");
        assert_eq!(tiles[1].parts[0], ("fail".to_string(), 1));
    }
}
