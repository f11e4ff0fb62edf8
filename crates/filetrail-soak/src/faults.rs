//! What the proxy injects: fault kinds, their rates per service, and the seed.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::SoakError;

/// A fault the proxy can inject into one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// Answer a throttling error without forwarding: HTTP 400 `ThrottlingException` for
    /// EventBridge (<https://docs.aws.amazon.com/eventbridge/latest/APIReference/CommonErrors.html>),
    /// HTTP 400 `RequestThrottled` for SQS
    /// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html#API_ReceiveMessage_Errors>),
    /// HTTP 429 `ThrottlingException` for Timestream
    /// (<https://docs.aws.amazon.com/timestream/latest/developerguide/API_WriteRecords.html#API_WriteRecords_Errors>).
    Throttle,
    /// Answer HTTP 500 with the service's internal error code without forwarding
    /// (EventBridge `InternalException`, SQS `InternalFailure`
    /// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/CommonErrors.html>),
    /// Timestream `InternalServerException`: the WriteRecords errors above).
    ServerError,
    /// Hold the request past the client's timeout, then close without answering; half of the
    /// time the request was forwarded first (so it took effect). Any network call can end so;
    /// the SDK's retry guide counts timeouts as transient
    /// (<https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html>).
    Timeout,
    /// Close the connection with a TCP reset without answering; half of the time after
    /// forwarding (so it took effect). A transient connection error, as above.
    Reset,
    /// Timestream `WriteRecords` only: store the other records, and answer HTTP 419
    /// `RejectedRecordsException` naming some records as outside the memory store's time
    /// range, as Timestream does right after a retention change
    /// (<https://docs.aws.amazon.com/timestream/latest/developerguide/API_RejectedRecord.html>).
    Rejected,
    /// EventBridge `PutEvents` only: drop entries from the forwarded request and answer them
    /// with a per-entry `ThrottlingException` (`FailedEntryCount`, `Entries[].ErrorCode`,
    /// <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html>).
    PartialPutEvents,
}

impl FaultKind {
    /// Every kind, in a fixed order.
    pub const ALL: [Self; 6] = [
        Self::Throttle,
        Self::ServerError,
        Self::Timeout,
        Self::Reset,
        Self::Rejected,
        Self::PartialPutEvents,
    ];

    /// The name used on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Throttle => "throttle",
            Self::ServerError => "server-error",
            Self::Timeout => "timeout",
            Self::Reset => "reset",
            Self::Rejected => "rejected",
            Self::PartialPutEvents => "partial-put-events",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Result<Self, SoakError> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                SoakError::Options(format!(
                    "unknown fault kind {name:?}; expected one of {}",
                    Self::ALL.map(Self::name).join(", ")
                ))
            })
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The services the proxy tells apart, by the `x-amz-target` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// `AWSEvents.*`.
    EventBridge,
    /// `Timestream_20181101.*`.
    Timestream,
    /// `AmazonSQS.*`.
    Sqs,
}

impl Service {
    /// Every service, in a fixed order.
    pub const ALL: [Self; 3] = [Self::EventBridge, Self::Timestream, Self::Sqs];

    /// The service and operation an `x-amz-target` header names.
    pub fn of_target(target: &str) -> Option<(Self, &str)> {
        let (prefix, op) = target.split_once('.')?;
        let service = match prefix {
            "AWSEvents" => Self::EventBridge,
            "Timestream_20181101" => Self::Timestream,
            "AmazonSQS" => Self::Sqs,
            _ => return None,
        };
        Some((service, op))
    }

    /// A short name for reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::EventBridge => "eventbridge",
            Self::Timestream => "timestream",
            Self::Sqs => "sqs",
        }
    }
}

/// Rates of whole-call faults for one service; they add up to at most 1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    /// [`FaultKind::Throttle`].
    pub throttle: f64,
    /// [`FaultKind::ServerError`].
    pub server_error: f64,
    /// [`FaultKind::Timeout`].
    pub timeout: f64,
    /// [`FaultKind::Reset`].
    pub reset: f64,
    /// [`FaultKind::Rejected`] (applies to `WriteRecords` only).
    pub rejected: f64,
}

impl Rates {
    /// The same rate for every whole-call kind, so that they add up to `total`.
    pub fn spread(total: f64) -> Self {
        let each = total / 5.0;
        Self {
            throttle: each,
            server_error: each,
            timeout: each,
            reset: each,
            rejected: each,
        }
    }

    /// Sum of all rates.
    pub fn total(&self) -> f64 {
        self.throttle + self.server_error + self.timeout + self.reset + self.rejected
    }

    /// The rate of `kind` (0 for kinds that are not whole-call faults).
    pub fn get(&self, kind: FaultKind) -> f64 {
        match kind {
            FaultKind::Throttle => self.throttle,
            FaultKind::ServerError => self.server_error,
            FaultKind::Timeout => self.timeout,
            FaultKind::Reset => self.reset,
            FaultKind::Rejected => self.rejected,
            FaultKind::PartialPutEvents => 0.0,
        }
    }

    fn set(&mut self, kind: FaultKind, rate: f64) {
        match kind {
            FaultKind::Throttle => self.throttle = rate,
            FaultKind::ServerError => self.server_error = rate,
            FaultKind::Timeout => self.timeout = rate,
            FaultKind::Reset => self.reset = rate,
            FaultKind::Rejected => self.rejected = rate,
            FaultKind::PartialPutEvents => {}
        }
    }

    /// Pick a fault for one call from a draw `u` in `[0, 1)`; `None` means pass it through.
    pub fn pick(&self, u: f64) -> Option<FaultKind> {
        let mut edge = 0.0;
        for kind in [
            FaultKind::Throttle,
            FaultKind::ServerError,
            FaultKind::Timeout,
            FaultKind::Reset,
            FaultKind::Rejected,
        ] {
            edge += self.get(kind);
            if u < edge {
                return Some(kind);
            }
        }
        None
    }
}

/// How long the proxy holds a request it times out before closing without an answer: past
/// the soak clients' attempt timeout ([`crate::ATTEMPT_TIMEOUT`]).
pub const DEFAULT_HOLD: Duration = Duration::from_millis(2500);

/// What the proxy injects during one run.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// Seed of every random choice.
    pub seed: u64,
    /// Whole-call fault rates per service.
    pub rates: BTreeMap<Service, Rates>,
    /// Share of PutEvents entries answered with a per-entry `ThrottlingException`.
    pub put_events_entry_throttle: f64,
    /// How long a timed-out request is held before the connection is closed.
    pub hold: Duration,
}

impl FaultPlan {
    /// No faults at all: the proxy forwards everything.
    pub fn none(seed: u64) -> Self {
        Self {
            seed,
            rates: BTreeMap::new(),
            put_events_entry_throttle: 0.0,
            hold: DEFAULT_HOLD,
        }
    }

    /// The soak's plan: 5% of PutEvents entries throttled and 10% of Timestream calls faulted
    /// (2% each of throttling, 500s, timeouts, resets and rejected records).
    pub fn soak(seed: u64) -> Self {
        let mut plan = Self::none(seed);
        plan.put_events_entry_throttle = 0.05;
        plan.rates.insert(Service::Timestream, Rates::spread(0.10));
        plan
    }

    /// One fault kind alone at `rate`, on every service it applies to.
    pub fn only(seed: u64, kind: FaultKind, rate: f64) -> Self {
        let mut plan = Self::none(seed);
        if kind == FaultKind::PartialPutEvents {
            plan.put_events_entry_throttle = rate;
            return plan;
        }
        for service in Service::ALL {
            let mut r = Rates::default();
            r.set(kind, rate);
            plan.rates.insert(service, r);
        }
        plan
    }

    /// Set the rate of `kind` on `service` (or of entries, for [`FaultKind::PartialPutEvents`]).
    #[must_use]
    pub fn with(mut self, service: Service, kind: FaultKind, rate: f64) -> Self {
        if kind == FaultKind::PartialPutEvents {
            self.put_events_entry_throttle = rate;
        } else {
            self.rates.entry(service).or_default().set(kind, rate);
        }
        self
    }

    /// The rates for `service` (all zero when none are set).
    pub fn rates_for(&self, service: Service) -> Rates {
        self.rates.get(&service).copied().unwrap_or_default()
    }

    /// Check that every rate is in `[0, 1]` and each service's rates add up to at most 1.
    pub fn validate(&self) -> Result<(), SoakError> {
        let bad = |r: f64| !(0.0..=1.0).contains(&r) || r.is_nan();
        if bad(self.put_events_entry_throttle) {
            return Err(SoakError::Options(format!(
                "PutEvents entry throttle rate {} is not in [0, 1]",
                self.put_events_entry_throttle
            )));
        }
        for (service, r) in &self.rates {
            let all = [r.throttle, r.server_error, r.timeout, r.reset, r.rejected];
            if all.into_iter().any(bad) || r.total() > 1.0 + 1e-9 {
                return Err(SoakError::Options(format!(
                    "{} fault rates {r:?} must each be in [0, 1] and add up to at most 1",
                    service.name()
                )));
            }
        }
        Ok(())
    }
}
