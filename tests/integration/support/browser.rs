//! Headless Chromium (Debian's `chromium`) for the HTML report: the DOM
//! after the page's scripts ran, and a screenshot.

use std::path::Path;
use std::process::Command;

/// Whether Chromium can be used (see [`super::tool_available`]).
pub fn available() -> bool {
    super::tool_available("chromium", "apt-get install chromium; .ci/run does")
}

/// Chromium with no network, no first-run work, a fresh profile in `profile`.
fn chromium(profile: &Path) -> Command {
    let mut c = Command::new("chromium");
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        // Nothing the page could reach: no proxy lookups, no DNS.
        "--no-proxy-server",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ]);
    c.arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The DOM of `page` serialized after its scripts ran.
pub fn dump_dom(page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = chromium(profile.path())
        .arg("--virtual-time-budget=5000")
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium: {out:?}");
    String::from_utf8(out.stdout).expect("DOM is UTF-8")
}

/// A 1280x900 screenshot of `page` into `png`.
pub fn screenshot(page: &Path, png: &Path) {
    let profile = tempfile::tempdir().unwrap();
    let out = chromium(profile.path())
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1280,900")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success() && png.is_file(), "chromium: {out:?}");
}

/// Pixels of a PNG as RGB triples, with its size.
pub fn pixels(png: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    assert!(step >= 3, "{:?}", info.color_type);
    let px = buf[..info.buffer_size()]
        .chunks(step)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, px)
}
