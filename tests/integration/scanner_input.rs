//! Port-scanner output as target files (nmap -oX and -oG, masscan -oJ and
//! -oL), on the real binary: recognised by content or named by
//! `--input-format`, the open FTP ports scanned, and malformed input
//! reported with the file and the line (and column).

use crate::support;
use crate::support::Pki;

use ftps_scan::testbed::ServerSpec;
use ftps_scan::Status;

/// An nmap -oX report of 127.0.0.1 with `open` FTP on `port` (and noise:
/// an ssh port, a closed ftp port, a MAC address, a UDP port).
fn nmap_xml(port: u16) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sV -oX scan.xml 127.0.0.1" start="1690000000" version="7.93" xmloutputversion="1.05">
<host starttime="1690000000" endtime="1690000001"><status state="up" reason="localhost-response" reason_ttl="0"/>
<address addr="127.0.0.1" addrtype="ipv4"/>
<address addr="00:11:22:33:44:55" addrtype="mac"/>
<hostnames><hostname name="localhost" type="user"/></hostnames>
<ports><extraports state="closed" count="996"/>
<port protocol="tcp" portid="{port}"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="ftp" product="test" method="probed" conf="10"/></port>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="ssh" method="probed" conf="10"/></port>
<port protocol="tcp" portid="2121"><state state="closed" reason="reset" reason_ttl="0"/><service name="ftp" method="table" conf="3"/></port>
<port protocol="udp" portid="21"><state state="open" reason="udp-response" reason_ttl="0"/></port>
</ports>
</host>
<runstats><finished time="1690000001" elapsed="1.00" exit="success"/><hosts up="1" down="0" total="1"/></runstats>
</nmaprun>
"#
    )
}

async fn scan_file(
    name: &str,
    content: &str,
    extra: &[&str],
) -> (Option<i32>, String, Vec<ftps_scan::EndpointReport>) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, content).unwrap();
    let jsonl = dir.path().join("r.jsonl");
    let mut args = vec![
        "-q".to_string(),
        file.display().to_string(),
        "--no-versions".into(),
        "--no-posture".into(),
        "--jsonl".into(),
        jsonl.display().to_string(),
        "-f".into(),
        "csv".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = support::run_binary(args).await;
    let reports = if jsonl.is_file() {
        support::read_jsonl(&jsonl)
    } else {
        Vec::new()
    };
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        reports,
    )
}

#[tokio::test]
async fn every_scanner_format_yields_its_open_ftp_ports() {
    let pki = Pki::new("scanner input CA");
    let server = pki.ftps(ServerSpec::default()).await;
    let port = server.addr.port();
    let grepable = format!(
        "# Nmap 7.93 scan initiated as: nmap -oG - 127.0.0.1\n\
         Host: 127.0.0.1 (localhost)\tStatus: Up\n\
         Host: 127.0.0.1 (localhost)\tPorts: 22/open/tcp//ssh///, {port}/open/tcp//ftp///, 2121/closed/tcp//ftp///\tIgnored State: closed (997)\n\
         # Nmap done at Sat Jul 22 04:26:41 2023 -- 1 IP address (1 host up) scanned in 0.05 seconds\n"
    );
    let masscan_json = format!(
        "[\n{{   \"ip\": \"127.0.0.1\",   \"timestamp\": \"1690000000\", \"ports\": [ {{\"port\": {port}, \"proto\": \"tcp\", \"status\": \"open\", \"reason\": \"syn-ack\", \"ttl\": 64}} ] }}\n]\n"
    );
    let masscan_list = format!(
        "#masscan\nopen tcp {port} 127.0.0.1 1690000000\nopen tcp 22 127.0.0.1 1690000000\n# end\n"
    );
    let port_flag = format!("21,990,{port}");
    for (name, content, extra) in [
        ("scan.xml", nmap_xml(port), vec![]),
        ("scan.gnmap", grepable, vec![]),
        // masscan names no services: the port must be in --ports.
        (
            "scan.json",
            masscan_json,
            vec!["--ports", port_flag.as_str()],
        ),
        (
            "scan.txt",
            masscan_list.clone(),
            vec!["--ports", port_flag.as_str()],
        ),
        // named by the flag rather than found by content
        (
            "scan.out",
            masscan_list,
            vec![
                "--ports",
                port_flag.as_str(),
                "--input-format",
                "masscan-list",
            ],
        ),
    ] {
        let (code, stderr, reports) = scan_file(name, &content, &extra).await;
        assert_eq!(
            reports.len(),
            1,
            "{name}: exit {code:?} {stderr}\n{reports:#?}"
        );
        let r = &reports[0];
        assert_eq!(r.ip, Some("127.0.0.1".parse().unwrap()), "{name}");
        assert_eq!(r.port, port, "{name}");
        assert_eq!(r.status, Status::Ok, "{name}: {r:#?}");
        assert_eq!(r.target, format!("127.0.0.1:{port}"), "{name}");
    }
    // Without the port in --ports, masscan's output has no FTP port: an
    // error naming the file, not a silent empty run.
    let list = format!("#masscan\nopen tcp {port} 127.0.0.1 1690000000\n");
    let (code, stderr, reports) = scan_file("m.txt", &list, &[]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(reports.is_empty());
    assert!(
        stderr.contains(
            "m.txt: masscan list output with no open FTP port (ports named ftp, or 21, 990)"
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn malformed_scanner_output_names_the_file_and_the_place() {
    let broken_xml =
        nmap_xml(21).replace("<ports>", "<ports><port protocol=\"tcp\" portid=\"21\">");
    let (code, stderr, _) = scan_file("broken.xml", &broken_xml, &[]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("broken.xml: nmap XML: line "), "{stderr}");
    let bad_port = nmap_xml(21).replace("portid=\"21\"", "portid=\"21x\"");
    let (_, stderr, _) = scan_file("port.xml", &bad_port, &[]).await;
    assert!(
        stderr.contains("port.xml: nmap XML: line 9, column 1: portid \"21x\" is not a port"),
        "{stderr}"
    );
    let (_, stderr, _) = scan_file("g.gnmap", "Host: 127.0.0.1 ()\tPorts: 21/open\n", &[]).await;
    assert!(
        stderr.contains("g.gnmap: nmap grepable: line 1: port entry \"21/open\""),
        "{stderr}"
    );
    let (_, stderr, _) = scan_file(
        "m.json",
        "[\n{\"ip\": \"127.0.0.1\",\n \"ports\": [ {\"port\": \"x\"} ] }\n]",
        &[],
    )
    .await;
    assert!(
        stderr.contains("m.json: masscan JSON: line 3, column"),
        "{stderr}"
    );
    // A file forced to a format it is not in.
    let (code, stderr, _) =
        scan_file("t.txt", "127.0.0.1:21\n", &["--input-format", "nmap-xml"]).await;
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("t.txt: nmap XML: line 1, column 1"),
        "{stderr}"
    );
}
