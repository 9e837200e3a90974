//! Rows of a `--sort input` run: spooled to disk as they finish, written in
//! input order at the end.
//!
//! Holding every row in memory until the end cost 1.6 GB at 766,000
//! endpoints, and a killed run left empty reports. Here each finished row
//! is appended to a JSON Lines spool file in one write as soon as it
//! arrives, so a run killed even by SIGKILL leaves every finished row on
//! disk, readable by [`sorted_rows`] (`ftps-scan recover`). At the end the
//! spool is sorted by `input_index` with bounded memory: runs of
//! [`CHUNK_ROWS`] rows are sorted in memory and written to run files, then
//! merged (an external merge sort). Only the sort keys and one chunk of
//! lines are ever in memory.

use super::{EndpointReport, Mode};
use serde::Deserialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Rows sorted in memory at a time.
pub const CHUNK_ROWS: usize = 8192;

/// The order rows are written in: input order, then address, port, mode
/// (a name or a CIDR block gives several endpoints per input line).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
struct SortKey {
    input_index: u64,
    ip: Option<IpAddr>,
    port: u16,
    mode: Mode,
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}, line {line}: not an ftps-scan report row: {message}")]
    BadRow {
        path: String,
        line: u64,
        message: String,
    },
    #[error("{path}: a row cannot be read back: {message}")]
    Unreadable { path: String, message: String },
    /// Writing a sorted row to its destination failed.
    #[error("{0}")]
    Emit(String),
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The spool file of a running scan.
#[derive(Debug)]
pub struct Spool {
    path: PathBuf,
    file: File,
}

impl Spool {
    /// Creates the spool file. One that already exists holds the rows of an
    /// earlier run that did not finish: it is never overwritten.
    pub fn create(path: &Path) -> Result<Self, SpoolError> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                let source = if e.kind() == io::ErrorKind::AlreadyExists {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "a spool of an earlier run that did not finish is in the way: \
                             recover its rows with `ftps-scan recover {}` (see --help), or delete it",
                            path.display()
                        ),
                    )
                } else {
                    e
                };
                io_error(path)(source)
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a finished row, in one write (never half a row on disk after
    /// a kill, but for a write cut by the kill itself, which
    /// [`sorted_rows`] skips).
    pub fn push(&mut self, report: &EndpointReport) -> Result<(), SpoolError> {
        // The same record as `--jsonl` writes, so a spool is a JSON Lines
        // report in its own right.
        let mut line = super::jsonl::to_line(report).map_err(io_error(&self.path))?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(io_error(&self.path))?;
        Ok(())
    }

    /// Emits every spooled row in input order, then removes the spool.
    pub fn drain_sorted<F>(self, emit: F) -> Result<u64, SpoolError>
    where
        F: FnMut(EndpointReport) -> Result<(), String>,
    {
        drop(self.file);
        let count = sorted_rows(&self.path, CHUNK_ROWS, emit)?;
        std::fs::remove_file(&self.path).map_err(io_error(&self.path))?;
        Ok(count)
    }
}

/// Reads a JSON Lines report (a spool, or any ftps-scan `--jsonl` file) and
/// emits its rows in input order, holding at most `chunk_rows` lines in
/// memory. A last line cut short by a kill (no line break, not JSON) is
/// skipped; any other bad line is an error naming it. Returns the number
/// of rows emitted.
pub fn sorted_rows<F>(path: &Path, chunk_rows: usize, mut emit: F) -> Result<u64, SpoolError>
where
    F: FnMut(EndpointReport) -> Result<(), String>,
{
    let chunk_rows = chunk_rows.max(1);
    let mut lines = RowLines::open(path)?;
    let mut runs: Vec<PathBuf> = Vec::new();
    let result = (|| {
        loop {
            let chunk = lines.next_chunk(chunk_rows)?;
            let complete = chunk.len() < chunk_rows;
            if runs.is_empty() && complete {
                // Everything fits in one chunk: no run files needed.
                return emit_lines(path, chunk, &mut emit);
            }
            if !chunk.is_empty() {
                runs.push(write_run(path, runs.len(), chunk)?);
            }
            if complete {
                break;
            }
        }
        merge_runs(path, &runs, &mut emit)
    })();
    for run in &runs {
        let _ = std::fs::remove_file(run);
    }
    result
}

/// A spool's lines with their sort keys.
struct RowLines {
    path: PathBuf,
    reader: BufReader<File>,
    line_no: u64,
}

impl RowLines {
    fn open(path: &Path) -> Result<Self, SpoolError> {
        let file = File::open(path).map_err(io_error(path))?;
        Ok(Self {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(256 * 1024, file),
            line_no: 0,
        })
    }

    /// The next row line and its key, `None` at the end.
    fn next_row(&mut self) -> Result<Option<(SortKey, String)>, SpoolError> {
        loop {
            let mut line = String::new();
            let read = self
                .reader
                .read_line(&mut line)
                .map_err(io_error(&self.path))?;
            if read == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            let whole = line.ends_with('\n');
            let text = line.trim_end();
            if text.is_empty() {
                continue;
            }
            match serde_json::from_str::<SortKey>(text) {
                Ok(key) => {
                    let len = text.len();
                    line.truncate(len);
                    return Ok(Some((key, line)));
                }
                // The write the kill interrupted.
                Err(_) if !whole => return Ok(None),
                Err(e) => {
                    return Err(SpoolError::BadRow {
                        path: self.path.display().to_string(),
                        line: self.line_no,
                        message: e.to_string(),
                    })
                }
            }
        }
    }

    fn next_chunk(&mut self, rows: usize) -> Result<Vec<(SortKey, String)>, SpoolError> {
        let mut chunk = Vec::with_capacity(rows.min(CHUNK_ROWS));
        while chunk.len() < rows {
            match self.next_row()? {
                Some(row) => chunk.push(row),
                None => break,
            }
        }
        Ok(chunk)
    }
}

fn sort_chunk(chunk: &mut [(SortKey, String)]) {
    // Stable: rows with equal keys keep their spool order.
    chunk.sort_by(|a, b| a.0.cmp(&b.0));
}

fn parse_row(path: &Path, line: &str) -> Result<EndpointReport, SpoolError> {
    serde_json::from_str(line).map_err(|e| SpoolError::Unreadable {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn emit_lines<F>(
    path: &Path,
    mut chunk: Vec<(SortKey, String)>,
    emit: &mut F,
) -> Result<u64, SpoolError>
where
    F: FnMut(EndpointReport) -> Result<(), String>,
{
    sort_chunk(&mut chunk);
    let count = chunk.len() as u64;
    for (_, line) in chunk {
        emit(parse_row(path, &line)?).map_err(SpoolError::Emit)?;
    }
    Ok(count)
}

/// Writes one sorted run beside the spool.
fn write_run(
    spool: &Path,
    index: usize,
    mut chunk: Vec<(SortKey, String)>,
) -> Result<PathBuf, SpoolError> {
    sort_chunk(&mut chunk);
    let mut name = spool.as_os_str().to_owned();
    name.push(format!(".run-{index}"));
    let path = PathBuf::from(name);
    let file = File::create(&path).map_err(io_error(&path))?;
    let mut out = BufWriter::new(file);
    for (_, line) in &chunk {
        out.write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(io_error(&path))?;
    }
    out.flush().map_err(io_error(&path))?;
    Ok(path)
}

/// Merges sorted runs: one line of each in memory at a time.
fn merge_runs<F>(spool: &Path, runs: &[PathBuf], emit: &mut F) -> Result<u64, SpoolError>
where
    F: FnMut(EndpointReport) -> Result<(), String>,
{
    let mut readers = runs
        .iter()
        .map(|p| RowLines::open(p))
        .collect::<Result<Vec<_>, _>>()?;
    // (key, run, line): ties go to the earlier run, which holds earlier
    // rows; runs differ, so lines are never compared.
    let mut heap: BinaryHeap<Reverse<(SortKey, usize, String)>> = BinaryHeap::new();
    for (i, reader) in readers.iter_mut().enumerate() {
        if let Some((key, line)) = reader.next_row()? {
            heap.push(Reverse((key, i, line)));
        }
    }
    let mut count = 0;
    while let Some(Reverse((_, i, line))) = heap.pop() {
        emit(parse_row(spool, &line)?).map_err(SpoolError::Emit)?;
        count += 1;
        if let Some(reader) = readers.get_mut(i) {
            if let Some((key, next)) = reader.next_row()? {
                heap.push(Reverse((key, i, next)));
            }
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(input_index: u64, port: u16, banner: &str) -> EndpointReport {
        let mut r = EndpointReport {
            input_index,
            target: format!("t{input_index}"),
            ip: Some("127.0.0.1".parse().unwrap()),
            port,
            ..Default::default()
        };
        r.ftp.banner = Some(crate::ftp::reply::Reply::new(220, vec![banner.to_string()]));
        r
    }

    fn drained(spool: Spool) -> Vec<EndpointReport> {
        let mut out = Vec::new();
        spool
            .drain_sorted(|r| {
                out.push(r);
                Ok(())
            })
            .unwrap();
        out
    }

    #[test]
    fn rows_come_back_whole_and_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let mut spool = Spool::create(&path).unwrap();
        let order = [5u64, 1, 4, 0, 3, 2];
        for i in order {
            spool.push(&report(i, 990, "\u{9b}hostile\u{1b}")).unwrap();
            spool.push(&report(i, 21, "ok")).unwrap();
        }
        let rows = drained(spool);
        let keys: Vec<(u64, u16)> = rows.iter().map(|r| (r.input_index, r.port)).collect();
        let expected: Vec<(u64, u16)> = (0..6).flat_map(|i| [(i, 21), (i, 990)]).collect();
        assert_eq!(keys, expected);
        assert_eq!(
            rows[1].ftp.banner.as_ref().map(|b| b.text()),
            Some("\u{9b}hostile\u{1b}".to_string())
        );
        assert!(!path.exists(), "the spool is removed once drained");
    }

    #[test]
    fn the_external_merge_orders_rows_across_many_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let mut spool = Spool::create(&path).unwrap();
        // A scrambled order (7 is coprime with 100), 100 rows in runs of 8.
        let indexes: Vec<u64> = (0..100u64).map(|i| (i * 7) % 100).collect();
        for &i in &indexes {
            spool.push(&report(i, 21, "220")).unwrap();
        }
        drop(spool.file);
        let mut seen = Vec::new();
        let count = sorted_rows(&path, 8, |r| {
            seen.push(r.input_index);
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 100);
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "run files are removed: {leftovers:?}");
    }

    #[test]
    fn a_row_cut_short_by_a_kill_is_skipped_and_other_damage_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let whole = serde_json::to_string(&report(1, 21, "220")).unwrap();
        let cut = &whole[..whole.len() / 2];
        std::fs::write(&path, format!("{whole}\n{cut}")).unwrap();
        let mut n = 0;
        assert_eq!(
            sorted_rows(&path, 8, |_| {
                n += 1;
                Ok(())
            })
            .unwrap(),
            1
        );
        std::fs::write(&path, format!("{cut}\n{whole}\n")).unwrap();
        let err = sorted_rows(&path, 8, |_| Ok(())).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn an_existing_spool_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        std::fs::write(&path, "rows of an earlier run\n").unwrap();
        let err = Spool::create(&path).unwrap_err().to_string();
        assert!(err.contains("ftps-scan recover"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "rows of an earlier run\n"
        );
    }
}
