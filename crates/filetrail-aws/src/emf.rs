//! CloudWatch embedded metric format (EMF): counts as one JSON log line.

use std::io::Write;

use crate::Env;

/// The CloudWatch namespace of every filetrail metric.
pub const NAMESPACE: &str = "filetrail";

/// The one dimension of every filetrail metric: the deployed function's name.
pub const DIMENSION: &str = "function";

/// The variable Lambda sets to the function's name, reserved ("Defined runtime environment
/// variables", https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
pub const FUNCTION_NAME_ENV: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// The name metrics are reported under: the deployed function's name ([`FUNCTION_NAME_ENV`]),
/// which is what the Terraform alarms and the dashboard query, or `fallback` outside Lambda.
pub fn function_name(env: &Env, fallback: &str) -> String {
    env.get(FUNCTION_NAME_ENV)
        .unwrap_or_else(|| fallback.to_owned())
}

/// The unit of a metric, as EMF names it ("Unit" in a metric definition: one of CloudWatch's
/// `StandardUnit` values, https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count of things.
    Count,
    /// A duration in milliseconds.
    Milliseconds,
}

impl Unit {
    /// The name EMF gives the unit.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// A struct of counts whose every field is an EMF metric of the same name.
///
/// Implemented by [`counts!`](crate::counts), never by hand: the names come from the fields.
pub trait MetricCounts {
    /// The metric names: the field names (a [`MetricField`] with names of its own: those), in
    /// field order.
    const NAMES: &'static [&'static str];

    /// The counts as an EMF metric set, reported under the function name `function`, in
    /// field order.
    fn metrics(&self, function: &str) -> Metrics;

    /// Add `other`'s counts to these, field by field ([`MetricField::accumulate`]): the totals
    /// of several invocations.
    fn add(&mut self, other: &Self);
}

/// What a field of a [`counts!`](crate::counts) struct holds: a count (`u64`, the metric named
/// after its field) or a value with metrics of its own (the recorder's lag: optional
/// milliseconds, left out when unmeasured).
pub trait MetricField {
    /// The metrics this value emits, in order; empty for one metric named after its field.
    const NAMES: &'static [&'static str];

    /// Add this value, held in the field `field`, to `metrics`.
    fn add_to(&self, field: &'static str, metrics: &mut Metrics);

    /// Fold `other`, the same field of another invocation's counts, into this value (a count
    /// sums; a value with metrics of its own says how, or that it stays as it is).
    fn accumulate(&mut self, other: &Self);
}

impl MetricField for u64 {
    const NAMES: &'static [&'static str] = &[];

    fn add_to(&self, field: &'static str, metrics: &mut Metrics) {
        metrics.set(field, *self);
    }

    fn accumulate(&mut self, other: &Self) {
        *self += *other;
    }
}

/// How many metric names a field of type `names` ([`MetricField::NAMES`]) adds (for
/// [`counts!`](crate::counts)).
#[doc(hidden)]
pub const fn field_names_len(names: &[&str]) -> usize {
    if names.is_empty() { 1 } else { names.len() }
}

/// Write a field's metric names into `out` from `at`; the next free position (for
/// [`counts!`](crate::counts)).
#[doc(hidden)]
pub const fn push_field_names(
    out: &mut [&'static str],
    at: usize,
    field: &'static str,
    names: &'static [&'static str],
) -> usize {
    if names.is_empty() {
        out[at] = field;
        return at + 1;
    }
    let mut i = 0;
    while i < names.len() {
        out[at + i] = names[i];
        i += 1;
    }
    at + names.len()
}

/// Declare a counts struct: every field an EMF metric named after it, a `u64` count, or a
/// [`MetricField`] with metrics of its own.
///
/// The struct gets `Debug, Clone, Copy, Default, PartialEq, Eq` and [`MetricCounts`] (its
/// metrics, and `add` summing two sets field by field); other attributes (docs,
/// `derive(Serialize)`, `serde(skip)`) pass through. A new count is one field:
///
/// ```
/// filetrail_aws::counts! {
///     /// What one invocation did.
///     pub struct Done {
///         /// Things received.
///         pub received: u64,
///         /// Things done.
///         pub done: u64,
///     }
/// }
/// use filetrail_aws::emf::MetricCounts;
/// let line = Done { received: 2, done: 1 }.metrics("fn").to_line(0);
/// assert!(line.contains(r#""received":2"#));
/// assert_eq!(Done::NAMES, ["received", "done"]);
/// ```
#[macro_export]
macro_rules! counts {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$field_meta:meta])* $field_vis:vis $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        $vis struct $name {
            $( $(#[$field_meta])* $field_vis $field: $ty, )*
        }

        impl $crate::emf::MetricCounts for $name {
            const NAMES: &'static [&'static str] = {
                const LEN: usize = 0 $( + $crate::emf::field_names_len(
                    <$ty as $crate::emf::MetricField>::NAMES) )*;
                const ALL: [&str; LEN] = {
                    let mut all = [""; LEN];
                    let at = 0;
                    $( let at = $crate::emf::push_field_names(&mut all, at, stringify!($field),
                        <$ty as $crate::emf::MetricField>::NAMES); )*
                    let _ = at;
                    all
                };
                &ALL
            };

            fn metrics(&self, function: &str) -> $crate::emf::Metrics {
                let mut metrics = $crate::emf::Metrics::new(function);
                $( $crate::emf::MetricField::add_to(&self.$field, stringify!($field), &mut metrics); )*
                metrics
            }

            fn add(&mut self, other: &Self) {
                $( $crate::emf::MetricField::accumulate(&mut self.$field, &other.$field); )*
            }
        }
    };
}

/// A set of counts for one invocation, written as one EMF line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    function: String,
    counts: Vec<(&'static str, u64, Unit)>,
}

impl Metrics {
    /// Counts reported under the dimension `function` = `function`.
    pub fn new(function: impl Into<String>) -> Self {
        Self {
            function: function.into(),
            counts: Vec::new(),
        }
    }

    /// Set a count (names are listed in the order first set).
    pub fn set(&mut self, name: &'static str, value: u64) -> &mut Self {
        self.set_in(name, value, Unit::Count)
    }

    /// Set a metric in `unit` (names are listed in the order first set).
    pub fn set_in(&mut self, name: &'static str, value: u64, unit: Unit) -> &mut Self {
        match self.counts.iter_mut().find(|(n, _, _)| *n == name) {
            Some((_, v, u)) => (*v, *u) = (value, unit),
            None => self.counts.push((name, value, unit)),
        }
        self
    }

    /// The count named `name`, 0 if never set.
    pub fn get(&self, name: &str) -> u64 {
        self.counts
            .iter()
            .find(|(n, _, _)| *n == name)
            .map_or(0, |(_, v, _)| *v)
    }

    /// The EMF JSON line at `timestamp_ms`.
    pub fn to_line(&self, timestamp_ms: i64) -> String {
        let metrics: Vec<serde_json::Value> = self
            .counts
            .iter()
            .map(|(name, _, unit)| serde_json::json!({ "Name": name, "Unit": unit.as_str() }))
            .collect();
        let mut root = serde_json::Map::new();
        root.insert(
            "_aws".into(),
            serde_json::json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [[DIMENSION]],
                    "Metrics": metrics,
                }],
            }),
        );
        root.insert(DIMENSION.into(), self.function.clone().into());
        for (name, value, _) in &self.counts {
            root.insert((*name).into(), (*value).into());
        }
        serde_json::Value::Object(root).to_string()
    }

    /// The metric names, in the order first set.
    pub fn names(&self) -> Vec<&'static str> {
        self.counts.iter().map(|(n, _, _)| *n).collect()
    }

    /// Write the EMF line to standard output, where Lambda's log capture picks it up.
    ///
    /// The line carries no `level`: Lambda gives such a line the level INFO and, with log-level
    /// filtering, drops it when the function's application log level is WARN or above
    /// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
    /// So the Terraform modules never set Lambda's application log level above INFO; the
    /// functions filter their own logs at the operator's level (`RUST_LOG`).
    pub fn emit(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let line = self.to_line(now);
        let mut out = std::io::stdout().lock();
        // Metrics must never fail an invocation; a closed stdout only loses the metric line.
        let _ = writeln!(out, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_is_emf() {
        let mut m = Metrics::new("filetrail-recorder");
        m.set("received", 3)
            .set("written", 2)
            .set("received", 4)
            .set_in("lag_ms", 250, Unit::Milliseconds);
        let v: serde_json::Value = serde_json::from_str(&m.to_line(1000)).expect("json");
        assert_eq!(v["_aws"]["Timestamp"], 1000);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "filetrail");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "received"
        );
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .map(Vec::len),
            Some(3)
        );
        let lag = &v["_aws"]["CloudWatchMetrics"][0]["Metrics"][2];
        assert_eq!(
            (&lag["Name"], &lag["Unit"]),
            (&"lag_ms".into(), &"Milliseconds".into())
        );
        assert_eq!(v["lag_ms"], 250);
        assert_eq!(v["received"], 4);
        assert_eq!(v["written"], 2);
        assert_eq!(v["function"], "filetrail-recorder");
        assert_eq!(m.get("written"), 2);
        assert_eq!(m.get("absent"), 0);
        assert_eq!(m.names(), vec!["received", "written", "lag_ms"]);
    }

    crate::counts! {
        /// Counts of a test.
        struct Sample {
            /// First.
            first: u64,
            /// Second.
            second: u64,
            /// Third.
            third: u64,
        }
    }

    #[test]
    fn counts_are_metrics_named_after_their_fields_in_field_order() {
        assert_eq!(Sample::NAMES, ["first", "second", "third"]);
        let counts = Sample {
            first: 1,
            third: 3,
            ..Sample::default()
        };
        let m = counts.metrics("filetrail-dev-x");
        assert_eq!(m.names(), Sample::NAMES);
        assert_eq!((m.get("first"), m.get("second"), m.get("third")), (1, 0, 3));
        let v: serde_json::Value = serde_json::from_str(&m.to_line(7)).expect("json");
        assert_eq!(v["function"], "filetrail-dev-x");
        assert_eq!(v["third"], 3);
        let names: Vec<&str> = v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .filter_map(|n| n["Name"].as_str())
            .collect();
        assert_eq!(names, Sample::NAMES);
    }

    /// Two optional durations with metric names of their own.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    struct Durations {
        fast: Option<u64>,
        slow: Option<u64>,
    }

    impl MetricField for Durations {
        const NAMES: &'static [&'static str] = &["fast_ms", "slow_ms"];

        fn add_to(&self, _field: &'static str, metrics: &mut Metrics) {
            for (name, value) in Self::NAMES.iter().zip([self.fast, self.slow]) {
                if let Some(ms) = value {
                    metrics.set_in(name, ms, Unit::Milliseconds);
                }
            }
        }

        /// The slowest of both.
        fn accumulate(&mut self, other: &Self) {
            self.fast = self.fast.max(other.fast);
            self.slow = self.slow.max(other.slow);
        }
    }

    crate::counts! {
        /// Counts and durations of a test.
        struct Timed {
            /// A count.
            done: u64,
            /// Durations, each left out when unmeasured.
            took: Durations,
            /// Another count, after them.
            late: u64,
        }
    }

    #[test]
    fn a_field_with_metrics_of_its_own_emits_those_in_its_place() {
        assert_eq!(Timed::NAMES, ["done", "fast_ms", "slow_ms", "late"]);
        let all = Timed {
            done: 1,
            took: Durations {
                fast: Some(2),
                slow: Some(3),
            },
            late: 4,
        };
        let m = all.metrics("f");
        assert_eq!(m.names(), Timed::NAMES);
        let v: serde_json::Value = serde_json::from_str(&m.to_line(0)).expect("json");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][1]["Unit"],
            "Milliseconds"
        );
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][3]["Unit"],
            "Count"
        );
        let unmeasured = Timed {
            took: Durations {
                fast: None,
                slow: Some(3),
            },
            ..all
        };
        assert_eq!(
            unmeasured.metrics("f").names(),
            ["done", "slow_ms", "late"],
            "an unmeasured value is left out"
        );
    }

    #[test]
    fn add_sums_every_count_and_folds_a_field_as_its_type_says() {
        let mut total = Timed {
            done: 1,
            took: Durations {
                fast: Some(5),
                slow: None,
            },
            late: 2,
        };
        total.add(&Timed {
            done: 10,
            took: Durations {
                fast: Some(3),
                slow: Some(7),
            },
            late: 20,
        });
        assert_eq!(
            total,
            Timed {
                done: 11,
                took: Durations {
                    fast: Some(5),
                    slow: Some(7)
                },
                late: 22,
            }
        );
    }

    #[test]
    fn the_name_is_the_deployed_function_name_or_the_fallback() {
        let deployed =
            Env::from_fn(|k| (k == FUNCTION_NAME_ENV).then(|| "filetrail-dev-sorter".into()));
        assert_eq!(
            function_name(&deployed, "filetrail-sorter"),
            "filetrail-dev-sorter"
        );
        let local = Env::from_fn(|_| None);
        assert_eq!(
            function_name(&local, "filetrail-sorter"),
            "filetrail-sorter"
        );
    }
}
