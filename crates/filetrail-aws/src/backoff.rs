//! Jittered exponential backoff bounded by a deadline.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

/// Shape of the backoff: first delay, cap, growth factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffSettings {
    /// Delay before the first retry (before jitter).
    pub min_delay: Duration,
    /// Largest delay between two attempts.
    pub max_delay: Duration,
    /// Growth factor per attempt.
    pub factor: f32,
}

impl Default for BackoffSettings {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(2),
            factor: 2.0,
        }
    }
}

/// The delays to wait between attempts, none of which runs past the deadline.
#[derive(Debug)]
pub struct Backoff {
    delays: ExponentialBackoff,
    deadline: Instant,
}

impl Backoff {
    /// Backoff with `settings` that never sleeps past `deadline`.
    pub fn new(settings: BackoffSettings, deadline: Instant) -> Self {
        let delays = ExponentialBuilder::default()
            .with_min_delay(settings.min_delay)
            .with_max_delay(settings.max_delay)
            .with_factor(settings.factor)
            .with_jitter()
            .without_max_times()
            .build();
        Self { delays, deadline }
    }

    /// The deadline this backoff respects.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The next delay, or `None` when waiting it would pass the deadline.
    pub fn next_delay(&mut self) -> Option<Duration> {
        let delay = self.delays.next()?;
        (Instant::now() + delay < self.deadline).then_some(delay)
    }
}
