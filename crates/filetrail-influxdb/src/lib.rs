//! filetrail's InfluxDB store: `FileMoved` events as line-protocol points, for accounts
//! without Timestream for LiveAnalytics (Timestream for InfluxDB, or any InfluxDB 1.x–3.x).
//!
//! - [`line`]: the point layout and its escaping ([`line::point`], [`line::tag_text`]);
//! - [`InfluxDb::write`]: gzip-compressed writes to `/write` (v1) or `/api/v2/write` (v2),
//!   one [`LineOutcome`] per line or a [`WriteError`], decided by [`answer::classify`];
//! - [`InfluxDb::history`]: every point of one `file_key`, as [`HistoryRow`]s, through
//!   InfluxQL on the v1 `/query` endpoint;
//! - [`InfluxDbConfig`]: the `FILETRAIL_INFLUXDB_*` environment, the token from a variable or
//!   AWS Secrets Manager.
//!
//! The [`Transport`] trait is the HTTP seam; [`HyperTransport`] is the real one.

pub mod answer;
mod client;
mod config;
mod error;
mod history;
pub mod line;

pub use answer::{LineOutcome, WriteError};
pub use client::{
    CONNECT_TIMEOUT, GZIP_LEVEL, HyperTransport, InfluxDb, MAX_POINTS_PER_WRITE,
    MAX_RESPONSE_BYTES, REQUEST_TIMEOUT, Transport, url_encode,
};
pub use config::{
    ENV_BUCKET, ENV_DATABASE, ENV_MEASUREMENT, ENV_ORG, ENV_RETENTION_POLICY, ENV_TOKEN,
    ENV_TOKEN_SECRET_ARN, ENV_URL, InfluxDbConfig, MAX_MEASUREMENT_LEN, Target, Token, TokenSource,
    secret_token,
};
pub use error::Error;
pub use history::{HistoryRow, history_query, influxql_identifier, influxql_string, rows};
