//! TLS for the workspace's HTTP client (reqwest with rustls, object_store's): built
//! without a default crypto provider, so that the long C build of aws-lc stays out of the
//! tree; rustls' ring is installed for the whole process instead.

/// Installs ring as the process's crypto provider. Installing twice is refused
/// harmlessly, so every user of TLS calls this before its first client.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
