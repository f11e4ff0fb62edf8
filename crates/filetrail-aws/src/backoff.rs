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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BackoffSettings {
        BackoffSettings {
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(80),
            factor: 2.0,
        }
    }

    #[test]
    fn delays_grow_to_the_cap_with_jitter() {
        let mut b = Backoff::new(settings(), Instant::now() + Duration::from_secs(3600));
        let delays: Vec<Duration> = (0..12)
            .map(|_| b.next_delay().expect("far deadline"))
            .collect();
        // Jittered: never below the first delay, never above twice the cap.
        for d in &delays {
            assert!(*d >= Duration::from_millis(10), "{d:?}");
            assert!(*d <= Duration::from_millis(160), "{d:?}");
        }
        assert!(
            delays[6..].iter().all(|d| *d >= Duration::from_millis(80)),
            "capped: {delays:?}"
        );
    }

    #[test]
    fn no_delay_runs_past_the_deadline() {
        let deadline = Instant::now() + Duration::from_millis(50);
        let mut b = Backoff::new(settings(), deadline);
        let mut offered = 0;
        while let Some(d) = b.next_delay() {
            assert!(Instant::now() + d < deadline, "{d:?}");
            offered += 1;
            assert!(offered < 100, "the growing delays reach the deadline");
        }
        assert_eq!(b.deadline(), deadline);
        let mut late = Backoff::new(settings(), Instant::now());
        assert_eq!(late.next_delay(), None, "no time left, no delay");
    }
}
