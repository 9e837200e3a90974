//! The integration tests, one binary (as ripgrep's): one module per area,
//! `support` for the fixtures they share (a test PKI and the FTPS servers
//! it certifies, the binary run on targets with its reports read back, real
//! servers). Tests of every module run concurrently in this one process.
//!
//! One module: `cargo test --release --test integration cli::`.

mod support;

mod architecture;
mod ciphers_cli;
mod cli;
mod default_facts;
mod ftp_facts;
mod hostile;
mod html_report;
mod interrupt;
mod load;
mod mode_detection;
mod outputs;
mod oversized;
mod policy_diff;
mod posture;
mod prom;
mod properties;
mod raw_probe_openssl;
mod real_harness;
mod real_servers;
mod scan_testbed;
mod scanner_input;
mod schema;
mod terminal;
mod testbed_behaviours;
mod versions_cli;
