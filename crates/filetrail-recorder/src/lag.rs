//! How far the trail lags behind the pipeline: per invocation, from the events it stored and
//! the messages it received.

use filetrail_aws::emf::{MetricField, Metrics, Unit};

/// The SQS attribute with the time a message was sent to the queue, epoch milliseconds as a
/// string ("ApproximateFirstReceiveTimestamp and SentTimestamp are each returned as an integer
/// representing the epoch time in milliseconds", SQS `Message.Attributes`,
/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_Message.html).
pub const SENT_TIMESTAMP: &str = "SentTimestamp";
/// The SQS attribute with the time a message was first received, used when `SentTimestamp` is
/// absent.
pub const FIRST_RECEIVE_TIMESTAMP: &str = "ApproximateFirstReceiveTimestamp";

/// EMF name of [`Lag::max_ms`].
pub const LAG_MAX_METRIC: &str = "recording_lag_max_ms";
/// EMF name of [`Lag::p50_ms`].
pub const LAG_P50_METRIC: &str = "recording_lag_p50_ms";
/// EMF name of [`Lag::oldest_message_age_ms`].
pub const OLDEST_MESSAGE_AGE_METRIC: &str = "oldest_message_age_ms";

/// The lag of one invocation, in milliseconds; `None` where there was nothing to measure (no
/// event stored, no message with a timestamp), so no metric is emitted rather than a zero that
/// would look healthy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lag {
    /// The largest `written − occurred_at` over the events this invocation stored.
    pub max_ms: Option<u64>,
    /// The median (the lower one for an even count) of the same.
    pub p50_ms: Option<u64>,
    /// The age, when the batch arrived, of its oldest message: now − its `SentTimestamp`.
    pub oldest_message_age_ms: Option<u64>,
}

impl Lag {
    /// The lag from each stored event's `written − occurred_at` (ms; negative values, from an
    /// `occurred_at` slightly ahead of this clock, count as 0) and the oldest message's age.
    pub fn new(mut lags_ms: Vec<i64>, oldest_message_age_ms: Option<u64>) -> Self {
        lags_ms.sort_unstable();
        let at = |i: usize| lags_ms.get(i).map(|&ms| u64::try_from(ms).unwrap_or(0));
        Self {
            max_ms: lags_ms.len().checked_sub(1).and_then(at),
            p50_ms: lags_ms.len().checked_sub(1).map(|n| n / 2).and_then(at),
            oldest_message_age_ms,
        }
    }

    /// Add the measured values to `metrics`, in milliseconds.
    pub fn add_to(&self, metrics: &mut Metrics) {
        let values = [self.max_ms, self.p50_ms, self.oldest_message_age_ms];
        for (name, value) in <Self as MetricField>::NAMES.iter().zip(values) {
            if let Some(ms) = value {
                metrics.set_in(name, ms, Unit::Milliseconds);
            }
        }
    }
}

/// The lag as a field of the recorder's [`crate::Counts`]: its three metrics, whatever the
/// field is called.
impl MetricField for Lag {
    const NAMES: &'static [&'static str] =
        &[LAG_MAX_METRIC, LAG_P50_METRIC, OLDEST_MESSAGE_AGE_METRIC];

    fn add_to(&self, _field: &'static str, metrics: &mut Metrics) {
        Lag::add_to(self, metrics);
    }

    /// A lag is one invocation's: summing counts leaves it as it is.
    fn accumulate(&mut self, _other: &Self) {}
}

/// The age at `now_ms` of the oldest of `sent_ms` (epoch milliseconds), 0 for a time ahead.
pub fn oldest_age(sent_ms: impl IntoIterator<Item = i64>, now_ms: i64) -> Option<u64> {
    sent_ms
        .into_iter()
        .min()
        .map(|oldest| u64::try_from(now_ms.saturating_sub(oldest)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_and_median_of_the_stored_events() {
        let lag = Lag::new(vec![300, -5, 100, 200], Some(7));
        assert_eq!(lag.max_ms, Some(300));
        assert_eq!(lag.p50_ms, Some(100), "lower median of 0, 100, 200, 300");
        assert_eq!(Lag::new(vec![40], None).p50_ms, Some(40));
        assert_eq!(Lag::new(vec![], None), Lag::default());
    }

    #[test]
    fn the_oldest_message_sets_the_age() {
        assert_eq!(oldest_age([1_000, 400, 900], 1_500), Some(1_100));
        assert_eq!(oldest_age([2_000], 1_500), Some(0));
        assert_eq!(oldest_age([], 1_500), None);
    }

    #[test]
    fn only_measured_values_are_emitted_in_milliseconds() {
        let mut m = Metrics::new("f");
        Lag::new(vec![10, 30], None).add_to(&mut m);
        assert_eq!(m.names(), vec![LAG_MAX_METRIC, LAG_P50_METRIC]);
        let line: serde_json::Value = serde_json::from_str(&m.to_line(0)).expect("EMF");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Milliseconds"
        );
        assert_eq!(
            (line[LAG_MAX_METRIC].as_u64(), line[LAG_P50_METRIC].as_u64()),
            (Some(30), Some(10))
        );
    }
}
