//! Configuration from the environment: where InfluxDB is, what to write to, the token.

use filetrail_aws::{ConfigError, Env};

use crate::Error;
use crate::line::DEFAULT_MEASUREMENT;

/// Base URL of the InfluxDB HTTP API (`https://…:8086`).
pub const ENV_URL: &str = "FILETRAIL_INFLUXDB_URL";
/// v1 API: the database (with `/write?db=`).
pub const ENV_DATABASE: &str = "FILETRAIL_INFLUXDB_DATABASE";
/// v1 API: the retention policy (optional; the database's default otherwise).
pub const ENV_RETENTION_POLICY: &str = "FILETRAIL_INFLUXDB_RETENTION_POLICY";
/// v2 API: the bucket (with `/api/v2/write?bucket=`).
pub const ENV_BUCKET: &str = "FILETRAIL_INFLUXDB_BUCKET";
/// v2 API: the organization.
pub const ENV_ORG: &str = "FILETRAIL_INFLUXDB_ORG";
/// The API token itself (for local use; in Lambda prefer the secret).
pub const ENV_TOKEN: &str = "FILETRAIL_INFLUXDB_TOKEN";
/// ARN of the AWS Secrets Manager secret holding the token.
pub const ENV_TOKEN_SECRET_ARN: &str = "FILETRAIL_INFLUXDB_TOKEN_SECRET_ARN";
/// The measurement points are written to (default `file_moved`).
pub const ENV_MEASUREMENT: &str = "FILETRAIL_INFLUXDB_MEASUREMENT";
/// Longest measurement name accepted.
pub const MAX_MEASUREMENT_LEN: usize = 128;

/// An API token. Its `Debug` form never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// A token with this value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Which write API, and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `/write?db=…&rp=…`: InfluxDB 1.x, and 2.x / 3.x through their v1 compatibility API.
    V1 {
        /// The database.
        database: String,
        /// The retention policy, if not the default.
        retention_policy: Option<String>,
    },
    /// `/api/v2/write?org=…&bucket=…`: InfluxDB 2.x and 3.x.
    V2 {
        /// The organization.
        org: String,
        /// The bucket.
        bucket: String,
    },
}

/// Where the token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// No token: no `Authorization` header (an InfluxDB 1.x without authentication).
    None,
    /// The token itself.
    Value(Token),
    /// An AWS Secrets Manager secret, by ARN.
    SecretArn(String),
}

/// Everything the InfluxDB sink and the history query read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfluxDbConfig {
    /// Base URL, `http://` or `https://`.
    pub url: String,
    /// The write API and its database or bucket.
    pub target: Target,
    /// Where the token comes from.
    pub token: TokenSource,
    /// The measurement.
    pub measurement: String,
}

impl InfluxDbConfig {
    /// The v1 API on `url`: `database` with its default retention policy, no token, the
    /// default measurement.
    pub fn v1(url: &str, database: &str) -> Self {
        Self {
            url: url.to_owned(),
            target: Target::V1 {
                database: database.to_owned(),
                retention_policy: None,
            },
            token: TokenSource::None,
            measurement: DEFAULT_MEASUREMENT.into(),
        }
    }

    /// Read the configuration; a missing or bad value names its variable.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            url: url(env)?,
            target: target(env)?,
            token: token_source(env)?,
            measurement: measurement(env)?,
        })
    }

    /// The token: the configured value, or the secret's value read with `sdk`'s credentials.
    pub async fn token(&self, sdk: &aws_config::SdkConfig) -> Result<Option<Token>, Error> {
        match &self.token {
            TokenSource::None => Ok(None),
            TokenSource::Value(t) => Ok(Some(t.clone())),
            TokenSource::SecretArn(arn) => {
                secret_token(&aws_sdk_secretsmanager::Client::new(sdk), arn)
                    .await
                    .map(Some)
            }
        }
    }
}

/// Read a token from a Secrets Manager secret: its `SecretString` is the token itself, or a
/// JSON object with a `token` member.
pub async fn secret_token(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
) -> Result<Token, Error> {
    let fail = |message: String| Error::Secret {
        arn: arn.to_owned(),
        message,
    };
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            let c = filetrail_aws::classify(filetrail_aws::Service::SecretsManager, &e);
            fail(format!("{}: {}", c.code, c.message))
        })?;
    let text = out
        .secret_string()
        .ok_or_else(|| fail("the secret has no SecretString".into()))?
        .trim();
    let value = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(o)) => o
            .get("token")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| fail("the secret is a JSON object without a \"token\" string".into()))?
            .to_owned(),
        _ => text.to_owned(),
    };
    if value.is_empty() {
        return Err(fail("the token is empty".into()));
    }
    Ok(Token::new(value))
}

/// `FILETRAIL_INFLUXDB_URL`: an http:// or https:// URL.
fn url(env: &Env<'_>) -> Result<String, ConfigError> {
    let url = env.required(ENV_URL)?.trim().to_owned();
    let after_scheme = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    if after_scheme.is_none_or(|rest| rest.is_empty() || url.parse::<http::Uri>().is_err()) {
        return Err(ConfigError::new(
            ENV_URL,
            format!(
                "expected an http:// or https:// URL such as https://influx.example:8086; got {url:?}"
            ),
        ));
    }
    Ok(url)
}

/// An optional name: at most 256 characters, no control characters.
fn name(env: &Env<'_>, var: &str) -> Result<Option<String>, ConfigError> {
    match env.get(var) {
        None => Ok(None),
        Some(v) if v.chars().any(char::is_control) || v.len() > 256 => Err(ConfigError::new(
            var,
            format!("{v:?} is not a valid name (at most 256 characters, no control characters)"),
        )),
        Some(v) => Ok(Some(v)),
    }
}

/// The v1 database (and retention policy) or the v2 bucket and org: one of the two, whole.
fn target(env: &Env<'_>) -> Result<Target, ConfigError> {
    let database = name(env, ENV_DATABASE)?;
    let rp = name(env, ENV_RETENTION_POLICY)?;
    let bucket = name(env, ENV_BUCKET)?;
    let org = name(env, ENV_ORG)?;
    let target = match (database, bucket, org) {
        (Some(database), None, None) => Target::V1 {
            database,
            retention_policy: rp,
        },
        (None, Some(bucket), Some(org)) => {
            if rp.is_some() {
                return Err(ConfigError::new(
                    ENV_RETENTION_POLICY,
                    format!(
                        "applies to {ENV_DATABASE} (v1 API) only; a v2 bucket has its own retention"
                    ),
                ));
            }
            Target::V2 { org, bucket }
        }
        (None, Some(_), None) => {
            return Err(ConfigError::new(
                ENV_ORG,
                format!("must be set with {ENV_BUCKET}"),
            ));
        }
        (None, None, Some(_)) => {
            return Err(ConfigError::new(
                ENV_BUCKET,
                format!("must be set with {ENV_ORG}"),
            ));
        }
        (None, None, None) => {
            return Err(ConfigError::new(
                ENV_DATABASE,
                format!("must be set (v1 API), or {ENV_BUCKET} and {ENV_ORG} (v2 API)"),
            ));
        }
        (Some(_), _, _) => {
            return Err(ConfigError::new(
                ENV_DATABASE,
                format!(
                    "set either {ENV_DATABASE} (v1 API) or {ENV_BUCKET} and {ENV_ORG} (v2 API), not both"
                ),
            ));
        }
    };
    Ok(target)
}

/// The token: a value, a Secrets Manager ARN, or none; not both.
fn token_source(env: &Env<'_>) -> Result<TokenSource, ConfigError> {
    let token = match (env.get(ENV_TOKEN), env.get(ENV_TOKEN_SECRET_ARN)) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::new(
                ENV_TOKEN,
                format!("set either {ENV_TOKEN} or {ENV_TOKEN_SECRET_ARN}, not both"),
            ));
        }
        (Some(t), None) => TokenSource::Value(Token::new(t.trim())),
        (None, Some(arn)) => {
            let arn = arn.trim().to_owned();
            if !arn.starts_with("arn:") || !arn.contains(":secretsmanager:") {
                return Err(ConfigError::new(
                    ENV_TOKEN_SECRET_ARN,
                    format!(
                        "expected a Secrets Manager ARN (arn:aws:secretsmanager:…); got {arn:?}"
                    ),
                ));
            }
            TokenSource::SecretArn(arn)
        }
        (None, None) => TokenSource::None,
    };
    Ok(token)
}

/// The measurement name.
fn measurement(env: &Env<'_>) -> Result<String, ConfigError> {
    let measurement = env
        .get(ENV_MEASUREMENT)
        .map_or_else(|| DEFAULT_MEASUREMENT.to_owned(), |m| m.trim().to_owned());
    let ok = (1..=MAX_MEASUREMENT_LEN).contains(&measurement.len())
        && !measurement.starts_with('_')
        && measurement
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(&c));
    if !ok {
        return Err(ConfigError::new(
            ENV_MEASUREMENT,
            format!(
                "{measurement:?} is not a measurement name (1..={MAX_MEASUREMENT_LEN} of a-z, A-Z, 0-9, '_', '.', '-', not starting with '_')"
            ),
        ));
    }
    Ok(measurement)
}
