//! `--html`: the real binary's report opened in headless Chromium (Debian's
//! package), its DOM checked after the page's own scripts ran (tiles,
//! charts, every endpoint in the table and in the evidence, sorting and
//! filtering driven as a user would), a screenshot that is not blank, and
//! a hostile greeting that stays text.

use crate::support;

use crate::support::browser;
use ftps_scan::policy::Verdict;
use ftps_scan::EndpointReport;
use serde_json::Value;
use std::path::Path;

/// Appended to a copy of the report: drives the page like a user and
/// writes what it saw as JSON into `<pre id="selftest">`.
const SELFTEST: &str = r#"<script>
(function(){
  function all(q){return Array.prototype.slice.call(document.querySelectorAll(q));}
  function rows(){return all('#endpoints tbody tr');}
  function visible(){return rows().filter(function(r){return !r.hidden;}).length;}
  var r={};
  r.tiles=all('#summary .tile').map(function(t){return t.getAttribute('data-tile');});
  r.tile_values=all('#summary .tile .value').map(function(t){return t.textContent;});
  r.charts=all('#charts figure').map(function(f){return [f.id, f.querySelectorAll('svg rect, svg circle').length];});
  r.rows=rows().length;
  r.details=all('details.endpoint').length;
  r.labels=rows().map(function(tr){return tr.cells[0].textContent;});
  r.links_resolve=rows().every(function(tr){var a=tr.querySelector('a');return !!document.getElementById(a.getAttribute('href').slice(1));});
  var days=all('#endpoints th')[6];
  days.click(); r.days_up=rows().map(function(tr){return tr.cells[6].textContent;});
  days.click(); r.days_down=rows().map(function(tr){return tr.cells[6].textContent;});
  var sel=document.getElementById('verdict-filter'), text=document.getElementById('filter');
  sel.value='fail'; sel.dispatchEvent(new Event('change')); r.fail_rows=visible(); r.shown=document.getElementById('shown').textContent;
  sel.value=''; sel.dispatchEvent(new Event('change'));
  text.value='implicit'; text.dispatchEvent(new Event('input')); r.implicit_rows=visible();
  r.scripts=document.scripts.length; r.images=document.images.length; r.pwned=typeof window.pwned;
  r.greetings=all('details.endpoint dl.replies dd:nth-of-type(1)').map(function(d){return d.textContent;});
  var pre=document.createElement('pre'); pre.id='selftest'; pre.textContent=JSON.stringify(r); document.body.appendChild(pre);
})();
</script>"#;

/// Opens `page` in Chromium with the self-test and returns what it saw.
fn drive(page: &Path) -> Value {
    let html = std::fs::read_to_string(page).unwrap();
    let tested = page.with_extension("selftest.html");
    let body_end = html.rfind("</body>").expect("</body>");
    std::fs::write(
        &tested,
        format!("{}{SELFTEST}{}", &html[..body_end], &html[body_end..]),
    )
    .unwrap();
    let dom = browser::dump_dom(&tested);
    let json = dom
        .split("<pre id=\"selftest\">")
        .nth(1)
        .and_then(|t| t.split("</pre>").next())
        .unwrap_or_else(|| panic!("the self-test did not run:\n{dom}"));
    let json = json
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_demo_report_renders_sorts_filters_and_is_not_blank() {
    if !browser::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let jsonl = dir.path().join("report.jsonl");
    let out = support::run_demo(&[
        "--html".into(),
        html.display().to_string(),
        "--jsonl".into(),
        jsonl.display().to_string(),
    ])
    .await;
    assert!(html.is_file(), "{out:?}");
    let reports: Vec<EndpointReport> = support::read_jsonl(&jsonl);
    let seen = drive(&html);

    assert_eq!(
        strings(&seen["tiles"]),
        [
            "endpoints",
            "verdicts",
            "findings",
            "certificates",
            "transfer paths"
        ]
    );
    assert_eq!(seen["tile_values"][0], reports.len().to_string());
    let findings: usize = reports.iter().map(|r| r.findings.len()).sum();
    assert_eq!(seen["tile_values"][2], findings.to_string());
    // Three charts, each drew its marks: 6 version bars, 5 severity bars,
    // one dot per distinct certificate (plus the warning band).
    let charts = seen["charts"].as_array().unwrap();
    assert_eq!(charts.len(), 3, "{charts:?}");
    assert_eq!(charts[0][1], 6);
    assert_eq!(charts[1][1], 5);
    let certs: std::collections::BTreeSet<&str> = reports
        .iter()
        .filter_map(|r| r.certificate.as_ref().filter(|c| c.days_left.is_some()))
        .map(|c| c.sha256.as_str())
        .collect();
    assert_eq!(charts[2][1], certs.len() + 1, "{charts:?}");

    assert_eq!(seen["rows"], reports.len());
    assert_eq!(seen["details"], reports.len());
    assert_eq!(seen["links_resolve"], true);
    let labels = strings(&seen["labels"]);
    for r in &reports {
        let label = ftps_scan::report::table::display_label(r);
        assert!(labels.contains(&label), "{label} not in {labels:?}");
    }
    // Sorting by days left: numbers as numbers, empty cells last going up.
    let up = strings(&seen["days_up"]);
    let numbers: Vec<i64> = up.iter().filter_map(|d| d.parse().ok()).collect();
    let mut sorted = numbers.clone();
    sorted.sort();
    assert_eq!(numbers, sorted, "{up:?}");
    assert!(
        numbers.iter().any(|d| *d < 0),
        "the demo has an expired certificate"
    );
    assert!(
        up.iter().skip(numbers.len()).all(String::is_empty),
        "{up:?}"
    );
    let down = strings(&seen["days_down"]);
    assert_ne!(up, down);
    let fails = reports
        .iter()
        .filter(|r| r.verdict == Some(Verdict::Fail))
        .count();
    assert!(fails > 0);
    assert_eq!(seen["fail_rows"], fails);
    assert_eq!(seen["shown"], format!("{fails} of {} shown", reports.len()));
    let implicit = reports
        .iter()
        .filter(|r| r.mode == ftps_scan::Mode::Implicit)
        .count();
    assert_eq!(seen["implicit_rows"], implicit);
    // The page's script and the self-test's, nothing else.
    assert_eq!(seen["scripts"], 2);

    let png = dir.path().join("report.png");
    browser::screenshot(&html, &png);
    let (width, height, px) = browser::pixels(&png);
    assert_eq!((width, height), (1280, 900));
    let background = px[0];
    let inked = px.iter().filter(|p| **p != background).count();
    let colours: std::collections::HashSet<[u8; 3]> = px.iter().copied().collect();
    assert!(
        inked * 20 > px.len() && colours.len() > 50,
        "screenshot looks blank: {inked} of {} pixels inked, {} colours",
        px.len(),
        colours.len()
    );
    // The verdict colours are on screen (a fail pill, a pass bar).
    let red = px.iter().filter(|p| **p == [0xc6, 0x28, 0x28]).count();
    let green = px.iter().filter(|p| **p == [0x2e, 0x7d, 0x32]).count();
    assert!(red > 100 && green > 100, "red {red}, green {green}");
}

#[tokio::test]
async fn a_hostile_greeting_stays_text_in_the_browser() {
    if !browser::available() {
        return;
    }
    let mut greeting = b"220 <script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\"></dd></dl></details><b>fake</b> \x1b]0;title\x07 \xc2\x9b31m".to_vec();
    greeting.extend(b" \xff end\r\n");
    let server =
        support::hostile_no_tls_server(greeting, b"502 </td><script>window.pwned=3</script>\r\n")
            .await;
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("hostile.html");
    let out = support::run_binary(vec![
        "-q".into(),
        "-t".into(),
        server.addr.to_string(),
        "--no-versions".into(),
        "--html".into(),
        html.display().to_string(),
    ])
    .await;
    let page = std::fs::read_to_string(&html).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert!(!page.contains("<script>window"), "{page}");
    assert!(!page.contains("<img"), "{page}");
    let seen = drive(&html);
    assert_eq!(seen["pwned"], "undefined");
    assert_eq!(seen["images"], 0);
    assert_eq!(seen["scripts"], 2);
    assert_eq!(seen["rows"], 1);
    assert_eq!(seen["details"], 1);
    let greeting = &strings(&seen["greetings"])[0];
    assert!(
        greeting.contains("<script>window.pwned=1</script><img src=x"),
        "shown as text: {greeting}"
    );
    assert!(
        greeting.contains("\\x1b]0;title\\x07") && greeting.contains("\\u009b31m"),
        "controls shown visibly: {greeting}"
    );
    assert!(greeting.contains("\\xff end"), "{greeting}");
}
