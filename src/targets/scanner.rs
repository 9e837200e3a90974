//! Output of port scanners as target files: nmap XML (`-oX`), nmap
//! grepable (`-oG`), masscan JSON (`-oJ`, also its NDJSON `-oD`) and masscan
//! list (`-oL`). The open TCP ports that are FTP become targets; a file is
//! recognised by its content, or named by `--input-format`.
//!
//! A port counts when it is open and either the scanner named its service
//! FTP (`ftp`, `ftps`, `ftp-proxy`...; not `ftp-data` or `tftp`) or its
//! number is in the `--ports` list (masscan names no services). A service
//! nmap saw inside TLS (`ftps`, or `tunnel="ssl"`) becomes `ftps://` (implicit);
//! any other port is left to the usual rule (990 implicit, `--mode`).
//!
//! Malformed input is an error naming the format and the line (and column)
//! where it broke.

use std::fmt::Write as _;
use std::net::IpAddr;

/// What a target file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputFormat {
    /// Decided by the content.
    #[default]
    Auto,
    /// One target per line (the grammar of `targets.example`).
    Targets,
    NmapXml,
    NmapGrep,
    MasscanJson,
    MasscanList,
}

impl InputFormat {
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Auto => "auto",
            InputFormat::Targets => "targets",
            InputFormat::NmapXml => "nmap XML",
            InputFormat::NmapGrep => "nmap grepable",
            InputFormat::MasscanJson => "masscan JSON",
            InputFormat::MasscanList => "masscan list",
        }
    }

    /// The format of a file that starts with `head` (its first bytes).
    pub fn detect(head: &[u8]) -> InputFormat {
        let text = String::from_utf8_lossy(head);
        let text = text.trim_start_matches('\u{feff}').trim_start();
        if text.starts_with("<?xml")
            || text.starts_with("<nmaprun")
            || text.starts_with("<!DOCTYPE nmaprun")
        {
            return InputFormat::NmapXml;
        }
        // `[2001:db8::1]:21` is a target; `[` then `{` or `]` is JSON.
        if let Some(rest) = text.strip_prefix('[') {
            if rest.trim_start().starts_with(['{', ']']) {
                return InputFormat::MasscanJson;
            }
        }
        if text.starts_with('{') {
            return InputFormat::MasscanJson;
        }
        if text.starts_with("#masscan") {
            return InputFormat::MasscanList;
        }
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'));
        match first {
            Some(l) if l.starts_with("Host: ") => InputFormat::NmapGrep,
            Some(l) if is_masscan_list_line(l) => InputFormat::MasscanList,
            _ => InputFormat::Targets,
        }
    }
}

fn is_masscan_list_line(line: &str) -> bool {
    let mut f = line.split_whitespace();
    matches!(f.next(), Some("open" | "closed"))
        && f.next().is_some()
        && f.next().is_some_and(|p| p.parse::<u16>().is_ok())
        && f.next().is_some_and(|a| a.parse::<IpAddr>().is_ok())
}

/// One open port as a target line: `ftps://` when the scanner saw TLS,
/// else `address:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub ip: IpAddr,
    pub port: u16,
    pub tls: bool,
}

impl Found {
    pub fn target_line(&self) -> String {
        let addr = match self.ip {
            IpAddr::V6(ip) => format!("[{ip}]:{}", self.port),
            IpAddr::V4(ip) => format!("{ip}:{}", self.port),
        };
        if self.tls {
            format!("ftps://{addr}")
        } else {
            addr
        }
    }
}

/// Whether a scanner's service name is FTP.
fn ftp_service(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("ftp") && name != "ftp-data"
}

/// The FTP ports of a scanner's output, in file order, each address and
/// port once. `format` is not `Auto` or `Targets`.
pub fn parse(format: InputFormat, bytes: &[u8], ftp_ports: &[u16]) -> Result<Vec<Found>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_column(bytes, e.valid_up_to());
        format!("{}: line {line}, column {column}: not UTF-8", format.name())
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let mut found = match format {
        InputFormat::NmapXml => nmap_xml(text, ftp_ports),
        InputFormat::NmapGrep => nmap_grep(text, ftp_ports),
        InputFormat::MasscanJson => masscan_json(text, ftp_ports),
        InputFormat::MasscanList => masscan_list(text, ftp_ports),
        InputFormat::Auto | InputFormat::Targets => Ok(Vec::new()),
    }
    .map_err(|e| format!("{}: {e}", format.name()))?;
    let mut seen = std::collections::HashSet::new();
    found.retain(|f| seen.insert((f.ip, f.port)));
    Ok(found)
}

fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (line, column)
}

fn nmap_xml(text: &str, ftp_ports: &[u16]) -> Result<Vec<Found>, String> {
    // nmap writes `<!DOCTYPE nmaprun>`; roxmltree caps entity expansion.
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| {
        let pos = e.pos();
        format!("line {}, column {}: {e}", pos.row, pos.col)
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "nmaprun" {
        let pos = doc.text_pos_at(root.range().start);
        return Err(format!(
            "line {}, column {}: the root element is <{}>, not <nmaprun>",
            pos.row,
            pos.col,
            root.tag_name().name()
        ));
    }
    let mut found = Vec::new();
    for host in root.children().filter(|n| n.has_tag_name("host")) {
        let at = |node: roxmltree::Node| {
            let pos = doc.text_pos_at(node.range().start);
            format!("line {}, column {}", pos.row, pos.col)
        };
        let mut ips = Vec::new();
        for address in host.children().filter(|n| n.has_tag_name("address")) {
            if !matches!(address.attribute("addrtype"), Some("ipv4" | "ipv6")) {
                continue; // a MAC address
            }
            let addr = address.attribute("addr").unwrap_or_default();
            let ip: IpAddr = addr
                .parse()
                .map_err(|_| format!("{}: address {addr:?} is not an IP address", at(address)))?;
            ips.push(ip);
        }
        let ports = host
            .children()
            .filter(|n| n.has_tag_name("ports"))
            .flat_map(|p| p.children().filter(|n| n.has_tag_name("port")));
        for port in ports {
            if port.attribute("protocol") != Some("tcp") {
                continue;
            }
            let id = port.attribute("portid").unwrap_or_default();
            let number: u16 = id
                .parse()
                .map_err(|_| format!("{}: portid {id:?} is not a port", at(port)))?;
            let open = port
                .children()
                .find(|n| n.has_tag_name("state"))
                .and_then(|s| s.attribute("state"))
                == Some("open");
            let service = port.children().find(|n| n.has_tag_name("service"));
            let name = service
                .and_then(|s| s.attribute("name"))
                .unwrap_or_default();
            let tls = name.eq_ignore_ascii_case("ftps")
                || (ftp_service(name)
                    && service.and_then(|s| s.attribute("tunnel")) == Some("ssl"));
            if open && (ftp_service(name) || ftp_ports.contains(&number)) {
                if ips.is_empty() {
                    return Err(format!(
                        "{}: a host with open ports and no IP address",
                        at(host)
                    ));
                }
                found.extend(ips.iter().map(|ip| Found {
                    ip: *ip,
                    port: number,
                    tls,
                }));
            }
        }
    }
    Ok(found)
}

fn nmap_grep(text: &str, ftp_ports: &[u16]) -> Result<Vec<Found>, String> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix("Host: ") else {
            return Err(format!(
                "line {line_no}: not a \"Host:\" line: {:?}",
                short(line)
            ));
        };
        let addr = rest.split_whitespace().next().unwrap_or_default();
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("line {line_no}: {addr:?} is not an IP address"))?;
        let Some(ports) = line.split('\t').find_map(|f| f.strip_prefix("Ports: ")) else {
            continue; // a "Status: Up" line
        };
        for entry in ports.split(',').map(str::trim) {
            // port/state/protocol/owner/service/rpc/version/
            let fields: Vec<&str> = entry.split('/').collect();
            let (Some(number), Some(state), Some(proto), Some(service)) =
                (fields.first(), fields.get(1), fields.get(2), fields.get(4))
            else {
                return Err(format!("line {line_no}: port entry {entry:?} is not port/state/protocol/owner/service/..."));
            };
            let number: u16 = number
                .parse()
                .map_err(|_| format!("line {line_no}: {number:?} in {entry:?} is not a port"))?;
            let tls = service.eq_ignore_ascii_case("ftps") || service.starts_with("ssl|ftp");
            let service = service.strip_prefix("ssl|").unwrap_or(service);
            if *state == "open"
                && *proto == "tcp"
                && (ftp_service(service) || ftp_ports.contains(&number))
            {
                found.push(Found {
                    ip,
                    port: number,
                    tls,
                });
            }
        }
    }
    Ok(found)
}

#[derive(serde::Deserialize)]
struct MasscanHost {
    ip: String,
    #[serde(default)]
    ports: Vec<MasscanPort>,
}

#[derive(serde::Deserialize)]
struct MasscanPort {
    port: u16,
    #[serde(default)]
    proto: String,
    #[serde(default)]
    status: String,
}

fn masscan_json(text: &str, ftp_ports: &[u16]) -> Result<Vec<Found>, String> {
    let at = |e: &serde_json::Error| format!("line {}, column {}: {e}", e.line(), e.column());
    let hosts: Vec<MasscanHost> = if text.trim_start().starts_with('[') {
        match serde_json::from_str(text) {
            Ok(hosts) => hosts,
            // masscan before 1.0.6 left a comma after the last record.
            Err(e) => match trailing_comma_fixed(text) {
                Some(fixed) => serde_json::from_str(&fixed).map_err(|_| at(&e))?,
                None => return Err(at(&e)),
            },
        }
    } else {
        serde_json::Deserializer::from_str(text)
            .into_iter::<MasscanHost>()
            .collect::<Result<_, _>>()
            .map_err(|e| at(&e))?
    };
    let mut found = Vec::new();
    for host in hosts {
        let ip: IpAddr = host
            .ip
            .parse()
            .map_err(|_| format!("\"ip\": {:?} is not an IP address", host.ip))?;
        for p in host.ports {
            let open = p.status.is_empty() || p.status == "open";
            let tcp = p.proto.is_empty() || p.proto == "tcp";
            if open && tcp && ftp_ports.contains(&p.port) {
                found.push(Found {
                    ip,
                    port: p.port,
                    tls: false,
                });
            }
        }
    }
    Ok(found)
}

/// `text` without a comma between the last record and the closing `]`.
fn trailing_comma_fixed(text: &str) -> Option<String> {
    let body = text
        .trim_end()
        .strip_suffix(']')?
        .trim_end()
        .strip_suffix(',')?;
    let mut fixed = String::with_capacity(text.len());
    let _ = write!(fixed, "{body}]");
    Some(fixed)
}

fn masscan_list(text: &str, ftp_ports: &[u16]) -> Result<Vec<Found>, String> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !is_masscan_list_line(line) {
            return Err(format!(
                "line {}: not \"open tcp PORT ADDRESS TIMESTAMP\": {:?}",
                i + 1,
                short(line)
            ));
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let (port, ip) = match (
            f.get(2).map(|p| p.parse::<u16>()),
            f.get(3).map(|a| a.parse::<IpAddr>()),
        ) {
            (Some(Ok(port)), Some(Ok(ip))) => (port, ip),
            _ => continue, // checked above
        };
        if f.first() == Some(&"open") && f.get(1) == Some(&"tcp") && ftp_ports.contains(&port) {
            found.push(Found {
                ip,
                port,
                tls: false,
            });
        }
    }
    Ok(found)
}

fn short(line: &str) -> String {
    line.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORTS: &[u16] = &[21, 990];

    fn lines(format: InputFormat, text: &str) -> Result<Vec<String>, String> {
        parse(format, text.as_bytes(), PORTS).map(|f| f.iter().map(Found::target_line).collect())
    }

    #[test]
    fn formats_are_told_apart_by_their_content() {
        for (head, format) in [
            ("<?xml version=\"1.0\"?>\n<nmaprun>", InputFormat::NmapXml),
            (
                "# Nmap 7.93 scan\nHost: 192.0.2.1 ()\tStatus: Up",
                InputFormat::NmapGrep,
            ),
            ("[\n{   \"ip\": \"192.0.2.1\"", InputFormat::MasscanJson),
            ("{\"ip\":\"192.0.2.1\"}", InputFormat::MasscanJson),
            (
                "#masscan\nopen tcp 21 192.0.2.1 1690000000",
                InputFormat::MasscanList,
            ),
            ("open tcp 21 192.0.2.1 1690000000", InputFormat::MasscanList),
            ("[2001:db8::1]:21\n", InputFormat::Targets),
            ("# my hosts\nftp.example.com\n", InputFormat::Targets),
        ] {
            assert_eq!(InputFormat::detect(head.as_bytes()), format, "{head}");
        }
    }

    #[test]
    fn nmap_grepable_open_ftp_ports() {
        let text = "# Nmap 7.93 scan initiated as: nmap -oG - 192.0.2.0/30\n\
            Host: 192.0.2.1 (ftp.example.com)\tStatus: Up\n\
            Host: 192.0.2.1 (ftp.example.com)\tPorts: 21/open/tcp//ftp///, 22/open/tcp//ssh///, 990/open/tcp//ssl|ftp///, 2121/open/tcp//ftp///, 20/closed/tcp//ftp-data///\tIgnored State: closed (995)\n\
            Host: 2001:db8::5 ()\tPorts: 21/filtered/tcp//ftp///\n";
        assert_eq!(
            lines(InputFormat::NmapGrep, text).unwrap(),
            ["192.0.2.1:21", "ftps://192.0.2.1:990", "192.0.2.1:2121"]
        );
        let bad = "Host: 192.0.2.1 ()\tPorts: 21/open\n";
        let e = lines(InputFormat::NmapGrep, bad).unwrap_err();
        assert!(
            e.starts_with("nmap grepable: line 1: port entry \"21/open\""),
            "{e}"
        );
    }

    #[test]
    fn masscan_json_and_list() {
        let json = "[\n{   \"ip\": \"192.0.2.7\",   \"timestamp\": \"1690000000\", \"ports\": [ {\"port\": 21, \"proto\": \"tcp\", \"status\": \"open\", \"reason\": \"syn-ack\", \"ttl\": 64} ] }\n,\n{   \"ip\": \"192.0.2.8\",   \"ports\": [ {\"port\": 80, \"proto\": \"tcp\", \"status\": \"open\"} ] },\n]\n";
        assert_eq!(
            lines(InputFormat::MasscanJson, json).unwrap(),
            ["192.0.2.7:21"]
        );
        let ndjson = "{\"ip\":\"2001:db8::9\",\"ports\":[{\"port\":990,\"proto\":\"tcp\",\"status\":\"open\"}]}\n";
        assert_eq!(
            lines(InputFormat::MasscanJson, ndjson).unwrap(),
            ["[2001:db8::9]:990"]
        );
        let e = lines(
            InputFormat::MasscanJson,
            "[\n{\"ip\": \"192.0.2.7\",\n \"ports\": [ {\"port\": 99999} ] }\n]",
        )
        .unwrap_err();
        assert!(e.starts_with("masscan JSON: line 3, column"), "{e}");
        let list = "#masscan\nopen tcp 21 192.0.2.7 1690000000\nopen tcp 443 192.0.2.7 1690000000\n# end\n";
        assert_eq!(
            lines(InputFormat::MasscanList, list).unwrap(),
            ["192.0.2.7:21"]
        );
        let e = lines(InputFormat::MasscanList, "#masscan\nopen tcp 21\n").unwrap_err();
        assert!(e.starts_with("masscan list: line 2: "), "{e}");
    }
}
