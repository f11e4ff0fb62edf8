//! The service limits the audit works within, each with the page that documents it.

/// Keys ListObjectsV2 returns at most per page (`MaxKeys`, default and maximum 1,000;
/// <https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html>).
pub const LIST_PAGE_KEYS: i32 = 1000;

/// Objects looked up in the trail together: one ListObjectsV2 page, so one query per page
/// (an inventory data file is cut into pieces of this size).
pub const LOOKUP_OBJECTS: usize = 1000;

/// Longest Timestream `QueryString`: the Query API's model gives the shape `QueryString` a
/// `max` of 262,144 (boto/botocore `timestream-query/2018-11-01/service-2.json`). Counted in
/// bytes here, which is never fewer than the characters AWS counts.
pub const TIMESTREAM_MAX_QUERY_BYTES: usize = 262_144;

/// Longest InfluxQL statement sent, URL-encoded, in the `/query?q=` of a GET: InfluxDB's HTTP
/// server is Go's `net/http`, which refuses a request line and headers over
/// `DefaultMaxHeaderBytes` (1 MiB, `net/http/server.go`). A quarter of it leaves room for
/// the headers and for a proxy in front.
pub const INFLUXDB_MAX_QUERY_URL_BYTES: usize = 256 * 1024;
