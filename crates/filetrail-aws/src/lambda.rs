//! What every filetrail Lambda binary shares at its edge: the deadline it works to and the one
//! way a configuration error ends its start.

use std::time::{Duration, Instant, SystemTime};

use crate::ConfigError;

/// How much of an invocation's time is kept free before its Lambda deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Margin {
    /// This much, whatever the time left (the recorder's `FILETRAIL_SAFETY_MARGIN_MS`).
    Fixed(Duration),
    /// This much, but at most half the time left, so a short invocation still works (a sweep).
    AtMostHalf(Duration),
}

impl Margin {
    /// The margin kept when `left` remains.
    pub fn of(self, left: Duration) -> Duration {
        match self {
            Self::Fixed(margin) => margin,
            Self::AtMostHalf(margin) => margin.min(left / 2),
        }
    }
}

/// The deadline to work to: the Lambda deadline (`Context::deadline()`) minus `margin`, as an
/// [`Instant`]; now when less than the margin is left.
pub fn work_deadline(lambda_deadline: SystemTime, margin: Margin) -> Instant {
    let left = lambda_deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    Instant::now() + left.saturating_sub(margin.of(left))
}

/// Log a start-up configuration error: the variable it names, the problem, and the whole
/// sentence (`VAR: problem`); the binary then returns the error from `main`, so the Lambda init
/// fails and says why. Use as `Config::from_env(&env).inspect_err(config_error)?`.
pub fn config_error(e: &ConfigError) {
    tracing::error!(variable = %e.var, problem = %e.problem, error = %e,
        "invalid configuration; the function cannot start");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn left_of(deadline: Instant) -> Duration {
        deadline.saturating_duration_since(Instant::now())
    }

    #[test]
    fn a_fixed_margin_is_kept_whatever_the_time_left() {
        let d = work_deadline(
            SystemTime::now() + Duration::from_secs(10),
            Margin::Fixed(Duration::from_millis(1500)),
        );
        let left = left_of(d);
        assert!(
            left > Duration::from_millis(8000) && left <= Duration::from_millis(8500),
            "{left:?}"
        );
        let d = work_deadline(
            SystemTime::now() + Duration::from_secs(1),
            Margin::Fixed(Duration::from_millis(1500)),
        );
        assert_eq!(left_of(d), Duration::ZERO, "less left than the margin");
    }

    #[test]
    fn an_at_most_half_margin_leaves_half_of_a_short_invocation() {
        let margin = Margin::AtMostHalf(Duration::from_secs(30));
        assert_eq!(margin.of(Duration::from_secs(300)), Duration::from_secs(30));
        assert_eq!(margin.of(Duration::from_secs(10)), Duration::from_secs(5));
        let left = left_of(work_deadline(
            SystemTime::now() + Duration::from_secs(10),
            margin,
        ));
        assert!(
            left > Duration::from_secs(4) && left <= Duration::from_secs(5),
            "{left:?}"
        );
    }

    #[test]
    fn a_deadline_already_past_is_now() {
        let d = work_deadline(
            SystemTime::now() - Duration::from_secs(1),
            Margin::AtMostHalf(Duration::from_secs(30)),
        );
        assert_eq!(left_of(d), Duration::ZERO);
    }
}
