//! `DATABASE_URL`: where the warehouse is.

use clap::Args;
use secrecy::SecretString;

/// The database both binaries load into.
#[derive(Clone, Debug, Args)]
pub struct DatabaseSettings {
    /// PostgreSQL connection URL. It may hold a password: it is never printed.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<SecretString>,
}

impl DatabaseSettings {
    /// The URL, or why there is none.
    pub fn url(&self) -> Result<&SecretString, String> {
        self.database_url
            .as_ref()
            .ok_or_else(|| "no database given: set DATABASE_URL or pass --database-url".into())
    }
}
