//! ftps-scan: an active FTPS endpoint scanner.
//!
//! The library does the scanning and never prints; the `ftps-scan` binary
//! parses flags, draws progress and writes reports. Data flow:
//! targets → [`scan::run_scan`] → [`probe`] per endpoint →
//! [`model::EndpointReport`] → [`policy`] → sinks in [`report`].

// Network data must never panic the scanner: no unwrap, expect, panic or
// unchecked indexing in library code (tests may).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod compare;
pub mod config;
pub mod demo;
pub mod dispatch;
pub mod endpoint;
pub mod ftp;
pub mod hostname;
pub mod model;
pub mod policy;
pub mod probe;
pub mod report;
pub mod scan;
pub mod targets;
pub mod testbed;
pub mod tls;

pub use config::{ScanConfig, Timeouts};
pub use report::{ClientCert, EndpointReport, Mode, ModeDetection, ModeRule, Phase, Status};
