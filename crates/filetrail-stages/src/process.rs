//! The processing step: a seam with one built-in implementation, an external command.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::limits::MAX_STDERR_BYTES;

/// Turns one input file into products.
///
/// Every regular file the step leaves directly in `output_dir` is a product; its name must be a
/// science file name (it decides the product's level and date).
pub trait Process: Send + Sync {
    /// Process `input` into `output_dir` (which exists and is empty).
    fn process(
        &self,
        input: &Path,
        output_dir: &Path,
    ) -> impl Future<Output = Result<(), ProcessError>> + Send;
}

/// The processing step failed; the input is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The command could not be started.
    #[error("could not run {program}: {source}")]
    Spawn {
        /// The command.
        program: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The command ran and failed.
    #[error("{program} exited with {status}: {stderr}")]
    Failed {
        /// The command.
        program: String,
        /// Its exit status, e.g. `exit status: 2`.
        status: String,
        /// The tail of its standard error (at most [`MAX_STDERR_BYTES`]).
        stderr: String,
    },
}

/// Runs `program <input> <output_dir>`; exit 0 is success, anything else a
/// [`ProcessError::Failed`] carrying its stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalCommand {
    program: PathBuf,
}

impl ExternalCommand {
    /// The command at `program`.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
        }
    }

    /// The command's path.
    pub fn program(&self) -> &Path {
        &self.program
    }
}

impl Process for ExternalCommand {
    async fn process(&self, input: &Path, output_dir: &Path) -> Result<(), ProcessError> {
        let program = self.program.display().to_string();
        let started = std::time::Instant::now();
        let output = tokio::process::Command::new(&self.program)
            .arg(input)
            .arg(output_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|source| ProcessError::Spawn {
                program: program.clone(),
                source,
            })?;
        let stdout = tail(&output.stdout);
        let stderr = tail(&output.stderr);
        tracing::info!(
            command = %program,
            input = %input.display(),
            status = %output.status,
            elapsed_ms = started.elapsed().as_millis(),
            stdout = %stdout,
            stderr = %stderr,
            "processing command finished"
        );
        if output.status.success() {
            Ok(())
        } else {
            Err(ProcessError::Failed {
                program,
                status: output.status.to_string(),
                stderr,
            })
        }
    }
}

/// The last [`MAX_STDERR_BYTES`] of `bytes` as text, trimmed.
fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(MAX_STDERR_BYTES);
    String::from_utf8_lossy(&bytes[start..]).trim().to_owned()
}
