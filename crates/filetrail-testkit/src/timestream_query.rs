//! Timestream `Query` answered in AWS's shape by the [`crate::front`], from what moto stored.
//!
//! moto stores the records `WriteRecords` sends but cannot run a query. [`answer`] answers
//! `Timestream_20181101.Query` in the response shape AWS documents
//! (<https://docs.aws.amazon.com/timestream/latest/developerguide/API_query_Query.html>):
//! `QueryId`; `Rows`, each a `Row` whose `Data` holds one `Datum` per column, `ScalarValue` (a
//! string) or `NullValue: true`
//! (<https://docs.aws.amazon.com/timestream/latest/developerguide/API_query_Row.html>,
//! <https://docs.aws.amazon.com/timestream/latest/developerguide/API_query_Datum.html>);
//! `ColumnInfo` (`Name`, `Type.ScalarType`); `NextToken` while rows remain; `QueryStatus`
//! (`ProgressPercentage`, `CumulativeBytesScanned`, `CumulativeBytesMetered`). As AWS may, the
//! first page of every query is empty with a `NextToken` (the query still runs), and a token is
//! only valid with the query string it came with.
//!
//! [`audit_trail`] runs the one statement it knows: the audit's trail lookup, exactly as
//! `filetrail_audit::timestream::Sql` writes it ([`TrailLookup::parse`] refuses any other
//! text), over the records moto stored.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::front::Answer;

/// The `x-amz-target` of Timestream `Query`.
pub const QUERY: &str = "Timestream_20181101.Query";

/// Rows per result page of [`audit_trail`] (AWS pages by size, up to 1 MB; a small page makes
/// every test follow `NextToken`).
pub const ROWS_PER_PAGE: usize = 2;

/// What a query returns: its columns and its rows (`None`: SQL NULL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultSet {
    /// Column names, in order (every column VARCHAR).
    pub columns: Vec<String>,
    /// Rows, one value per column.
    pub rows: Vec<Vec<Option<String>>>,
}

fn digest(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

fn validation(message: &str) -> (u16, Value) {
    (
        400,
        json!({"__type": "ValidationException", "message": message}),
    )
}

/// One page of `set` from row `from` in AWS's shape; `NextToken` when more follow.
fn page(query: &str, set: &ResultSet, from: usize, rows_per_page: usize) -> Value {
    let to = (from + rows_per_page).min(set.rows.len());
    let rows: Vec<Value> = set.rows[from.min(to)..to]
        .iter()
        .map(|row| {
            let data: Vec<Value> = row
                .iter()
                .map(|v| match v {
                    Some(s) => json!({"ScalarValue": s}),
                    None => json!({"NullValue": true}),
                })
                .collect();
            json!({"Data": data})
        })
        .collect();
    let columns: Vec<Value> = set
        .columns
        .iter()
        .map(|c| json!({"Name": c, "Type": {"ScalarType": "VARCHAR"}}))
        .collect();
    let mut body = json!({
        "QueryId": format!("AEDQCANNSV2VJ3BN{:016X}", digest(query)),
        "Rows": rows,
        "ColumnInfo": columns,
        "QueryStatus": {
            "ProgressPercentage": 100.0,
            "CumulativeBytesScanned": 2048,
            "CumulativeBytesMetered": 10_000_000
        }
    });
    if to < set.rows.len() {
        body["NextToken"] = format!("{to}:{:x}", digest(query)).into();
    }
    body
}

/// An [`Answer`] to `Query`: `run` turns the query string into its result set (or the message
/// of a `ValidationException`), served `rows_per_page` rows a page after an empty first page.
pub fn answer(
    rows_per_page: usize,
    run: impl Fn(&str) -> Result<ResultSet, String> + Send + Sync + 'static,
) -> Answer {
    Arc::new(move |request: &Value| {
        let Some(query) = request["QueryString"].as_str() else {
            return validation("QueryString is required");
        };
        let set = match run(query) {
            Ok(set) => set,
            Err(message) => return validation(&message),
        };
        let Some(token) = request["NextToken"].as_str() else {
            // The first page: empty, as while a query still runs; the rows follow the token.
            let mut first = page(query, &set, 0, 0);
            first["NextToken"] = format!("0:{:x}", digest(query)).into();
            return (200, first);
        };
        match token.split_once(':') {
            Some((from, hash)) if hash == format!("{:x}", digest(query)) => {
                let from = from.parse().unwrap_or(usize::MAX);
                (200, page(query, &set, from, rows_per_page))
            }
            _ => validation("Invalid pagination token"),
        }
    })
}

/// One trail lookup of the audit: a bucket, the keys looked up as sources, as destinations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailLookup {
    /// The bucket.
    pub bucket: String,
    /// Keys whose `PUT` records from the bucket are asked for.
    pub sources: Vec<String>,
    /// Keys whose `PUT` records to the bucket are asked for.
    pub destinations: Vec<String>,
    /// `time >= from_milliseconds(ms)`: only records from then on are asked for.
    pub not_before_ms: Option<i64>,
}

/// The columns the audit's lookup selects, in order.
pub const TRAIL_COLUMNS: [&str; 4] = [
    "source_bucket",
    "file_key",
    "destination_bucket",
    "new_file_key",
];

/// The column a query reads a record's time from, as [`audit_trail`] gives it to
/// [`TrailLookup::matches`]: the `Time` moto stored, in epoch milliseconds (the recorder writes
/// `TimeUnit` `MILLISECONDS` in its common attributes, which moto drops).
pub const TIME_COLUMN: &str = "time";

/// A cursor over a statement, for [`TrailLookup::parse`].
struct Cursor<'a> {
    rest: &'a str,
}

impl Cursor<'_> {
    fn eat(&mut self, text: &str) -> bool {
        match self.rest.strip_prefix(text) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, text: &str) -> Result<(), String> {
        if self.eat(text) {
            Ok(())
        } else {
            Err(format!(
                "expected {text:?} at {:?}",
                self.rest.chars().take(80).collect::<String>()
            ))
        }
    }

    /// A SQL string literal (`'…'`, a quote doubled).
    fn literal(&mut self) -> Result<String, String> {
        self.expect("'")?;
        let mut out = String::new();
        let mut chars = self.rest.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\'' {
                out.push(c);
                continue;
            }
            if self.rest[i + 1..].starts_with('\'') {
                out.push('\'');
                chars.next();
                continue;
            }
            self.rest = &self.rest[i + 1..];
            return Ok(out);
        }
        Err("an unterminated string literal".into())
    }

    /// ` AND time >= from_milliseconds(ms)`, if it comes next.
    fn time_bound(&mut self) -> Result<Option<i64>, String> {
        if !self.eat(" AND time >= from_milliseconds(") {
            return Ok(None);
        }
        let end = self
            .rest
            .find(')')
            .ok_or("an unterminated from_milliseconds(")?;
        let ms = self.rest[..end]
            .parse()
            .map_err(|e| format!("from_milliseconds({}): {e}", &self.rest[..end]))?;
        self.rest = &self.rest[end + 1..];
        Ok(Some(ms))
    }

    /// `column IN ('a', 'b')`.
    fn in_list(&mut self, column: &str) -> Result<Vec<String>, String> {
        self.expect(&format!("{column} IN ("))?;
        let mut keys = vec![self.literal()?];
        while self.eat(", ") {
            keys.push(self.literal()?);
        }
        self.expect(")")?;
        Ok(keys)
    }
}

impl TrailLookup {
    /// The lookup `sql` asks for, if it is exactly the audit's statement for
    /// `database`.`table` and `measure`:
    /// `SELECT source_bucket, file_key, destination_bucket, new_file_key FROM "db"."table"
    /// WHERE measure_name = 'm' AND action_type = 'PUT'[ AND time >= from_milliseconds(ms)] AND
    /// ((source_bucket = 'b' AND file_key IN (…)) OR (destination_bucket = 'b' AND
    /// (new_file_key IN (…) OR file_key IN (…))))`, either side alone when the other has no
    /// keys. Anything else is an error naming where it differs.
    pub fn parse(sql: &str, database: &str, table: &str, measure: &str) -> Result<Self, String> {
        let mut c = Cursor { rest: sql };
        c.expect(&format!(
            "SELECT {} FROM \"{database}\".\"{table}\" WHERE measure_name = '{measure}' AND action_type = 'PUT'",
            TRAIL_COLUMNS.join(", ")
        ))?;
        let mut lookup = Self {
            not_before_ms: c.time_bound()?,
            ..Self::default()
        };
        c.expect(" AND (")?;
        if c.eat("(source_bucket = ") {
            lookup.bucket = c.literal()?;
            c.expect(" AND ")?;
            lookup.sources = c.in_list("file_key")?;
            c.expect(")")?;
            if !c.eat(" OR ") {
                c.expect(")")?;
                return lookup.end(&c);
            }
        }
        c.expect("(destination_bucket = ")?;
        let bucket = c.literal()?;
        if !lookup.sources.is_empty() && bucket != lookup.bucket {
            return Err(format!("two buckets: {:?} and {bucket:?}", lookup.bucket));
        }
        lookup.bucket = bucket;
        c.expect(" AND (")?;
        lookup.destinations = c.in_list("new_file_key")?;
        c.expect(" OR ")?;
        if c.in_list("file_key")? != lookup.destinations {
            return Err("new_file_key and file_key name different destination keys".into());
        }
        c.expect(")))")?;
        lookup.end(&c)
    }

    fn end(self, c: &Cursor<'_>) -> Result<Self, String> {
        if c.rest.is_empty() {
            Ok(self)
        } else {
            Err(format!("unexpected text after the statement: {:?}", c.rest))
        }
    }

    /// Whether a stored record (its columns by name, its time as [`TIME_COLUMN`] in epoch
    /// milliseconds) is a `PUT` this lookup asks for.
    pub fn matches(&self, record: &BTreeMap<String, String>) -> bool {
        let col = |name: &str| record.get(name).map(String::as_str);
        let named =
            |keys: &[String], name: &str| col(name).is_some_and(|v| keys.iter().any(|k| k == v));
        let in_bound = self.not_before_ms.is_none_or(|bound| {
            col(TIME_COLUMN)
                .and_then(|t| t.parse::<i64>().ok())
                .is_some_and(|t| t >= bound)
        });
        in_bound
            && col("action_type") == Some("PUT")
            && ((col("source_bucket") == Some(&self.bucket) && named(&self.sources, "file_key"))
                || (col("destination_bucket") == Some(&self.bucket)
                    && (named(&self.destinations, "new_file_key")
                        || named(&self.destinations, "file_key"))))
    }
}

/// An [`Answer`] to the audit's trail lookups on `database`.`table` (records in the layout
/// whose measure name is `measure`), run over the records moto stored, [`ROWS_PER_PAGE`] rows a
/// page. Any other statement is answered with a `ValidationException` naming where it differs,
/// so a change of the audit's SQL fails loudly.
pub fn audit_trail(database: &str, table: &str, measure: &str) -> Answer {
    let (database, table, measure) = (database.to_owned(), table.to_owned(), measure.to_owned());
    answer(ROWS_PER_PAGE, move |sql| {
        let lookup = TrailLookup::parse(sql, &database, &table, &measure).map_err(|e| {
            format!("the test's Query answer knows only the audit's trail lookup: {e}")
        })?;
        let rows = crate::moto::timestream_records(&database, &table)
            .iter()
            .map(|record| {
                let mut columns = crate::moto::timestream_columns(record);
                if let Some(t) = record["Time"].as_str() {
                    columns.insert(TIME_COLUMN.to_owned(), t.to_owned());
                }
                columns
            })
            .filter(|r| lookup.matches(r))
            .map(|r| TRAIL_COLUMNS.iter().map(|c| r.get(*c).cloned()).collect())
            .collect();
        Ok(ResultSet {
            columns: TRAIL_COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
            rows,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQL: &str = "SELECT source_bucket, file_key, destination_bucket, new_file_key FROM \"d\".\"t\" WHERE measure_name = 'timestamp' AND action_type = 'PUT' AND ";

    #[test]
    fn the_audits_statement_is_read_back_and_anything_else_refused() {
        let both = format!(
            "{SQL}((source_bucket = 'b' AND file_key IN ('l0/a''s')) OR (destination_bucket = 'b' AND (new_file_key IN ('x', 'y') OR file_key IN ('x', 'y'))))"
        );
        let l = TrailLookup::parse(&both, "d", "t", "timestamp").expect("parses");
        assert_eq!(
            (l.bucket.as_str(), l.sources, l.destinations),
            (
                "b",
                vec!["l0/a's".to_owned()],
                vec!["x".to_owned(), "y".to_owned()]
            )
        );
        let one = format!(
            "{SQL}((destination_bucket = 'b' AND (new_file_key IN ('x') OR file_key IN ('x'))))"
        );
        assert!(TrailLookup::parse(&one, "d", "t", "timestamp").is_ok());
        let sources = format!("{SQL}((source_bucket = 'b' AND file_key IN ('x')))");
        assert!(TrailLookup::parse(&sources, "d", "t", "timestamp").is_ok());
        // The time bound, when there is one, comes before the keys; only records at or after
        // it match.
        let bounded = both.replace(
            "'PUT' AND (",
            "'PUT' AND time >= from_milliseconds(1700000000000) AND (",
        );
        let l = TrailLookup::parse(&bounded, "d", "t", "timestamp").expect("parses");
        assert_eq!(l.not_before_ms, Some(1_700_000_000_000));
        let record = |time: &str| {
            [
                ("action_type", "PUT"),
                ("destination_bucket", "b"),
                ("file_key", "x"),
                (TIME_COLUMN, time),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>()
        };
        assert!(l.matches(&record("1700000000000")), "at the bound");
        assert!(!l.matches(&record("1699999999999")), "just before it");
        assert_eq!(
            TrailLookup::parse(&both, "d", "t", "timestamp")
                .expect("parses")
                .not_before_ms,
            None
        );
        assert!(
            TrailLookup::parse(&both, "d", "t", "timestamp")
                .expect("parses")
                .matches(&record("1"))
        );
        for wrong in [
            both.replace("'timestamp'", "'file_moved'"),
            both.replace("OR file_key IN ('x', 'y')", "OR file_key IN ('x')"),
            both.replace(" AND action_type = 'PUT'", ""),
            format!("{both} ORDER BY time"),
            bounded.replace("time >= ", "time > "),
            bounded.replace("(1700000000000)", "(1700000000000 )"),
            bounded.replace("from_milliseconds(1700000000000)", "ago(1d)"),
        ] {
            assert!(
                TrailLookup::parse(&wrong, "d", "t", "timestamp").is_err(),
                "{wrong}"
            );
        }
    }

    #[test]
    fn pages_follow_an_empty_first_page_and_a_token_belongs_to_its_query() {
        let a = answer(2, |_| {
            Ok(ResultSet {
                columns: vec!["c".into()],
                rows: vec![vec![Some("1".into())], vec![None], vec![Some("3".into())]],
            })
        });
        let (_, first) = a(&json!({"QueryString": "q"}));
        assert_eq!(first["Rows"], json!([]));
        assert_eq!(first["ColumnInfo"][0]["Name"], "c");
        let (_, second) = a(&json!({"QueryString": "q", "NextToken": first["NextToken"]}));
        assert_eq!(
            second["Rows"],
            json!([{"Data": [{"ScalarValue": "1"}]}, {"Data": [{"NullValue": true}]}])
        );
        let (_, third) = a(&json!({"QueryString": "q", "NextToken": second["NextToken"]}));
        assert_eq!(third["Rows"][0]["Data"][0]["ScalarValue"], "3");
        assert!(third.get("NextToken").is_none());
        let (status, _) = a(&json!({"QueryString": "other", "NextToken": second["NextToken"]}));
        assert_eq!(status, 400);
    }
}
