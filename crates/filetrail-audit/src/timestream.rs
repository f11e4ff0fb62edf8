//! The trail in Timestream for LiveAnalytics, read with the Query API: one SQL statement per
//! lookup (cut at [`TIMESTREAM_MAX_QUERY_BYTES`]), every result page followed by `NextToken`.

use aws_sdk_timestreamquery::types::Datum;
use filetrail_contract::record::{self, SEED_MEASURE, name};
use filetrail_recorder::{Layout, MULTI_MEASURE_NAME};

use crate::error::TrailError;
use crate::limits::TIMESTREAM_MAX_QUERY_BYTES;
use crate::trail::{Found, Lookup, Side, Trail, TrailRecord, split};

/// The columns every audit query selects, in order.
const COLUMNS: [&str; 4] = [
    name::SOURCE_BUCKET,
    name::FILE_KEY,
    name::DESTINATION_BUCKET,
    name::NEW_FILE_KEY,
];

/// The SQL of the audit's lookups for one table: the statements and how a lookup is cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sql {
    database: String,
    table: String,
    layout: Layout,
    max_query_bytes: usize,
}

/// The trail in a Timestream table written by the recorder (either layout).
#[derive(Debug, Clone)]
pub struct TimestreamTrail {
    client: aws_sdk_timestreamquery::Client,
    sql: Sql,
}

/// A SQL string literal: single quotes, a quote doubled.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A SQL identifier: double quotes, a quote doubled.
fn identifier(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `column IN ('a', 'b')`.
fn in_list(column: &str, keys: &[&str]) -> String {
    let list: Vec<String> = keys.iter().map(|k| literal(k)).collect();
    format!("{column} IN ({})", list.join(", "))
}

impl TimestreamTrail {
    /// The trail that `sql`'s table holds, read with `client` (built as `filetrail history`
    /// builds it: the 60 s query timeout, endpoint discovery in AWS).
    pub fn new(client: aws_sdk_timestreamquery::Client, sql: Sql) -> Self {
        Self { client, sql }
    }

    /// Cut queries at `bytes` instead of Timestream's limit (tests).
    #[must_use]
    pub fn with_max_query_bytes(mut self, bytes: usize) -> Self {
        self.sql.max_query_bytes = bytes;
        self
    }

    /// The statements this trail sends.
    pub fn sql(&self) -> &Sql {
        &self.sql
    }

    async fn run(&self, sql: String, out: &mut Vec<TrailRecord>) -> Result<(), TrailError> {
        let mut next: Option<String> = None;
        loop {
            let resp = self
                .client
                .query()
                .query_string(sql.clone())
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| {
                    let c = filetrail_aws::classify(filetrail_aws::Service::Timestream, &e);
                    TrailError {
                        store: "Timestream",
                        message: format!("{}: {}", c.code, c.message),
                        retryable: c.retryable,
                    }
                })?;
            let names = column_names(&resp);
            for row in resp.rows() {
                out.push(record_of(&names, row.data()));
            }
            // A page may be empty while the query still runs: only a missing NextToken ends it
            // (<https://docs.aws.amazon.com/timestream/latest/developerguide/API_query_Query.html>).
            match resp.next_token() {
                Some(t) => next = Some(t.to_owned()),
                None => return Ok(()),
            }
        }
    }
}

impl Sql {
    /// Statements for `database`.`table` written in `layout`, cut at Timestream's limit.
    pub fn new(database: &str, table: &str, layout: Layout) -> Self {
        Self {
            database: database.into(),
            table: table.into(),
            layout,
            max_query_bytes: TIMESTREAM_MAX_QUERY_BYTES,
        }
    }

    /// The same statements cut at `bytes`.
    #[must_use]
    pub fn with_max_query_bytes(mut self, bytes: usize) -> Self {
        self.max_query_bytes = bytes;
        self
    }

    fn measure(&self) -> &'static str {
        match self.layout {
            Layout::Seed => SEED_MEASURE,
            Layout::Multi => MULTI_MEASURE_NAME,
        }
    }

    /// The SQL of one lookup (which must name at least one key): `PUT` records from the
    /// bucket whose `file_key` is a source key, or to the bucket whose destination key
    /// (`new_file_key`, or `file_key` when that is `N/A`) is a destination key; with
    /// [`Lookup::not_before`], only records from then on (`time >= from_milliseconds(…)`, the
    /// form the Grafana plugin's `$__timeFilter` expands to), so Timestream prunes the table's
    /// older time partitions instead of scanning its whole retention: "include a time range in
    /// the WHERE clause … This optimizes query performance and costs"
    /// (<https://docs.aws.amazon.com/timestream/latest/developerguide/queries-bp.html>), "queries
    /// with … predicates including time ranges … enable the query processing engine to prune a
    /// significant amount of data and help with lowering query costs"
    /// (<https://docs.aws.amazon.com/timestream/latest/developerguide/metering-and-pricing.queries.html>).
    pub fn query(&self, lookup: &Lookup<'_>) -> String {
        let bucket = literal(lookup.bucket);
        let mut sides = Vec::with_capacity(2);
        if !lookup.sources.is_empty() {
            sides.push(format!(
                "({} = {bucket} AND {})",
                name::SOURCE_BUCKET,
                in_list(name::FILE_KEY, lookup.sources)
            ));
        }
        if !lookup.destinations.is_empty() {
            sides.push(format!(
                "({} = {bucket} AND ({} OR {}))",
                name::DESTINATION_BUCKET,
                in_list(name::NEW_FILE_KEY, lookup.destinations),
                in_list(name::FILE_KEY, lookup.destinations)
            ));
        }
        // `time`: Timestream's own column, the record's time (the event's `occurred_at`).
        let since = lookup
            .not_before
            .map(|t| format!(" AND time >= from_milliseconds({})", t.timestamp_millis()))
            .unwrap_or_default();
        format!(
            "SELECT {} FROM {}.{} WHERE measure_name = {} AND {} = 'PUT'{since} AND ({})",
            COLUMNS.join(", "),
            identifier(&self.database),
            identifier(&self.table),
            literal(self.measure()),
            name::ACTION_TYPE,
            sides.join(" OR ")
        )
    }

    /// The lookups `lookup` is cut into so that each query fits.
    pub fn parts<'a>(&self, lookup: &Lookup<'a>) -> Vec<Lookup<'a>> {
        let empty = Lookup {
            bucket: lookup.bucket,
            ..lookup.probe()
        };
        // The query with one empty key per side, plus each key's literal and separator (a
        // destination key appears twice).
        let overhead = self.query(&empty).len();
        split(lookup, overhead, self.max_query_bytes, |side, key| {
            let one = literal(key).len() + 2;
            match side {
                Side::Source => one,
                Side::Destination => 2 * one,
            }
        })
    }
}

/// One result row as a record; `N/A` (the seed layout's "missing") reads as `None`.
fn record_of(names: &[&str], data: &[Datum]) -> TrailRecord {
    let col = |column: &str| {
        names
            .iter()
            .position(|n| *n == column)
            .and_then(|i| data.get(i))
            .and_then(Datum::scalar_value)
            .and_then(record::stored)
            .map(str::to_owned)
    };
    TrailRecord {
        source_bucket: col(name::SOURCE_BUCKET),
        file_key: col(name::FILE_KEY).unwrap_or_default(),
        destination_bucket: col(name::DESTINATION_BUCKET),
        new_file_key: col(name::NEW_FILE_KEY),
    }
}

impl Trail for TimestreamTrail {
    async fn lookup(&self, lookup: &Lookup<'_>) -> Result<Found, TrailError> {
        let mut found = Found::default();
        if lookup.is_empty() {
            return Ok(found);
        }
        for part in self.sql.parts(lookup) {
            self.run(self.sql.query(&part), &mut found.records).await?;
            found.queries += 1;
        }
        Ok(found)
    }
}

/// A Timestream Query client: endpoint discovery in AWS, none with an endpoint override (the
/// emulator, a test's front). The trail's readers (`filetrail audit`, the auditor,
/// `filetrail history`) all build theirs here.
pub async fn query_client(
    config: &aws_config::SdkConfig,
) -> Result<aws_sdk_timestreamquery::Client, aws_smithy_runtime_api::box_error::BoxError> {
    // A query runs up to 60 s, and AWS asks SDKs to wait that long
    // (<https://docs.aws.amazon.com/timestream/latest/developerguide/code-samples.run-query.html>).
    let client = aws_sdk_timestreamquery::Client::from_conf(
        aws_sdk_timestreamquery::config::Builder::from(config)
            .timeout_config(filetrail_aws::sdk::query_timeout_config())
            .build(),
    );
    if filetrail_aws::endpoint_override(config).is_some() {
        return Ok(client);
    }
    let (client, reload) = client.with_endpoint_discovery_enabled().await?;
    tokio::spawn(reload.reload_task());
    Ok(client)
}

/// The column names of a Query result page, in column order (rows are read by name).
pub fn column_names(page: &aws_sdk_timestreamquery::operation::query::QueryOutput) -> Vec<&str> {
    page.column_info()
        .iter()
        .map(|c| c.name().unwrap_or_default())
        .collect()
}
