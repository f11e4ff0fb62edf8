//! A built Lambda binary run as Lambda runs it: under its own [`RuntimeApi`] stand-in, with
//! the variables the Lambda service sets, killed when dropped.
//!
//! One [`Spec`] says what to run (binary, name, environment, where its output goes); each
//! [`Spec::start`] starts a fresh process under a fresh Runtime API, so a harness that kills
//! a process starts the next one from the same spec.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::runtime_api::{Answer, INVOCATION_TIMEOUT, RuntimeApi};

/// The Runtime API address Lambda gives a function.
pub const RUNTIME_API_ENV: &str = "AWS_LAMBDA_RUNTIME_API";
/// The function's name.
pub const FUNCTION_NAME_ENV: &str = filetrail_aws::emf::FUNCTION_NAME_ENV;
/// The function's memory size, in MB.
pub const MEMORY_SIZE_ENV: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
/// The function's version.
pub const VERSION_ENV: &str = "AWS_LAMBDA_FUNCTION_VERSION";
/// The function's log format (`Text` or `JSON`).
pub const LOG_FORMAT_ENV: &str = "AWS_LAMBDA_LOG_FORMAT";
/// The function's application log level (Lambda's advanced logging controls).
pub const LOG_LEVEL_ENV: &str = "AWS_LAMBDA_LOG_LEVEL";
/// The binary's own log filter, which the Terraform modules set from the operator's level.
pub const RUST_LOG_ENV: &str = "RUST_LOG";

/// The workspace binary `name`, built next to the running executable (`target/<profile>/`,
/// also from a test or bench binary in `target/<profile>/deps/`).
pub fn workspace_binary(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let mut candidates = vec![dir.join(name)];
    if dir.ends_with("deps")
        && let Some(up) = dir.parent()
    {
        candidates.push(up.join(name));
    }
    candidates.into_iter().find(|p| p.is_file()).ok_or_else(|| {
        format!(
            "{name} is not built next to {}: build it first with `cargo build --bins` (`make test` and `make soak` do)",
            exe.display()
        )
    })
}

/// Where a process's standard output and error go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Discarded.
    Discard,
    /// Kept in pipes, read by [`Lambda::stop`] and [`Lambda::exit`].
    Piped,
    /// Appended to this file (its folder is created).
    File(PathBuf),
}

/// What to run: a binary, its name, its environment, its output.
#[derive(Debug, Clone)]
pub struct Spec {
    exe: PathBuf,
    name: String,
    env: Vec<(String, String)>,
    output: Output,
    timeout: Duration,
}

impl Spec {
    /// Run `exe` under the name of its file, with JSON logs, the deployed memory size, and
    /// output piped.
    pub fn new(exe: impl Into<PathBuf>) -> Self {
        let exe = exe.into();
        let name = exe
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self {
            exe,
            name: name.clone(),
            env: vec![
                (FUNCTION_NAME_ENV.into(), name),
                (MEMORY_SIZE_ENV.into(), "256".into()),
                (VERSION_ENV.into(), "$LATEST".into()),
                (LOG_FORMAT_ENV.into(), "JSON".into()),
            ],
            output: Output::Piped,
            timeout: INVOCATION_TIMEOUT,
        }
    }

    /// The workspace binary `name` ([`workspace_binary`]).
    pub fn workspace(name: &str) -> Result<Self, String> {
        workspace_binary(name).map(Self::new)
    }

    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`, and the prefix of request ids).
    pub fn name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.name);
        self.env(FUNCTION_NAME_ENV, name)
    }

    /// Set one variable (a later value of the same variable wins).
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// Set several variables.
    pub fn envs<K: AsRef<str>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (k, v) in vars {
            self = self.env(k.as_ref(), v);
        }
        self
    }

    /// Log as Terraform deploys the function: Lambda's application log level `lambda_level`
    /// (`INFO` at most), the binary's own filter `rust_log` (the operator's level).
    pub fn log_levels(self, lambda_level: &str, rust_log: &str) -> Self {
        self.env(LOG_LEVEL_ENV, lambda_level)
            .env(RUST_LOG_ENV, rust_log)
    }

    /// Reach AWS at `endpoint` (the emulator, or a proxy in front of it) with the test
    /// credentials, in us-east-1, with no instance metadata lookups.
    pub fn aws_endpoint(self, endpoint: &str) -> Self {
        self.envs(crate::aws_env(endpoint))
    }

    /// Where standard output and error go.
    pub fn output(mut self, output: Output) -> Self {
        self.output = output;
        self
    }

    /// How long each invocation may run (the function's timeout; the Runtime API's
    /// `Lambda-Runtime-Deadline-Ms`), [`INVOCATION_TIMEOUT`] unless set.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The binary's path.
    pub fn exe(&self) -> &Path {
        &self.exe
    }

    /// Start a process under a fresh Runtime API.
    pub async fn start(&self) -> std::io::Result<Lambda> {
        let api = RuntimeApi::start_with_timeout(self.timeout).await;
        let mut cmd = tokio::process::Command::new(&self.exe);
        cmd.env(RUNTIME_API_ENV, &api.address)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        match &self.output {
            Output::Discard => cmd.stdout(Stdio::null()).stderr(Stdio::null()),
            Output::Piped => cmd.stdout(Stdio::piped()).stderr(Stdio::piped()),
            Output::File(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                cmd.stdout(file.try_clone()?).stderr(file)
            }
        };
        let child = cmd.spawn().map_err(|e| {
            std::io::Error::new(e.kind(), format!("start {}: {e}", self.exe.display()))
        })?;
        Ok(Lambda {
            name: self.name.clone(),
            api,
            child,
            invocations: 0,
        })
    }
}

/// What a stopped process wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Its standard output (empty unless piped).
    pub stdout: String,
    /// Its standard error (empty unless piped).
    pub stderr: String,
}

/// A running function; dropping it kills the process.
pub struct Lambda {
    name: String,
    api: RuntimeApi,
    child: tokio::process::Child,
    invocations: usize,
}

impl Lambda {
    /// Its Runtime API.
    pub fn api(&self) -> &RuntimeApi {
        &self.api
    }

    /// Queue an invocation of `event` and return its request id (`<name>-<n>`).
    pub fn send(&mut self, event: &str) -> String {
        self.invocations += 1;
        let id = format!("{}-{}", self.name, self.invocations);
        self.api.invoke(&id, event);
        id
    }

    /// Invoke with `event` and wait for its answer; `None` when none came within `timeout`.
    pub async fn invoke(&mut self, event: &str, timeout: Duration) -> Option<Answer> {
        let id = self.send(event);
        self.api.answer(&id, timeout).await
    }

    /// SIGKILL the process (no clean-up, as Lambda kills a timed-out function) and wait for it.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// Kill the process and return what it wrote.
    pub async fn stop(mut self) -> Written {
        self.kill().await;
        self.written().await
    }

    /// Wait for the process to exit on its own (within `timeout`, else kill it); its exit
    /// status (`None` when it was killed) and what it wrote.
    pub async fn exit(mut self, timeout: Duration) -> (Option<std::process::ExitStatus>, Written) {
        let status = match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => status.ok(),
            Err(_) => {
                self.kill().await;
                None
            }
        };
        (status, self.written().await)
    }

    async fn written(&mut self) -> Written {
        use tokio::io::AsyncReadExt;
        let mut w = Written::default();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut w.stdout).await;
        }
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut w.stderr).await;
        }
        w
    }
}

impl std::fmt::Debug for Lambda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lambda")
            .field("name", &self.name)
            .field("api", &self.api.address)
            .field("invocations", &self.invocations)
            .finish()
    }
}
