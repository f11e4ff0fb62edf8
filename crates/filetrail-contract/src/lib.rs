//! The filetrail contract: the `FileMoved` v1 event every stage emits and every consumer reads.
//!
//! - [`FileMoved`] and [`Move`]: the event and the fields that identify a move;
//!   [`Move::event_id`] is the deterministic idempotency key.
//! - [`FileMoved::validate`]: every rule of the contract, one error per field and limit.
//! - [`parse_body`] and [`Delivery::from_attributes`]: every form a message arrives in.
//! - [`SCHEMA_JSON`]: the JSON Schema for producers in other languages.
//! - [`record`]: the names and values every store writes an event under (no store's limits:
//!   the contract knows S3's and its own rules only).

mod error;
mod event;
mod inbound;
pub mod limits;
pub mod record;
mod time;

pub use error::ContractError;
pub use event::{ActionType, EVENT_ID_HEX_LEN, FileMoved, Move, SCHEMA_VERSION};
pub use inbound::{
    BodyShape, DETAIL_TYPE, Delivery, Inbound, attr, parse_body, parse_body_str, parse_event_str,
};
pub use time::{OCCURRED_AT_FORMAT, OccurredAt};

/// The JSON Schema (draft 2020-12) of the `FileMoved` v1 detail.
pub const SCHEMA_JSON: &str = include_str!("../schema/file-moved.v1.schema.json");
