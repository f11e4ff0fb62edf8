//! `filetrail history`: the trail of a file through the pipeline, from Timestream.

use std::collections::{BTreeSet, VecDeque};

use aws_sdk_timestreamquery::types::Datum;
use serde::Serialize;

/// How far `new_file_key` links are followed.
pub const MAX_HOPS: usize = 32;
pub use filetrail_contract::record::NOT_AVAILABLE;
use filetrail_contract::record::name;

/// One recorded move.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Move {
    /// When it happened (RFC 3339 UTC, ms).
    pub time: String,
    /// `PUT` or `DELETE`.
    pub action_type: String,
    /// Key before the move.
    pub file_key: String,
    /// Key after the move (`N/A` when unchanged).
    pub new_file_key: String,
    /// Bucket it left (`N/A` when none).
    pub source_bucket: String,
    /// Bucket it reached (`N/A` when none).
    pub destination_bucket: String,
    /// The event's id.
    pub event_id: String,
}

/// Where history comes from: every recorded move of one key.
pub trait HistorySource {
    /// The moves whose `file_key` is `key`.
    fn moves_of(&self, key: &str) -> impl std::future::Future<Output = Result<Vec<Move>, String>>;
}

/// The trail of `key`: its moves and, following each `new_file_key`, those of the keys it
/// became, newest last, each move once.
pub async fn trail(source: &impl HistorySource, key: &str) -> Result<Vec<Move>, String> {
    let mut seen_keys = BTreeSet::new();
    let mut queue = VecDeque::from([key.to_owned()]);
    let mut moves = BTreeSet::new();
    while let Some(k) = queue.pop_front() {
        if !seen_keys.insert(k.clone()) || seen_keys.len() > MAX_HOPS {
            continue;
        }
        for m in source.moves_of(&k).await? {
            if m.new_file_key != NOT_AVAILABLE && !seen_keys.contains(&m.new_file_key) {
                queue.push_back(m.new_file_key.clone());
            }
            moves.insert(m);
        }
    }
    // `time` sorts first and is fixed-width RFC 3339: oldest first, newest last.
    Ok(moves.into_iter().collect())
}

/// The record layout the table uses: the recorder's own, so `history` queries the measure name
/// the recorder writes.
pub use filetrail_recorder::Layout;

/// History from a Timestream table through the Query API (paginated).
#[derive(Debug, Clone)]
pub struct TimestreamHistory {
    client: aws_sdk_timestreamquery::Client,
    database: String,
    table: String,
    layout: Layout,
}

impl TimestreamHistory {
    /// Query `database`.`table`, written in `layout`.
    pub fn new(
        client: aws_sdk_timestreamquery::Client,
        database: &str,
        table: &str,
        layout: Layout,
    ) -> Self {
        Self {
            client,
            database: database.into(),
            table: table.into(),
            layout,
        }
    }

    /// The SQL for one key (string literals escaped by doubling quotes).
    pub fn query(&self, key: &str) -> String {
        let measure = self.layout.measure_name();
        let ident = |s: &str| s.replace('"', "\"\"");
        let columns = [
            name::ACTION_TYPE,
            name::FILE_KEY,
            name::NEW_FILE_KEY,
            name::SOURCE_BUCKET,
            name::DESTINATION_BUCKET,
            name::EVENT_ID,
        ]
        .join(", ");
        format!(
            "SELECT time, {columns} FROM \"{}\".\"{}\" WHERE measure_name = '{measure}' AND {} = '{}' ORDER BY time ASC",
            ident(&self.database),
            ident(&self.table),
            name::FILE_KEY,
            key.replace('\'', "''")
        )
    }
}

fn scalar(d: &Datum) -> String {
    d.scalar_value().unwrap_or(NOT_AVAILABLE).to_owned()
}

/// Timestream's `2024-05-01 12:00:00.123000000` as RFC 3339 with milliseconds.
pub fn rfc3339(ts: &str) -> String {
    match ts.split_once(' ') {
        Some((date, time)) => {
            let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
            format!("{date}T{hms}.{:0<3}Z", &frac[..frac.len().min(3)])
        }
        None => ts.to_owned(),
    }
}

impl HistorySource for TimestreamHistory {
    async fn moves_of(&self, key: &str) -> Result<Vec<Move>, String> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let resp = self
                .client
                .query()
                .query_string(self.query(key))
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| {
                    let c = filetrail_aws::classify(filetrail_aws::Service::Timestream, &e);
                    format!("Timestream query failed: {}: {}", c.code, c.message)
                })?;
            let names = filetrail_audit::timestream::column_names(&resp);
            let col = |row: &[Datum], name: &str| {
                names
                    .iter()
                    .position(|n| *n == name)
                    .and_then(|i| row.get(i))
                    .map_or(NOT_AVAILABLE.to_owned(), scalar)
            };
            for row in resp.rows() {
                let d = row.data();
                out.push(Move {
                    time: rfc3339(&col(d, "time")),
                    action_type: col(d, name::ACTION_TYPE),
                    file_key: col(d, name::FILE_KEY),
                    new_file_key: col(d, name::NEW_FILE_KEY),
                    source_bucket: col(d, name::SOURCE_BUCKET),
                    destination_bucket: col(d, name::DESTINATION_BUCKET),
                    event_id: col(d, name::EVENT_ID),
                });
            }
            match resp.next_token() {
                Some(t) => next = Some(t.to_owned()),
                None => return Ok(out),
            }
        }
    }
}

/// The Timestream Query client every trail reader builds (the audit crate's, so `history`,
/// `audit` and the auditor share one).
pub use filetrail_audit::timestream::query_client as timestream_query_client;

/// History from InfluxDB (Timestream for InfluxDB), through InfluxQL on its v1 `/query` API.
#[derive(Debug)]
pub struct InfluxHistory<T>(pub filetrail_influxdb::InfluxDb<T>);

impl From<filetrail_influxdb::HistoryRow> for Move {
    fn from(r: filetrail_influxdb::HistoryRow) -> Self {
        let na = |v: Option<String>| v.unwrap_or_else(|| NOT_AVAILABLE.to_owned());
        Self {
            time: r.time.to_string(),
            action_type: r.action_type.as_str().to_owned(),
            file_key: r.file_key,
            new_file_key: na(r.new_file_key),
            source_bucket: na(r.source_bucket),
            destination_bucket: na(r.destination_bucket),
            event_id: r.event_id,
        }
    }
}

impl<T: filetrail_influxdb::Transport> HistorySource for InfluxHistory<T> {
    async fn moves_of(&self, key: &str) -> Result<Vec<Move>, String> {
        let rows = self
            .0
            .history(key)
            .await
            .map_err(|e| format!("InfluxDB query failed: {e}"))?;
        Ok(rows.into_iter().map(Move::from).collect())
    }
}

/// The trail as an aligned text table.
pub fn table(moves: &[Move]) -> String {
    let header = ["time", "action", "from", "to", "event_id"];
    let rows: Vec<[String; 5]> = moves
        .iter()
        .map(|m| {
            [
                m.time.clone(),
                m.action_type.clone(),
                format!("{}/{}", m.source_bucket, m.file_key),
                if m.destination_bucket == NOT_AVAILABLE && m.new_file_key == NOT_AVAILABLE {
                    NOT_AVAILABLE.to_owned()
                } else {
                    let key = if m.new_file_key == NOT_AVAILABLE {
                        &m.file_key
                    } else {
                        &m.new_file_key
                    };
                    format!("{}/{key}", m.destination_bucket)
                },
                m.event_id.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = vec![line(header.to_vec())];
    out.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    out.join("\n") + "\n"
}
