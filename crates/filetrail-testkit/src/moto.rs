//! Reading the emulator's own state, for what its APIs do not return.

use std::io::{Read, Write};
use std::net::TcpStream;

/// GET a path from the emulator over plain HTTP/1.0 and return the body.
pub fn get(path: &str) -> String {
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
            body.to_owned()
        }
        _ => panic!(
            "GET {path}: unexpected response: {}",
            text.chars().take(300).collect::<String>()
        ),
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
