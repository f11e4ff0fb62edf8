//! Configuration from environment variables, with errors that name the variable.

use std::str::FromStr;

/// A configuration value is missing or invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub var: String,
    /// What is wrong with it, and what is expected.
    pub problem: String,
}

impl ConfigError {
    /// An error about `var`.
    pub fn new(var: &str, problem: impl Into<String>) -> Self {
        Self {
            var: var.into(),
            problem: problem.into(),
        }
    }
}

type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// A source of configuration variables: the process environment, or a map in tests.
pub struct Env<'a> {
    lookup: Lookup<'a>,
}

impl Env<'static> {
    /// The process environment.
    pub fn process() -> Self {
        Self {
            lookup: Box::new(|k| std::env::var(k).ok()),
        }
    }
}

impl<'a> Env<'a> {
    /// Variables from a lookup function (tests).
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Self {
            lookup: Box::new(lookup),
        }
    }

    /// The value, if set and not blank.
    pub fn get(&self, var: &str) -> Option<String> {
        (self.lookup)(var).filter(|v| !v.trim().is_empty())
    }

    /// The value, or an error naming the variable.
    pub fn required(&self, var: &str) -> Result<String, ConfigError> {
        self.get(var)
            .ok_or_else(|| ConfigError::new(var, "must be set"))
    }

    /// The value parsed, or `default` when unset; an unparsable value names the variable.
    pub fn parsed_or<T: FromStr>(
        &self,
        var: &str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| ConfigError::new(var, format!("expected {expected}; got {v:?}"))),
        }
    }
}
