//! `calm simulate` as a separate process, for benches that keep the server's work out of the
//! client's figures.

use std::ffi::OsStr;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The `calm simulate` child; killed when dropped.
pub struct SimProcess(pub Child);

impl SimProcess {
    /// Starts `calm simulate` with `args` and returns it with the JSON it prints first (its
    /// URLs and keys).
    pub fn start(args: &[&OsStr]) -> (SimProcess, Value) {
        let mut child = Command::new(calm_binary())
            .arg("simulate")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("calm simulate starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let process = SimProcess(child);
        let info: Value = serde_json::Deserializer::from_reader(BufReader::new(stdout))
            .into_iter::<Value>()
            .next()
            .expect("calm simulate prints its URLs and keys")
            .expect("that output is JSON");
        (process, info)
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `calm` example next to this bench binary (`target/<profile>/examples/calm`), built with
/// the same profile when missing.
fn calm_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("bench binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let path = profile_dir
        .join("examples")
        .join(format!("calm{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--profile", "bench", "--example", "calm"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build --example calm");
        assert!(status.success(), "building the calm example failed");
    }
    path
}
