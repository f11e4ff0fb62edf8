//! Reading a dead-letter queue without losing anything: receive, classify, release.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, Message, MessageSystemAttributeName,
    QueueAttributeName,
};
use filetrail_contract::{ContractError, Delivery, Inbound, OccurredAt, parse_body_str};

/// SQS returns at most 10 messages per ReceiveMessage call.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html>
pub const MAX_RECEIVE: i32 = 10;
/// Consecutive receives that bring no message at all (long polls: the queue has no visible
/// message), after which a scan ends.
pub const EMPTY_RECEIVES_TO_STOP: usize = 2;
/// Most messages of a standard queue that can be in flight (received, not deleted) at once; a
/// scan holding that many can read no more.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html>
pub const MAX_IN_FLIGHT: usize = 120_000;
/// The longest a scan hides a message: the window it starts with doubles each time held
/// messages reappear (the scan could not extend them in time), up to this. A scan that dies
/// leaves what it held hidden for at most this long.
pub const MAX_SCAN_VISIBILITY: Duration = Duration::from_secs(15 * 60);
/// ChangeMessageVisibilityBatch takes at most 10 entries.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibilityBatch.html>
pub const MAX_VISIBILITY_BATCH: usize = 10;

/// One message read from a DLQ, classified.
#[derive(Debug, Clone)]
pub struct DeadLetterMessage {
    /// SQS message id.
    pub message_id: String,
    /// Receipt handle of this receive.
    pub receipt_handle: String,
    /// The body, verbatim.
    pub body: String,
    /// How it got into the DLQ.
    pub delivery: Delivery,
    /// The event, or why the body is not a valid event.
    pub parsed: Result<Inbound, ContractError>,
    /// When it was first sent (`SentTimestamp`), epoch ms.
    pub sent_at_ms: Option<i64>,
}

impl DeadLetterMessage {
    /// Classify a received message.
    pub fn from_message(m: &Message, now: OccurredAt) -> Self {
        let system: &HashMap<MessageSystemAttributeName, String> =
            m.attributes().unwrap_or_else(|| empty_system());
        let delivery = Delivery::from_attributes(|name| {
            m.message_attributes()
                .and_then(|a| a.get(name))
                .and_then(|v| v.string_value())
                .or_else(|| {
                    system
                        .get(&MessageSystemAttributeName::from(name))
                        .map(String::as_str)
                })
        });
        let body = m.body().unwrap_or_default().to_owned();
        Self {
            message_id: m.message_id().unwrap_or_default().to_owned(),
            receipt_handle: m.receipt_handle().unwrap_or_default().to_owned(),
            parsed: parse_body_str(&body, now),
            body,
            delivery,
            sent_at_ms: system
                .get(&MessageSystemAttributeName::SentTimestamp)
                .and_then(|t| t.parse().ok()),
        }
    }

    /// Why the message is in the DLQ, to group by.
    pub fn reason(&self) -> String {
        self.delivery.reason()
    }
}

fn empty_system() -> &'static HashMap<MessageSystemAttributeName, String> {
    static EMPTY: std::sync::OnceLock<HashMap<MessageSystemAttributeName, String>> =
        std::sync::OnceLock::new();
    EMPTY.get_or_init(HashMap::new)
}

/// Receive up to 10 messages, hiding them for `visibility_timeout_s` seconds. A long poll (1 s)
/// asks every SQS server, so an empty answer means the queue has no visible message.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html>
pub async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    visibility_timeout_s: i32,
) -> Result<Vec<Message>, filetrail_aws::Classified> {
    sqs.receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(MAX_RECEIVE)
        .visibility_timeout(visibility_timeout_s)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map(|out| out.messages().to_vec())
        .map_err(|e| filetrail_aws::classify(filetrail_aws::Service::Sqs, &e))
}

/// A message the scan keeps hidden until it ends.
#[derive(Debug, Clone)]
struct Held {
    receipt_handle: String,
    hidden_until: Instant,
}

/// One pass over a queue that reads every message once, however large the queue: each message
/// read is either consumed (deleted by the caller) or held hidden, its visibility extended
/// before it lapses, until [`Scan::finish`] releases it. Messages are told apart by id, so one
/// that reappears anyway (its extension came too late) is never counted twice, and a receive
/// that brings only such messages hides them again without ending the scan. Reappearing
/// messages mean the window is too short for this queue and this client (extending every held
/// message takes longer than the window): the scan doubles its window, up to
/// [`MAX_SCAN_VISIBILITY`]. The scan ends after
/// [`EMPTY_RECEIVES_TO_STOP`] empty receives in a row, once it has read as many messages as the
/// queue held at the start and a receive brings nothing new, after enough receives of only
/// reappeared messages to have brought back every held one, or at [`MAX_IN_FLIGHT`].
#[derive(Debug)]
pub struct Scan<'a> {
    sqs: &'a aws_sdk_sqs::Client,
    queue_url: &'a str,
    visibility: Duration,
    held: HashMap<String, Held>,
    seen: HashSet<String>,
    at_start: u64,
    /// Receives in a row that brought no message.
    empty: usize,
    /// Receives in a row that brought messages, all of them already seen.
    stale: usize,
    truncated: bool,
}

/// How a scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanEnd {
    /// Distinct messages read.
    pub read: usize,
    /// `ApproximateNumberOfMessages` when the scan started.
    pub visible_at_start: u64,
    /// Whether the scan stopped at [`MAX_IN_FLIGHT`] held messages with more left unread.
    pub truncated: bool,
}

impl<'a> Scan<'a> {
    /// Start a scan of `queue_url`, hiding what it reads for `visibility_timeout_s` seconds at a
    /// time (extended while the scan runs).
    pub async fn start(
        sqs: &'a aws_sdk_sqs::Client,
        queue_url: &'a str,
        visibility_timeout_s: i32,
    ) -> Result<Scan<'a>, filetrail_aws::Classified> {
        let counts = queue_counts(sqs, queue_url).await?;
        Ok(Self {
            sqs,
            queue_url,
            visibility: Duration::from_secs(
                u64::try_from(visibility_timeout_s.max(1)).unwrap_or(1),
            ),
            held: HashMap::new(),
            seen: HashSet::new(),
            at_start: counts.visible,
            empty: 0,
            stale: 0,
            truncated: false,
        })
    }

    /// The next messages the scan has not seen, or `None` when it is over. Every message
    /// returned must be either [`Scan::hold`]-ed or consumed by the caller.
    pub async fn next(&mut self) -> Result<Option<Vec<Message>>, filetrail_aws::Classified> {
        loop {
            if self.over() {
                return Ok(None);
            }
            if self.held.len() >= MAX_IN_FLIGHT {
                self.truncated = true;
                return Ok(None);
            }
            self.extend().await;
            let secs = i32::try_from(self.visibility.as_secs()).unwrap_or(i32::MAX);
            let received = receive(self.sqs, self.queue_url, secs).await?;
            let until = Instant::now() + self.visibility;
            let any = !received.is_empty();
            let mut fresh = Vec::with_capacity(received.len());
            for m in received {
                let id = m.message_id().unwrap_or_default().to_owned();
                if self.seen.insert(id.clone()) {
                    fresh.push(m);
                } else if let Some(h) = self.held.get_mut(&id) {
                    // It reappeared: only the newest receipt handle is valid.
                    h.receipt_handle = m.receipt_handle().unwrap_or_default().to_owned();
                    h.hidden_until = until;
                }
            }
            if fresh.is_empty() {
                if any {
                    if self.stale == 0 {
                        self.widen();
                    }
                    self.stale += 1;
                } else {
                    self.empty += 1;
                }
                continue;
            }
            (self.empty, self.stale) = (0, 0);
            return Ok(Some(fresh));
        }
    }

    /// Whether the scan is over: the queue answered empty long polls, or the last receive
    /// brought nothing new once as many messages were read as were visible at the start, or
    /// receives of only reappeared messages went on long enough to bring back every one held.
    fn over(&self) -> bool {
        let read = self.seen.len();
        let enough = u64::try_from(read).unwrap_or(u64::MAX) >= self.at_start;
        let nothing_new = self.empty + self.stale;
        let cycled = read / MAX_RECEIVE as usize + EMPTY_RECEIVES_TO_STOP;
        self.empty >= EMPTY_RECEIVES_TO_STOP || (enough && nothing_new > 0) || self.stale > cycled
    }

    /// Keep `m` hidden until the scan ends.
    pub fn hold(&mut self, message_id: &str, receipt_handle: &str) {
        self.held.insert(
            message_id.to_owned(),
            Held {
                receipt_handle: receipt_handle.to_owned(),
                hidden_until: Instant::now() + self.visibility,
            },
        );
    }

    /// Make every held message visible again and say how the scan ended.
    pub async fn finish(self) -> ScanEnd {
        let handles: Vec<String> = self.held.into_values().map(|h| h.receipt_handle).collect();
        release(self.sqs, self.queue_url, &handles).await;
        ScanEnd {
            read: self.seen.len(),
            visible_at_start: self.at_start,
            truncated: self.truncated,
        }
    }

    /// Double the window (up to [`MAX_SCAN_VISIBILITY`]): held messages reappeared before the
    /// scan could extend them.
    fn widen(&mut self) {
        let wider = (self.visibility * 2).min(MAX_SCAN_VISIBILITY.max(self.visibility));
        if wider > self.visibility {
            tracing::warn!(
                from_s = self.visibility.as_secs(),
                to_s = wider.as_secs(),
                held = self.held.len(),
                "held messages reappeared before their visibility was extended; widening the scan's visibility window"
            );
            self.visibility = wider;
        }
    }

    /// Extend the visibility of held messages that would reappear within half a timeout.
    async fn extend(&mut self) {
        let soon = Instant::now() + self.visibility / 2;
        let due: Vec<(String, String)> = self
            .held
            .iter()
            .filter(|(_, h)| h.hidden_until <= soon)
            .map(|(id, h)| (id.clone(), h.receipt_handle.clone()))
            .collect();
        if due.is_empty() {
            return;
        }
        let secs = i32::try_from(self.visibility.as_secs()).unwrap_or(i32::MAX);
        let until = Instant::now() + self.visibility;
        for chunk in due.chunks(MAX_VISIBILITY_BATCH) {
            let handles: Vec<String> = chunk.iter().map(|(_, h)| h.clone()).collect();
            change_visibility(self.sqs, self.queue_url, &handles, secs).await;
            for (id, _) in chunk {
                if let Some(h) = self.held.get_mut(id) {
                    h.hidden_until = until;
                }
            }
        }
    }
}

/// A queue's approximate message counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// `ApproximateNumberOfMessages`: visible.
    pub visible: u64,
    /// `ApproximateNumberOfMessagesNotVisible`: in flight.
    pub in_flight: u64,
}

/// The approximate counts of `queue_url`.
pub async fn queue_counts(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Result<QueueCounts, filetrail_aws::Classified> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| filetrail_aws::classify(filetrail_aws::Service::Sqs, &e))?;
    let get = |n: QueueAttributeName| {
        attrs
            .attributes()
            .and_then(|a| a.get(&n))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(QueueCounts {
        visible: get(QueueAttributeName::ApproximateNumberOfMessages),
        in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    })
}

/// Make received messages visible again at once (nothing is consumed).
pub async fn release(sqs: &aws_sdk_sqs::Client, queue_url: &str, receipt_handles: &[String]) {
    for chunk in receipt_handles.chunks(MAX_VISIBILITY_BATCH) {
        change_visibility(sqs, queue_url, chunk, 0).await;
    }
}

/// Set the visibility timeout of up to [`MAX_VISIBILITY_BATCH`] received messages.
async fn change_visibility(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    receipt_handles: &[String],
    visibility_timeout_s: i32,
) {
    let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = receipt_handles
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(h)
                .visibility_timeout(visibility_timeout_s)
                .build()
                .ok()
        })
        .collect();
    if let Err(e) = sqs
        .change_message_visibility_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await
    {
        // Not fatal: a message whose visibility was not changed reappears when its timeout
        // ends, and the scan knows it by id.
        tracing::warn!(error = %filetrail_aws::classify(filetrail_aws::Service::Sqs, &e).message, "could not change the visibility of messages");
    }
}
