//! Whether a bus routes an event: an enabled rule with a target whose pattern matches it.
//!
//! EventBridge accepts a `PutEvents` entry that no rule matches and discards it: a bus delivers
//! an event to "zero or more" targets
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus.html>), and
//! unmatched events are discarded
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-logs-execution-steps.html>).
//! A replay that deleted the dead letter after such a put would lose the event. Before anything is
//! deleted, [`Routes::route`] asks EventBridge itself (`ListRules`, `ListTargetsByRule`,
//! `TestEventPattern`) whether the entry about to be sent would reach a target.

use std::collections::HashMap;

use aws_sdk_eventbridge::types::RuleState;
use filetrail_contract::{DETAIL_TYPE, FileMoved};

/// Top-level event fields whose values are the same for every entry of one `source` that the
/// CLI sends (the detail-type is always `FileMoved`): a pattern that tests only these decides
/// once per source.
const ENVELOPE_FIELDS: &[&str] = &[
    "source",
    "detail-type",
    "account",
    "region",
    "version",
    "resources",
];

/// One enabled rule of the bus that has a target.
#[derive(Debug, Clone)]
struct Rule {
    name: String,
    pattern: String,
    /// The pattern tests only [`ENVELOPE_FIELDS`].
    envelope_only: bool,
    account: String,
    region: String,
}

/// The routing rules of one bus, and what they decided so far.
#[derive(Debug)]
pub struct Routes {
    client: aws_sdk_eventbridge::Client,
    bus: String,
    rules: Vec<Rule>,
    /// Verdicts of envelope-only rules, by source: the rule that routes it, if any.
    by_source: HashMap<String, Option<String>>,
}

impl Routes {
    /// Read the enabled rules of `bus` (name or ARN) that have at least one target.
    pub async fn load(
        client: &aws_sdk_eventbridge::Client,
        bus: &str,
    ) -> Result<Self, filetrail_aws::Classified> {
        let mut rules = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = client
                .list_rules()
                .event_bus_name(bus)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| filetrail_aws::classify(filetrail_aws::Service::EventBridge, &e))?;
            for r in page.rules() {
                // Both enabled states route events; only DISABLED does not.
                // <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListRules.html>
                let enabled = matches!(
                    r.state(),
                    Some(RuleState::Enabled | RuleState::EnabledWithAllCloudtrailManagementEvents)
                );
                let (Some(name), Some(pattern), true) = (r.name(), r.event_pattern(), enabled)
                else {
                    continue;
                };
                let targets = client
                    .list_targets_by_rule()
                    .rule(name)
                    .event_bus_name(bus)
                    .limit(1)
                    .send()
                    .await
                    .map_err(|e| {
                        filetrail_aws::classify(filetrail_aws::Service::EventBridge, &e)
                    })?;
                if targets.targets().is_empty() {
                    continue;
                }
                let (region, account) = arn_region_account(r.arn().unwrap_or_default());
                rules.push(Rule {
                    name: name.to_owned(),
                    envelope_only: envelope_only(pattern),
                    pattern: pattern.to_owned(),
                    account,
                    region,
                });
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        Ok(Self {
            client: client.clone(),
            bus: bus.to_owned(),
            rules,
            by_source: HashMap::new(),
        })
    }

    /// The bus these routes belong to.
    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// The name of a rule that routes `event` published with `source`, or `None` when no
    /// enabled rule with a target matches it (a put would be accepted and dropped).
    pub async fn route(
        &mut self,
        event: &FileMoved,
        source: &str,
    ) -> Result<Option<String>, filetrail_aws::Classified> {
        if let Some(verdict) = self.by_source.get(source) {
            return Ok(verdict.clone());
        }
        let mut envelope_verdicts = true;
        for rule in &self.rules {
            let matched = self
                .client
                .test_event_pattern()
                .event_pattern(&rule.pattern)
                .event(test_event(event, source, &rule.account, &rule.region))
                .send()
                .await
                .map_err(|e| filetrail_aws::classify(filetrail_aws::Service::EventBridge, &e))?
                .result();
            if matched {
                if rule.envelope_only {
                    self.by_source
                        .insert(source.to_owned(), Some(rule.name.clone()));
                }
                return Ok(Some(rule.name.clone()));
            }
            envelope_verdicts &= rule.envelope_only;
        }
        if envelope_verdicts {
            self.by_source.insert(source.to_owned(), None);
        }
        Ok(None)
    }

    /// Why `source`'s events would not be routed, for messages and logs.
    pub fn unrouted(&self, source: &str) -> String {
        format!(
            "no enabled rule with a target on bus {} matches a {DETAIL_TYPE} event from source {source:?} \
             (checked with ListRules and TestEventPattern); EventBridge would accept it and drop it",
            self.bus
        )
    }
}

/// The event `TestEventPattern` needs: an EventBridge envelope with every mandatory field
/// (`id`, `account`, `source`, `time`, `region`, `resources`, `detail-type`) and the detail.
/// <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html>
fn test_event(event: &FileMoved, source: &str, account: &str, region: &str) -> String {
    serde_json::json!({
        "version": "0",
        "id": format!("filetrail-route-check-{}", event.event_id),
        "detail-type": DETAIL_TYPE,
        "source": source,
        "account": account,
        "time": event.occurred_at.to_string(),
        "region": region,
        "resources": [],
        "detail": event,
    })
    .to_string()
}

/// Whether `pattern` tests only envelope fields that are fixed per source.
fn envelope_only(pattern: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(pattern)
        .ok()
        .and_then(|v| {
            v.as_object()
                .map(|o| o.keys().all(|k| ENVELOPE_FIELDS.contains(&k.as_str())))
        })
        .unwrap_or(false)
}

/// Region and account of an ARN (`arn:partition:events:region:account:rule/...`), with
/// stand-ins when it cannot be read (the pattern then cannot depend on them meaningfully).
fn arn_region_account(arn: &str) -> (String, String) {
    let mut parts = arn.split(':');
    let region = parts
        .nth(3)
        .filter(|r| !r.is_empty())
        .unwrap_or("us-east-1");
    let account = parts
        .next()
        .filter(|a| !a.is_empty())
        .unwrap_or("000000000000");
    (region.to_owned(), account.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_on_the_envelope_decide_once_per_source() {
        assert!(envelope_only(r#"{"detail-type":["FileMoved"]}"#));
        assert!(envelope_only(
            r#"{"detail-type":["FileMoved"],"source":["sdc.sorter"]}"#
        ));
        assert!(!envelope_only(
            r#"{"detail-type":["FileMoved"],"detail":{"action_type":["PUT"]}}"#
        ));
        assert!(!envelope_only("not json"));
    }

    #[test]
    fn region_and_account_come_from_the_rule_arn() {
        assert_eq!(
            arn_region_account("arn:aws:events:eu-west-1:111122223333:rule/bus/name"),
            ("eu-west-1".to_owned(), "111122223333".to_owned())
        );
        assert_eq!(
            arn_region_account(""),
            ("us-east-1".to_owned(), "000000000000".to_owned())
        );
    }
}
