//! `calm simulate` as a separate process, for benches that keep the server's work out of the
//! client's figures.

use std::path::PathBuf;
use std::process::{Child, Command};

/// The `calm simulate` child; killed when dropped.
pub struct SimProcess(pub Child);

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `calm` example next to this bench binary (`target/<profile>/examples/calm`), built with
/// the same profile when missing.
pub fn calm_binary() -> PathBuf {
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
