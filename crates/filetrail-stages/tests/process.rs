//! The external command seam, with the example command.

use std::path::Path;

use filetrail_stages::{ExternalCommand, Process, ProcessError};

fn run_example(input_name: &str, content: &[u8]) -> (tempfile::TempDir, Result<(), ProcessError>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join(input_name);
    std::fs::write(&input, content).expect("write input");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out dir");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let result = rt.block_on(ExternalCommand::new(super::example_command()).process(&input, &out));
    (dir, result)
}

fn products(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("out"))
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn example_command_writes_deterministic_products() {
    let (dir, result) = run_example("hermes_EEA_l0_2022259-030002_v01.bin", b"packets");
    result.expect("processed");
    assert_eq!(
        products(dir.path()),
        [
            "hermes_eea_l1_20220916T030002_v1.0.0.cdf",
            "hermes_eea_ql_20220916T030002_v1.0.0.cdf"
        ]
    );
    let l1 = std::fs::read_to_string(
        dir.path()
            .join("out/hermes_eea_l1_20220916T030002_v1.0.0.cdf"),
    )
    .expect("l1");
    assert_eq!(
        l1,
        format!(
            "filetrail example product\nlevel: l1\ninput: hermes_EEA_l0_2022259-030002_v01.bin\n\
             input_bytes: 7\ninput_sha256: {}\n",
            sha256_hex(b"packets")
        )
    );
    // Same input, same bytes.
    let (again, result) = run_example("hermes_EEA_l0_2022259-030002_v01.bin", b"packets");
    result.expect("processed");
    for name in products(dir.path()) {
        assert_eq!(
            std::fs::read(dir.path().join("out").join(&name)).expect("first"),
            std::fs::read(again.path().join("out").join(&name)).expect("second"),
        );
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_failing_command_reports_its_stderr() {
    let (dir, result) = run_example("hermes_EEA_l0_2022259-030002_v01.bin", b"");
    match result {
        Err(ProcessError::Failed {
            program,
            status,
            stderr,
        }) => {
            assert!(program.ends_with("example-process.sh"), "{program}");
            assert!(status.contains('2'), "{status}");
            assert_eq!(
                stderr,
                "example-process: hermes_EEA_l0_2022259-030002_v01.bin is empty: no packets to calibrate"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(products(dir.path()).is_empty());
    let (_dir, result) = run_example("notes.txt", b"text");
    let err = result.expect_err("not level 0");
    assert!(
        err.to_string().contains("is not a level-0 file name"),
        "{err}"
    );
}

#[test]
fn a_missing_command_cannot_be_spawned() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let err = rt
        .block_on(
            ExternalCommand::new("/nonexistent/cmd").process(Path::new("/in"), Path::new("/out")),
        )
        .expect_err("no such command");
    assert!(matches!(err, ProcessError::Spawn { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/cmd"));
}
