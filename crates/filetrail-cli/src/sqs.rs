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

/// When a received message was sent (`SentTimestamp`, epoch ms).
fn sent_ms(m: &Message) -> Option<i64> {
    m.attributes()?
        .get(&MessageSystemAttributeName::SentTimestamp)?
        .parse()
        .ok()
}

/// A message the scan keeps hidden until it ends.
#[derive(Debug, Clone)]
struct Held {
    receipt_handle: String,
    hidden_until: Instant,
}

/// Messages sent to the queue this long after a scan started (by their `SentTimestamp`,
/// against this host's clock) arrived during the scan: it holds them hidden but does not read
/// them (a replay's own re-sent letters, the recorder's new dead letters), so it ends. The
/// allowance absorbs the skew between this clock and SQS's: a message sent within it is read.
pub const LATE_ALLOWANCE: Duration = Duration::from_secs(5);

/// One pass over a queue that reads every message once, however large the queue: each message
/// read is either consumed (deleted by the caller) or held hidden, its visibility extended
/// before it lapses, until [`Scan::finish`] releases it. Messages are told apart by id, so one
/// that reappears anyway (its extension came too late) is never counted twice, and a receive
/// that brings only such messages hides them again without ending the scan. Reappearing
/// messages mean the window is too short for this queue and this client (extending every held
/// message takes longer than the window): the scan doubles its window, up to
/// [`MAX_SCAN_VISIBILITY`]. Messages that arrived during the scan ([`LATE_ALLOWANCE`]) are held,
/// not read. When the scan ends is [`Tally::verdict`]'s decision.
#[derive(Debug)]
pub struct Scan<'a> {
    sqs: &'a aws_sdk_sqs::Client,
    queue_url: &'a str,
    visibility: Duration,
    held: HashMap<String, Held>,
    seen: HashSet<String>,
    tally: Tally,
    /// Messages sent after this (epoch ms) arrived during the scan.
    late_after_ms: i64,
    late: usize,
    end: Option<Verdict>,
}

/// What a scan has seen so far, from which [`Tally::verdict`] decides whether it is over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Distinct messages read.
    pub read: usize,
    /// Messages held hidden (read, or arrived during the scan).
    pub held: usize,
    /// `ApproximateNumberOfMessages` when the scan started.
    pub at_start: u64,
    /// Receives in a row that brought no message at all.
    pub empty: usize,
    /// Receives in a row that brought messages, none of them new.
    pub nothing_new: usize,
    /// Messages those receives brought (reappeared, or arrived during the scan).
    pub not_new: usize,
}

/// Whether a scan goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Receive again.
    Go,
    /// Every message the queue held when the scan started was read.
    Done,
    /// The scan stops with messages unread: held messages keep reappearing faster than it can
    /// hide them, or it holds [`MAX_IN_FLIGHT`] messages.
    CutShort,
}

impl Tally {
    /// The scan is done after [`EMPTY_RECEIVES_TO_STOP`] empty long polls in a row (a long poll
    /// asks every SQS server, so an empty one means no visible message), or once it has read as
    /// many messages as were visible at the start and a receive brings nothing new. It is cut
    /// short when it holds [`MAX_IN_FLIGHT`] messages, or when receives bringing nothing new
    /// have brought more than twice every held message (plus one receive's worth): each such
    /// receive hides what it brings again, so a queue whose held messages come back that often
    /// is not being held. A receive may bring fewer than 10 messages, so the budget counts
    /// messages, not receives.
    pub fn verdict(&self) -> Verdict {
        let enough = u64::try_from(self.read).unwrap_or(u64::MAX) >= self.at_start;
        let max_receive = usize::try_from(MAX_RECEIVE).unwrap_or(10);
        if self.empty >= EMPTY_RECEIVES_TO_STOP
            || (enough && (self.empty > 0 || self.nothing_new > 0))
        {
            Verdict::Done
        } else if self.held >= MAX_IN_FLIGHT || self.not_new > 2 * self.held + max_receive {
            Verdict::CutShort
        } else {
            Verdict::Go
        }
    }
}

/// How a scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanEnd {
    /// Distinct messages read.
    pub read: usize,
    /// `ApproximateNumberOfMessages` when the scan started.
    pub visible_at_start: u64,
    /// Messages that arrived during the scan, held and not read.
    pub late: usize,
    /// Whether the scan stopped with messages unread ([`Verdict::CutShort`]).
    pub cut_short: bool,
}

impl ScanEnd {
    /// Whether the scan read every message the queue held when it started.
    pub fn complete(&self) -> bool {
        !self.cut_short
    }
}

impl<'a> Scan<'a> {
    /// Start a scan of `queue_url`, hiding what it reads for `visibility_timeout_s` seconds at a
    /// time (extended while the scan runs).
    pub async fn start(
        sqs: &'a aws_sdk_sqs::Client,
        queue_url: &'a str,
        visibility_timeout_s: i32,
    ) -> Result<Scan<'a>, filetrail_aws::Classified> {
        let started_ms = OccurredAt::now().millis();
        let counts = queue_counts(sqs, queue_url).await?;
        let allowance = i64::try_from(LATE_ALLOWANCE.as_millis()).unwrap_or(i64::MAX);
        Ok(Self {
            sqs,
            queue_url,
            visibility: Duration::from_secs(
                u64::try_from(visibility_timeout_s.max(1)).unwrap_or(1),
            ),
            held: HashMap::new(),
            seen: HashSet::new(),
            tally: Tally {
                at_start: counts.visible,
                ..Tally::default()
            },
            late_after_ms: started_ms.saturating_add(allowance),
            late: 0,
            end: None,
        })
    }

    /// Treat messages sent more than `allowance` after the scan started as late (tests shorten
    /// [`LATE_ALLOWANCE`]).
    pub fn late_allowance(mut self, allowance: Duration) -> Self {
        let allowance_ms = i64::try_from(allowance.as_millis()).unwrap_or(i64::MAX);
        let default_ms = i64::try_from(LATE_ALLOWANCE.as_millis()).unwrap_or(0);
        self.late_after_ms = self.late_after_ms - default_ms + allowance_ms;
        self
    }

    /// The next messages the scan has not seen, or `None` when it is over. Every message
    /// returned must be either [`Scan::hold`]-ed or consumed by the caller.
    pub async fn next(&mut self) -> Result<Option<Vec<Message>>, filetrail_aws::Classified> {
        loop {
            self.tally.held = self.held.len();
            match self.tally.verdict() {
                Verdict::Go => {}
                end => {
                    self.end = Some(end);
                    return Ok(None);
                }
            }
            self.extend().await;
            let secs = i32::try_from(self.visibility.as_secs()).unwrap_or(i32::MAX);
            let received = receive(self.sqs, self.queue_url, secs).await?;
            let count = received.len();
            let (fresh, reappeared) = self.sort_out(received);
            if !fresh.is_empty() {
                (self.tally.empty, self.tally.nothing_new, self.tally.not_new) = (0, 0, 0);
                return Ok(Some(fresh));
            }
            if count == 0 {
                self.tally.empty += 1;
                continue;
            }
            if reappeared > 0 && self.tally.nothing_new == 0 {
                self.widen();
            }
            self.tally.nothing_new += 1;
            self.tally.not_new += count;
        }
    }

    /// The messages of one receive the scan has not seen and that did not arrive during it, and
    /// how many held ones reappeared; a reappeared message gets its newest receipt handle, a
    /// late one is held.
    fn sort_out(&mut self, received: Vec<Message>) -> (Vec<Message>, usize) {
        let until = Instant::now() + self.visibility;
        let mut reappeared = 0;
        let mut fresh = Vec::with_capacity(received.len());
        for m in received {
            let id = m.message_id().unwrap_or_default().to_owned();
            let handle = m.receipt_handle().unwrap_or_default().to_owned();
            if let Some(h) = self.held.get_mut(&id) {
                // It reappeared: only the newest receipt handle is valid.
                h.receipt_handle = handle;
                h.hidden_until = until;
                reappeared += 1;
            } else if self.seen.contains(&id) {
                // Read and consumed by the caller earlier: nothing to do.
            } else if sent_ms(&m).is_some_and(|t| t > self.late_after_ms) {
                self.late += 1;
                self.hold(&id, &handle);
            } else {
                self.seen.insert(id);
                self.tally.read += 1;
                fresh.push(m);
            }
        }
        (fresh, reappeared)
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
            read: self.tally.read,
            visible_at_start: self.tally.at_start,
            late: self.late,
            cut_short: self.end == Some(Verdict::CutShort),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(read: usize, held: usize, at_start: u64) -> Tally {
        Tally {
            read,
            held,
            at_start,
            ..Tally::default()
        }
    }

    #[test]
    fn empty_long_polls_end_a_scan_and_so_does_nothing_new_once_enough_was_read() {
        let mut t = tally(10, 10, 400);
        t.empty = 1;
        assert_eq!(
            t.verdict(),
            Verdict::Go,
            "one empty poll is not yet the end"
        );
        t.empty = EMPTY_RECEIVES_TO_STOP;
        assert_eq!(t.verdict(), Verdict::Done);
        let mut t = tally(400, 400, 400);
        assert_eq!(
            t.verdict(),
            Verdict::Go,
            "enough, but the last receive brought news"
        );
        t.nothing_new = 1;
        t.not_new = 1;
        assert_eq!(t.verdict(), Verdict::Done);
    }

    /// AWS may answer a receive with fewer than 10 messages: receives of one reappeared message
    /// each do not end the scan before they have brought back twice every held message.
    #[test]
    fn receives_of_a_few_reappeared_messages_do_not_end_a_scan_early() {
        let mut t = tally(221, 221, 400);
        for n in 1..=2 * 221 + 10 {
            t.nothing_new = n;
            t.not_new = n;
            assert_eq!(
                t.verdict(),
                Verdict::Go,
                "after {n} receives of one old message"
            );
        }
        t.not_new += 1;
        assert_eq!(
            t.verdict(),
            Verdict::CutShort,
            "held messages keep coming back: cut short, never done"
        );
    }

    #[test]
    fn the_in_flight_limit_cuts_a_scan_short() {
        assert_eq!(
            tally(MAX_IN_FLIGHT, MAX_IN_FLIGHT, 200_000).verdict(),
            Verdict::CutShort
        );
        assert_eq!(
            tally(MAX_IN_FLIGHT - 1, MAX_IN_FLIGHT - 1, 200_000).verdict(),
            Verdict::Go
        );
    }
}
