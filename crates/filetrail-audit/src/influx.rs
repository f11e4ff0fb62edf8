//! The trail in InfluxDB, read with InfluxQL on the v1 `/query` endpoint: one statement per
//! lookup, cut so its URL stays within [`INFLUXDB_MAX_QUERY_URL_BYTES`].

use filetrail_contract::record::name;
use filetrail_influxdb::line::{SEED_FIELD, tag_text};
use filetrail_influxdb::{
    InfluxDb, Transport, WriteError, answer, influxql_identifier, influxql_string, url_encode,
};

use crate::error::TrailError;
use crate::limits::INFLUXDB_MAX_QUERY_URL_BYTES;
use crate::trail::{Found, Lookup, Side, Trail, TrailRecord, split};

/// Room kept in the URL for the path and the `db`/`rp`/`epoch` parameters.
const URL_OVERHEAD_BYTES: usize = 1024;

/// The trail in the InfluxDB the recorder writes to.
#[derive(Debug)]
pub struct InfluxTrail<T> {
    client: InfluxDb<T>,
    max_url_bytes: usize,
}

/// `"tag" = 'value'` with the value in its stored form ([`tag_text`]).
fn tag_is(tag: &str, value: &str) -> String {
    format!(
        "{} = {}",
        influxql_identifier(tag),
        influxql_string(&tag_text(value))
    )
}

/// `("tag" = 'a' OR "tag" = 'b')`.
fn any_of(tag: &str, keys: &[&str]) -> String {
    let terms: Vec<String> = keys.iter().map(|k| tag_is(tag, k)).collect();
    format!("({})", terms.join(" OR "))
}

/// Whether a query that failed with `e` may pass later: no answer at all, or an HTTP status the
/// InfluxDB crate's one classifier ([`answer::classify`]) calls retryable (429, 5xx, but not
/// 500 "retention policy not found", a configuration error). A failed statement, a
/// decoding error or a secret are not.
pub fn retryable(e: &filetrail_influxdb::Error) -> bool {
    match e {
        filetrail_influxdb::Error::Transport(_) => true,
        filetrail_influxdb::Error::Status { status, message } => matches!(
            answer::classify(*status, None, message.as_bytes(), &[] as &[&str]),
            Err(WriteError::Retryable { .. })
        ),
        _ => false,
    }
}

impl<T: Transport> InfluxTrail<T> {
    /// The trail behind `client`.
    pub fn new(client: InfluxDb<T>) -> Self {
        Self {
            client,
            max_url_bytes: INFLUXDB_MAX_QUERY_URL_BYTES,
        }
    }

    /// Cut statements at `bytes` of URL instead of the default (tests).
    #[must_use]
    pub fn with_max_url_bytes(mut self, bytes: usize) -> Self {
        self.max_url_bytes = bytes;
        self
    }

    /// The InfluxQL of one lookup (at least one key): `PUT` points from the bucket whose
    /// `file_key` is a source key, or to it whose `new_file_key` or `file_key` is a
    /// destination key; with [`Lookup::not_before`], only points from then on (`time >=
    /// 'RFC 3339'`, which InfluxDB uses to skip the shards before it). The seed field is
    /// selected so InfluxDB returns the points' tags.
    pub fn statement(&self, lookup: &Lookup<'_>) -> String {
        let mut sides = Vec::with_capacity(2);
        if !lookup.sources.is_empty() {
            sides.push(format!(
                "({} AND {})",
                tag_is(name::SOURCE_BUCKET, lookup.bucket),
                any_of(name::FILE_KEY, lookup.sources)
            ));
        }
        if !lookup.destinations.is_empty() {
            sides.push(format!(
                "({} AND ({} OR {}))",
                tag_is(name::DESTINATION_BUCKET, lookup.bucket),
                any_of(name::NEW_FILE_KEY, lookup.destinations),
                any_of(name::FILE_KEY, lookup.destinations)
            ));
        }
        let columns: Vec<String> = [
            SEED_FIELD,
            name::ACTION_TYPE,
            name::EVENT_ID,
            name::SOURCE_BUCKET,
            name::FILE_KEY,
            name::DESTINATION_BUCKET,
            name::NEW_FILE_KEY,
        ]
        .iter()
        .map(|c| influxql_identifier(c))
        .collect();
        // `time`: InfluxDB's own column, the point's time (the event's `occurred_at`).
        let since = lookup
            .not_before
            .map(|t| {
                let at = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                format!(" AND time >= {}", influxql_string(&at))
            })
            .unwrap_or_default();
        format!(
            "SELECT {} FROM {} WHERE {}{since} AND ({})",
            columns.join(", "),
            influxql_identifier(self.client.measurement()),
            tag_is(name::ACTION_TYPE, "PUT"),
            sides.join(" OR ")
        )
    }

    /// The lookups `lookup` is cut into so that each statement's URL fits.
    pub fn parts<'a>(&self, lookup: &Lookup<'a>) -> Vec<Lookup<'a>> {
        let empty = Lookup {
            bucket: lookup.bucket,
            ..lookup.probe()
        };
        let overhead = url_encode(&self.statement(&empty)).len() + URL_OVERHEAD_BYTES;
        split(lookup, overhead, self.max_url_bytes, |side, key| {
            let term = |tag| url_encode(&format!("{} OR ", tag_is(tag, key))).len();
            match side {
                Side::Source => term(name::FILE_KEY),
                Side::Destination => term(name::NEW_FILE_KEY) + term(name::FILE_KEY),
            }
        })
    }
}

impl<T: Transport> Trail for InfluxTrail<T> {
    async fn lookup(&self, lookup: &Lookup<'_>) -> Result<Found, TrailError> {
        let mut found = Found::default();
        if lookup.is_empty() {
            return Ok(found);
        }
        let fail = |e: filetrail_influxdb::Error| TrailError {
            store: "InfluxDB",
            retryable: retryable(&e),
            message: e.to_string(),
        };
        for part in self.parts(lookup) {
            let answer = self
                .client
                .query(&self.statement(&part))
                .await
                .map_err(fail)?;
            let rows = filetrail_influxdb::rows(&answer).map_err(fail)?;
            found.records.extend(rows.into_iter().map(|r| TrailRecord {
                source_bucket: r.source_bucket,
                file_key: r.file_key,
                destination_bucket: r.destination_bucket,
                new_file_key: r.new_file_key,
            }));
            found.queries += 1;
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use filetrail_influxdb::Error;

    use super::retryable;

    fn status(status: u16, message: &str) -> Error {
        Error::Status {
            status,
            message: message.into(),
        }
    }

    #[test]
    fn what_may_pass_later_is_what_the_influxdb_classifier_says() {
        assert!(retryable(&Error::Transport("connection refused".into())));
        assert!(retryable(&status(429, "too many requests")));
        assert!(retryable(&status(503, "service unavailable")));
        // A configuration error, whatever its status: the classifier's 500 case.
        assert!(!retryable(&status(
            500,
            "retention policy not found: autogen"
        )));
        assert!(!retryable(&status(401, "authorization failed")));
        assert!(!retryable(&status(404, "database not found: x")));
        assert!(!retryable(&Error::Query("error parsing query".into())));
    }
}
