//! The contract's one error type.

/// Why an input is not a valid `FileMoved` v1 event. Every variant names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    /// The message body is not UTF-8.
    #[error("body: not valid UTF-8 (first invalid byte at offset {offset})")]
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The message body is not JSON at all.
    #[error("body: not JSON ({reason})")]
    NotJson {
        /// The JSON parser's explanation.
        reason: String,
    },
    /// The body is JSON but neither an EventBridge envelope nor a `FileMoved` detail.
    #[error("body: {reason}")]
    UnknownShape {
        /// What was expected.
        reason: String,
    },
    /// One field is missing, has the wrong type, or breaks a limit.
    #[error("{field}: {problem}")]
    Field {
        /// Dotted path of the field, for example `detail.file_key`.
        field: String,
        /// What is wrong and which limit applies.
        problem: String,
    },
}

impl ContractError {
    /// A field error.
    pub fn field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Field {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The field this error names, if it names one.
    pub fn field_name(&self) -> Option<&str> {
        match self {
            Self::Field { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The same error with `prefix.` put in front of its field path.
    #[must_use]
    pub fn within(self, prefix: &str) -> Self {
        match self {
            Self::Field { field, problem } => Self::Field {
                field: format!("{prefix}.{field}"),
                problem,
            },
            other => other,
        }
    }
}
