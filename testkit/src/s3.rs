//! A real S3-compatible server for the tests: `s3s-fs` (crates.io; installed by
//! `scripts/install-test-tools.sh`), which serves a directory as buckets and checks each
//! request's signature against one access key. It runs on a free loopback port, one
//! server per test, and stops when dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use tempfile::TempDir;

pub const ACCESS_KEY: &str = "dwh-test-access";
pub const SECRET_KEY: &str = "dwh-test-secret-key";
pub const REGION: &str = "us-east-1";

#[derive(Debug)]
pub struct S3Server {
    child: Option<Child>,
    root: TempDir,
    address: SocketAddr,
}

/// `s3s-fs` from `S3S_FS`, else on `PATH`, else in cargo's bin directory.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("S3S_FS") {
        return path.into();
    }
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .map(|home| home.join("bin/s3s-fs"));
    match cargo_bin {
        Some(path) if path.exists() => path,
        _ => PathBuf::from("s3s-fs"),
    }
}

impl S3Server {
    /// Starts a server with one empty bucket per name in `buckets`.
    pub fn start(buckets: &[&str]) -> Self {
        let root = tempfile::tempdir().expect("server root");
        for bucket in buckets {
            std::fs::create_dir(root.path().join(bucket)).expect("bucket");
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let mut server = Self {
            child: None,
            root,
            address,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let child = Command::new(binary())
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.address.port().to_string(),
            ])
            .arg(self.root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start s3s-fs ({e}): run scripts/install-test-tools.sh, or set S3S_FS"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(self.address).is_err() {
            assert!(
                Instant::now() < deadline,
                "s3s-fs did not listen on {}",
                self.address
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The environment a process needs to reach the server with the standard variables.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
        ]
    }

    /// A client of `bucket` with the server's credentials (or `secret` instead), retrying
    /// transient errors for at most `retry_timeout`.
    pub fn client(
        &self,
        bucket: &str,
        secret: &str,
        retry_timeout: Duration,
    ) -> Arc<dyn ObjectStore> {
        // The loader does the same: object_store's TLS has no built-in crypto provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout,
            ..RetryConfig::default()
        };
        Arc::new(
            AmazonS3Builder::new()
                .with_endpoint(self.endpoint())
                .with_allow_http(true)
                .with_region(REGION)
                .with_bucket_name(bucket)
                .with_access_key_id(ACCESS_KEY)
                .with_secret_access_key(secret)
                .with_retry(retry)
                .build()
                .expect("S3 client"),
        )
    }

    /// Stops the server (SIGKILL: as a crashed or unreachable server looks).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Uploads every file of `dir` to `prefix/<file name>` through `store`.
pub async fn upload_dir(store: &dyn ObjectStore, dir: &Path, prefix: &str) {
    for entry in std::fs::read_dir(dir).expect("dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        put_file(store, &path, &format!("{prefix}/{name}")).await;
    }
}

/// Uploads one file to `key`.
pub async fn put_file(store: &dyn ObjectStore, file: &Path, key: &str) {
    let bytes = std::fs::read(file).expect("read");
    put_bytes(store, key, bytes).await;
}

/// Puts `bytes` at `key`.
pub async fn put_bytes(store: &dyn ObjectStore, key: &str, bytes: Vec<u8>) {
    store
        .put(&ObjectPath::from(key), PutPayload::from(bytes))
        .await
        .expect("put");
}
