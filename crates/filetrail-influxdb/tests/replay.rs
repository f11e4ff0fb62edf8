//! Scripted answers from a tiny HTTP server on loopback, through the real hyper transport.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use filetrail_influxdb::{
    InfluxDb, InfluxDbConfig, LineOutcome, Target, Token, TokenSource, WriteError,
};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// One request the server received, its body decompressed.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub headers: http::HeaderMap,
    pub body: String,
}

/// A loopback HTTP server answering each request with the next scripted answer.
pub struct Server {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

/// A scripted answer: status, headers, body.
pub type Answer = (u16, Vec<(&'static str, &'static str)>, &'static str);

pub async fn serve(answers: Vec<Answer>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let answers = Arc::new(Mutex::new(VecDeque::from(answers)));
    let s = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (seen, answers) = (s.clone(), answers.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (seen, answers) = (seen.clone(), answers.clone());
                    async move {
                        let (parts, body) = req.into_parts();
                        let raw = body.collect().await.expect("body").to_bytes();
                        let body = if parts
                            .headers
                            .get("content-encoding")
                            .is_some_and(|v| v == "gzip")
                        {
                            let mut s = String::new();
                            flate2::read::GzDecoder::new(&raw[..])
                                .read_to_string(&mut s)
                                .expect("gzip body");
                            s
                        } else {
                            String::from_utf8_lossy(&raw).into_owned()
                        };
                        seen.lock().expect("lock").push(Seen {
                            method: parts.method.to_string(),
                            uri: parts.uri.to_string(),
                            headers: parts.headers,
                            body,
                        });
                        let (status, headers, body) = answers
                            .lock()
                            .expect("lock")
                            .pop_front()
                            .unwrap_or((599, vec![], "script exhausted"));
                        let mut resp = http::Response::builder().status(status);
                        for (k, v) in headers {
                            resp = resp.header(k, v);
                        }
                        Ok::<_, std::convert::Infallible>(
                            resp.body(Full::new(Bytes::from(body))).expect("response"),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Server { url, seen }
}

fn v2(url: &str) -> InfluxDbConfig {
    InfluxDbConfig {
        url: format!("{url}/influx/"),
        target: Target::V2 {
            org: "hermes sdc".into(),
            bucket: "file&trail".into(),
        },
        token: TokenSource::None,
        measurement: "file_moved".into(),
    }
}

fn lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            filetrail_influxdb::line::point(
                "file_moved",
                &super::event_with(i as i64, &format!("k{i}"), None),
            )
            .expect("point")
        })
        .collect()
}

#[tokio::test]
async fn v2_writes_go_to_api_v2_write_gzip_compressed_with_the_token() {
    let server = serve(vec![(204, vec![], "")]).await;
    let db = InfluxDb::new(&v2(&server.url), Some(Token::new("tok-123"))).expect("client");
    let sent = lines(3);
    assert_eq!(db.write(&sent).await, Ok(vec![LineOutcome::Written; 3]));
    let seen = server.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    let r = &seen[0];
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.uri,
        "/influx/api/v2/write?org=hermes%20sdc&bucket=file%26trail&precision=ms"
    );
    assert_eq!(r.headers["authorization"], "Token tok-123");
    assert_eq!(r.headers["content-encoding"], "gzip");
    assert_eq!(r.headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        r.body,
        format!("{}\n", sent.join("\n")),
        "the lines, one per line"
    );
}

#[tokio::test]
async fn v1_writes_name_database_and_retention_policy() {
    let server = serve(vec![(204, vec![], "")]).await;
    let config = InfluxDbConfig {
        url: server.url.clone(),
        target: Target::V1 {
            database: "sdc logs".into(),
            retention_policy: Some("a year".into()),
        },
        token: TokenSource::None,
        measurement: "file_moved".into(),
    };
    let db = InfluxDb::new(&config, None).expect("client");
    db.write(&lines(1)).await.expect("written");
    let seen = server.seen.lock().expect("lock").clone();
    assert_eq!(seen[0].uri, "/write?db=sdc%20logs&rp=a%20year&precision=ms");
    assert!(
        seen[0].headers.get("authorization").is_none(),
        "no token, no header"
    );
}

#[tokio::test]
async fn each_answer_ends_where_the_rules_say() {
    let sent = lines(3);
    let partial: &'static str = Box::leak(
        serde_json::json!({"error": format!("partial write: unable to parse '{}': invalid boolean dropped=0", sent[1])})
            .to_string()
            .into_boxed_str(),
    );
    let server = serve(vec![
        (
            429,
            vec![("retry-after", "2")],
            r#"{"code":"too many requests","message":"slow down"}"#,
        ),
        (
            500,
            vec![],
            r#"{"error":"engine: cache maximum memory size exceeded"}"#,
        ),
        (400, vec![], partial),
        (
            401,
            vec![],
            r#"{"code":"unauthorized","message":"unauthorized access"}"#,
        ),
    ])
    .await;
    let db = InfluxDb::new(&v2(&server.url), Some(Token::new("t"))).expect("client");
    assert_eq!(
        db.write(&sent).await,
        Err(WriteError::Retryable {
            message: "InfluxDB answered 429 (too many requests): slow down".into(),
            retry_after: Some(Duration::from_secs(2)),
        })
    );
    assert!(matches!(
        db.write(&sent).await,
        Err(WriteError::Retryable {
            retry_after: None,
            ..
        })
    ));
    let out = db.write(&sent).await.expect("per line");
    assert!(
        matches!(&out[1], LineOutcome::Refused(r) if r.ends_with("invalid boolean")),
        "{out:?}"
    );
    assert!(matches!(out[0], LineOutcome::Retry(_)) && matches!(out[2], LineOutcome::Retry(_)));
    assert!(
        matches!(db.write(&sent).await, Err(WriteError::Configuration { message }) if message.contains("unauthorized"))
    );
    let seen = server.seen.lock().expect("lock").clone();
    assert_eq!(
        seen.len(),
        4,
        "the client itself never retries: the recorder decides"
    );
    assert!(
        seen.iter()
            .all(|s| s.body == format!("{}\n", sent.join("\n")))
    );
}

#[tokio::test]
async fn no_answer_is_retryable() {
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let db = InfluxDb::new(&v2(&format!("http://127.0.0.1:{port}")), None).expect("client");
    assert!(matches!(
        db.write(&lines(1)).await,
        Err(WriteError::Retryable {
            retry_after: None,
            ..
        })
    ));
}

#[tokio::test]
async fn history_queries_escape_the_key_and_decode_rows() {
    let body = r#"{"results":[{"statement_id":0,"series":[{"name":"file_moved","columns":["time","action_type","destination_bucket","etag","event_id","file_key","new_file_key","size","source_bucket","stage","timestamp","trace_id","version_id"],"values":[[1714564800123,"PUT","hermes-eea",null,"0123456789abcdef0123456789abcdef","it's a%5Ckey","N/A",42,"hermes-incoming","sdc.sorter",1714564800.123,null,null]]}]}]}"#;
    let server = serve(vec![(
        200,
        vec![("content-type", "application/json")],
        body,
    )])
    .await;
    let db = InfluxDb::new(&v2(&server.url), Some(Token::new("t"))).expect("client");
    let rows = db.history("it's a\\key").await.expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].file_key, "it's a\\key");
    assert_eq!(rows[0].new_file_key, None);
    assert_eq!(
        rows[0].optional("size").and_then(serde_json::Value::as_u64),
        Some(42)
    );
    assert_eq!(rows[0].time.millis(), 1_714_564_800_123);
    let seen = server.seen.lock().expect("lock").clone();
    assert_eq!(seen[0].method, "GET");
    let q = seen[0].uri.split("&q=").nth(1).expect("q");
    let decoded: String = percent_decode(q);
    assert_eq!(
        decoded,
        r#"SELECT * FROM "file_moved" WHERE "file_key" = 'it\'s a%5Ckey'"#
    );
    assert!(
        seen[0]
            .uri
            .starts_with("/influx/query?db=file%26trail&epoch=ms&q="),
        "{}",
        seen[0].uri
    );
    assert_eq!(seen[0].headers["authorization"], "Token t");
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("hex"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf8")
}
