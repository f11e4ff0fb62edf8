//! CloudWatch embedded metric format (EMF): counts as one JSON log line.

use std::io::Write;

/// The CloudWatch namespace of every filetrail metric.
pub const NAMESPACE: &str = "filetrail";

/// A set of counts for one invocation, written as one EMF line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    function: String,
    counts: Vec<(&'static str, u64)>,
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
        match self.counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = value,
            None => self.counts.push((name, value)),
        }
        self
    }

    /// The count named `name`, 0 if never set.
    pub fn get(&self, name: &str) -> u64 {
        self.counts
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, v)| *v)
    }

    /// The EMF JSON line at `timestamp_ms`.
    pub fn to_line(&self, timestamp_ms: i64) -> String {
        let metrics: Vec<serde_json::Value> = self
            .counts
            .iter()
            .map(|(name, _)| serde_json::json!({ "Name": name, "Unit": "Count" }))
            .collect();
        let mut root = serde_json::Map::new();
        root.insert(
            "_aws".into(),
            serde_json::json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["function"]],
                    "Metrics": metrics,
                }],
            }),
        );
        root.insert("function".into(), self.function.clone().into());
        for (name, value) in &self.counts {
            root.insert((*name).into(), (*value).into());
        }
        serde_json::Value::Object(root).to_string()
    }

    /// Write the EMF line to standard output, where Lambda's log capture picks it up.
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
        m.set("received", 3).set("written", 2).set("received", 4);
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
            Some(2)
        );
        assert_eq!(v["received"], 4);
        assert_eq!(v["written"], 2);
        assert_eq!(v["function"], "filetrail-recorder");
        assert_eq!(m.get("written"), 2);
        assert_eq!(m.get("absent"), 0);
    }
}
