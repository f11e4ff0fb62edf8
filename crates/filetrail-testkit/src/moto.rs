//! Reading the emulator's own state, for what its APIs do not return.

use std::io::{Read, Write};
use std::net::TcpStream;

/// How many times a state read is tried: moto's `data.json` walks every model and answers 500
/// when another request changes one mid-walk, which parallel tests do.
const STATE_READ_ATTEMPTS: usize = 20;

/// GET a path from the emulator over plain HTTP/1.0 and return the body, retrying moto's
/// transient 500s.
pub fn get(path: &str) -> String {
    let mut last = String::new();
    for _ in 0..STATE_READ_ATTEMPTS {
        match try_get(path) {
            Ok(body) => return body,
            Err(response) => last = response,
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    panic!("GET {path}: unexpected response after {STATE_READ_ATTEMPTS} attempts: {last}")
}

fn try_get(path: &str) -> Result<String, String> {
    let endpoint = crate::endpoint();
    let addr = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")
        .unwrap_or_else(|e| panic!("send: {e}"));
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .unwrap_or_else(|e| panic!("read: {e}"));
    let text = String::from_utf8_lossy(&response).into_owned();
    match text.split_once("\r\n\r\n") {
        Some((head, body))
            if head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200") =>
        {
            Ok(body.to_owned())
        }
        _ => Err(text.chars().take(300).collect()),
    }
}

/// Every record the emulator stored in `database`.`table`, as it stored them (moto keeps the
/// request's records and drops `CommonAttributes`).
pub fn timestream_records(database: &str, table: &str) -> Vec<serde_json::Value> {
    let data: serde_json::Value = serde_json::from_str(&get("/moto-api/data.json"))
        .unwrap_or_else(|e| panic!("moto data.json: {e}"));
    let tables = data["timestreamwrite"]["TimestreamTable"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    tables
        .into_iter()
        .filter(|t| t["db_name"] == database && t["name"] == table)
        .flat_map(|t| t["records"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The columns of one record [`timestream_records`] returned, by name, as a query reads them:
/// its dimensions and its measure values (`MeasureValues` of a multi-measure record).
pub fn timestream_columns(
    record: &serde_json::Value,
) -> std::collections::BTreeMap<String, String> {
    let pairs = |list: &str| {
        record[list]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|d| {
                Some((
                    d["Name"].as_str()?.to_owned(),
                    d["Value"].as_str()?.to_owned(),
                ))
            })
            .collect::<Vec<_>>()
    };
    pairs("Dimensions")
        .into_iter()
        .chain(pairs("MeasureValues"))
        .collect()
}
