//! `filetrail validate`: check FileMoved details, one JSON object per line, against the v1
//! contract, the same code the recorder runs (`FileMoved::from_json` and `validate`).
//!
//! Producers in other languages use it to check what they send; the Python package's
//! conformance test runs its generated details through it and compares every verdict.

use std::io::{self, BufRead, Write};

use filetrail_contract::{ContractError, FileMoved, OccurredAt};
use serde::Serialize;

/// Arguments of `filetrail validate`.
#[derive(Debug, Clone, clap::Args)]
pub struct ValidateArgs {
    /// The clock reading the future-time rule compares with (RFC 3339 UTC); default now.
    #[arg(long)]
    pub now: Option<String>,
}

/// The verdict on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineVerdict {
    /// 1-based line number.
    pub line: usize,
    /// Whether the line is a valid FileMoved v1 detail.
    pub valid: bool,
    /// The event's `event_id`, when valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// The field the error names (`detail` for the detail as a whole); absent when the line is
    /// not JSON text at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The error, naming the field and the limit, when invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Counts of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ValidateSummary {
    /// Non-blank lines read.
    pub lines: usize,
    /// Lines that are valid details.
    pub valid: usize,
    /// Lines that are not.
    pub invalid: usize,
}

/// Check one line (a bare detail, as bytes so invalid UTF-8 is reported); the event id or the
/// contract's error.
pub fn check_line(line: &[u8], now: OccurredAt) -> Result<String, ContractError> {
    let text = std::str::from_utf8(line).map_err(|e| ContractError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    let event = FileMoved::from_json(text)?;
    event.validate(now)?;
    Ok(event.event_id)
}

/// The verdict on line number `n` (1-based).
pub fn verdict(n: usize, line: &[u8], now: OccurredAt) -> LineVerdict {
    match check_line(line, now) {
        Ok(event_id) => LineVerdict {
            line: n,
            valid: true,
            event_id: Some(event_id),
            field: None,
            error: None,
        },
        Err(e) => LineVerdict {
            line: n,
            valid: false,
            event_id: None,
            field: e.field_name().map(str::to_owned),
            error: Some(e.to_string()),
        },
    }
}

fn write_verdict(out: &mut impl Write, v: &LineVerdict, json: bool) -> io::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, v).map_err(io::Error::other)?;
        writeln!(out)
    } else if let Some(id) = &v.event_id {
        writeln!(out, "line {}: ok {id}", v.line)
    } else {
        writeln!(
            out,
            "line {}: invalid: {}",
            v.line,
            v.error.as_deref().unwrap_or_default()
        )
    }
}

/// Check every non-blank line of `input`, writing one verdict per line to `out` as it goes:
/// `line N: ok <event_id>` / `line N: invalid: <field>: <problem>`, or with `json` one JSON
/// object per line (`{"line":N,"valid":true,"event_id":"…"}` /
/// `{"line":N,"valid":false,"field":"…","error":"…"}`).
pub fn validate_lines(
    mut input: impl BufRead,
    out: &mut impl Write,
    now: OccurredAt,
    json: bool,
) -> io::Result<ValidateSummary> {
    let mut summary = ValidateSummary::default();
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        n += 1;
        let line = buf
            .strip_suffix(b"\n")
            .map_or(&buf[..], |l| l.strip_suffix(b"\r").unwrap_or(l));
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        summary.lines += 1;
        let v = verdict(n, line, now);
        if v.valid {
            summary.valid += 1;
        } else {
            summary.invalid += 1;
        }
        write_verdict(out, &v, json)?;
    }
    out.flush()?;
    Ok(summary)
}

/// `filetrail validate` on standard input and output; `Ok(true)` when every line is valid.
pub fn run(args: &ValidateArgs, json: bool) -> anyhow::Result<bool> {
    let now = match &args.now {
        Some(t) => OccurredAt::parse(t).map_err(|e| anyhow::anyhow!("--now: {e}"))?,
        None => OccurredAt::now(),
    };
    let stdin = io::stdin();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let summary = validate_lines(stdin.lock(), &mut out, now, json)?;
    let mut err = io::stderr().lock();
    writeln!(
        err,
        "{} lines: {} valid, {} invalid",
        summary.lines, summary.valid, summary.invalid
    )?;
    Ok(summary.invalid == 0)
}
