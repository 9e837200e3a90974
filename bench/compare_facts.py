#!/usr/bin/env python3
"""Compares the TLS facts three scanners established for the same endpoints.

    compare_facts.py FTPS_SCAN_CSV NMAP_XML SSLYZE_JSON [N_SHOWN]

For every endpoint: the protocol versions accepted (SSLv2 ... TLS 1.3) and
the SHA-256 fingerprint of the leaf certificate, as ftps-scan (CSV columns
sslv2 ... tls1_3, cert_sha256), nmap (scripts sslv2, ssl-enum-ciphers,
ssl-cert: the leaf's PEM, hashed here) and sslyze (JSON: accepted suites per
version, certificate_info) report them. Prints how many endpoints each pair
agrees on, every disagreement (up to 20), and N_SHOWN endpoints side by side.
A tool that has no answer for an endpoint counts as a disagreement.
"""
import base64
import csv
import hashlib
import json
import re
import sys
import xml.etree.ElementTree as ET

VERSIONS = ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]


def pem_sha256(pem):
    body = re.sub(r"-----[^-]+-----|\s", "", pem or "")
    return hashlib.sha256(base64.b64decode(body)).hexdigest() if body else None


def ftps_scan(path):
    cols = dict(zip(VERSIONS, ["sslv2", "sslv3", "tls1_0", "tls1_1", "tls1_2", "tls1_3"]))
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            out[r["target"]] = {
                "versions": [v for v in VERSIONS if r.get(cols[v]) == "accepted"],
                "unknown": [v for v in VERSIONS if r.get(cols[v]) not in ("accepted", "rejected")],
                "sha256": (r.get("cert_sha256") or "").lower() or None,
            }
    return out


def nmap(path):
    names = {"SSLv3": "SSLv3", "TLSv1.0": "TLSv1.0", "TLSv1.1": "TLSv1.1", "TLSv1.2": "TLSv1.2", "TLSv1.3": "TLSv1.3"}
    out = {}
    for host in ET.parse(path).getroot().iter("host"):
        addr = host.find("address").get("addr")
        for port in host.iter("port"):
            versions, sha = set(), None
            for script in port.iter("script"):
                sid = script.get("id")
                if sid == "ssl-enum-ciphers":
                    for table in script.findall("table"):
                        if table.get("key") in names:
                            versions.add(names[table.get("key")])
                elif sid == "sslv2":
                    # Output only when the server speaks SSLv2.
                    if script.get("output", "").strip():
                        versions.add("SSLv2")
                elif sid == "ssl-cert":
                    for elem in script.iter("elem"):
                        if elem.get("key") == "pem":
                            sha = pem_sha256(elem.text)
            out[f"{addr}:{port.get('portid')}"] = {
                "versions": [v for v in VERSIONS if v in versions],
                "sha256": sha,
            }
    return out


def sslyze(path):
    keys = dict(zip(VERSIONS, ["ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites",
                               "tls_1_1_cipher_suites", "tls_1_2_cipher_suites", "tls_1_3_cipher_suites"]))
    out = {}
    for r in json.load(open(path)).get("server_scan_results", []):
        loc = r.get("server_location") or {}
        target = f"{loc.get('ip_address') or loc.get('hostname')}:{loc.get('port')}"
        res = r.get("scan_result") or {}
        versions = []
        for v in VERSIONS:
            attempt = res.get(keys[v]) or {}
            if ((attempt.get("result") or {}).get("accepted_cipher_suites")):
                versions.append(v)
        sha = None
        cert = ((res.get("certificate_info") or {}).get("result") or {})
        for dep in cert.get("certificate_deployments") or []:
            chain = dep.get("received_certificate_chain") or []
            if chain:
                leaf = chain[0]
                # The PEM when there is one; sslyze's fingerprint_sha256 is
                # base64 of the digest.
                sha = pem_sha256(leaf.get("as_pem"))
                if not sha and leaf.get("fingerprint_sha256"):
                    sha = base64.b64decode(leaf["fingerprint_sha256"]).hex()
                break
        out[target] = {"versions": versions, "sha256": sha}
    return out


def main():
    fs, nm, sl = ftps_scan(sys.argv[1]), nmap(sys.argv[2]), sslyze(sys.argv[3])
    shown = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    targets = sorted(set(fs) | set(nm) | set(sl), key=lambda t: [int(x) for x in re.split(r"[.:]", t)])
    tools = {"ftps-scan": fs, "nmap": nm, "sslyze": sl}
    same = {"versions": 0, "sha256": 0, "both": 0}
    bad = []
    for t in targets:
        facts = {name: d.get(t) for name, d in tools.items()}
        ok_v = all(f is not None for f in facts.values()) and len({tuple(f["versions"]) for f in facts.values()}) == 1
        ok_c = all(f is not None and f["sha256"] for f in facts.values()) and len({f["sha256"] for f in facts.values()}) == 1
        same["versions"] += ok_v
        same["sha256"] += ok_c
        same["both"] += ok_v and ok_c
        if not (ok_v and ok_c):
            bad.append((t, facts))
    n = len(targets)
    print(f"   facts compared on {n} endpoints (ftps-scan {len(fs)}, nmap {len(nm)}, sslyze {len(sl)} answered):")
    print(f"   accepted versions identical in all three: {same['versions']}/{n}; leaf certificate SHA-256 identical: {same['sha256']}/{n}; both: {same['both']}/{n}")
    unknown = sum(1 for f in fs.values() if f["unknown"])
    if unknown:
        print(f"   ftps-scan endpoints with a version verdict 'unknown': {unknown}")
    def fmt(f):
        if f is None:
            return "(no answer)"
        return f"{'+'.join(f['versions']) or 'none'} cert {(f['sha256'] or 'none')[:16]}"
    for t, facts in bad[:20]:
        print(f"   DIFFERENT {t}: " + "; ".join(f"{k} {fmt(v)}" for k, v in facts.items()))
    for t in targets[:shown]:
        print(f"   {t}: " + "; ".join(f"{k} {fmt(d.get(t))}" for k, d in tools.items()))


if __name__ == "__main__":
    main()
