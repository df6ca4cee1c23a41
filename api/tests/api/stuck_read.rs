//! SIGTERM while a file read is stuck in the kernel, as on a hung network mount: the data
//! directory is a FUSE file system (`tests/fuse/stuck_fs.py`) that never answers a read of
//! one minute's file. The real binary must still exit within 10 s, hand its job back and
//! leave the old day.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::kill::{active_job, day_state, load_old_day};
use crate::process::{ApiProcess, database_url, job_row, wait_until};
use sqlx::PgPool;

/// The Python with `fusepy` that `scripts/install-test-tools.sh` sets up (or
/// `DWH_TEST_PYTHON`).
fn python() -> PathBuf {
    let path = std::env::var_os("DWH_TEST_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-test-tools.sh (or set DWH_TEST_PYTHON)",
        path.display()
    );
    path
}

/// `source` mounted read-only at `mountpoint`, except that reads of `stuck` never return.
struct StuckMount {
    server: Child,
    mountpoint: PathBuf,
}

impl StuckMount {
    fn mount(source: &Path, mountpoint: &Path, stuck: &str, marker: &Path) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuse/stuck_fs.py");
        let server = Command::new(python())
            .arg(script)
            .args([source, mountpoint, Path::new(stuck), marker])
            .stdout(Stdio::null())
            .spawn()
            .expect("start the FUSE file system");
        let mount = Self {
            server,
            mountpoint: mountpoint.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !mountpoint.join(stuck).exists() {
            assert!(Instant::now() < deadline, "the FUSE mount did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        mount
    }
}

impl Drop for StuckMount {
    fn drop(&mut self) {
        // Lazily: a reader may still hang in the file system until the server is gone.
        let _ = Command::new("fusermount")
            .args(["-u", "-z"])
            .arg(&self.mountpoint)
            .status();
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn sigterm_while_a_file_read_hangs_exits_and_hands_the_job_back(pool: PgPool) {
    let url = database_url(&pool).await;
    let old = load_old_day(&pool, "2023-01-01 00:04").await;
    let source = minutes_dir("2023-01-01 00:00", "2023-01-01 00:09");
    let mountpoint = tempfile::tempdir().expect("mount point");
    let scratch = tempfile::tempdir().expect("logs");
    let marker = scratch.path().join("a read is stuck");
    let _mount = StuckMount::mount(
        source.path(),
        mountpoint.path(),
        "2023-01-01 00:05:00.parquet",
        &marker,
    );

    let id = active_job(&pool).await;
    let api = ApiProcess::start(&url, mountpoint.path(), &scratch.path().join("api.log"));
    wait_until("a read of the stuck file blocks", async || marker.exists()).await;
    let job = job_row(&pool, id).await;
    assert_eq!(job.status, "running", "{job:?}");

    let exit = api
        .terminate_within(Duration::from_secs(10))
        .expect("the process exits within 10 s of SIGTERM");

    assert!(exit.success(), "graceful exit: {exit:?}");
    let job = job_row(&pool, id).await;
    assert_eq!((job.status.as_str(), job.attempt), ("queued", 0), "{job:?}");
    assert_eq!(day_state(&pool).await, old);
    assert_eq!(leftover_tables(&pool).await, Vec::<String>::new());
}
