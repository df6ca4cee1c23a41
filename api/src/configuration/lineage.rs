//! Settings of lineage: where OpenLineage run events go, under the names OpenLineage's own
//! clients read (`OPENLINEAGE_URL`, `OPENLINEAGE_ENDPOINT`, `OPENLINEAGE_NAMESPACE`,
//! `OPENLINEAGE_API_KEY`).

use clap::Args;
use secrecy::SecretString;

#[derive(Clone, Debug, Args)]
pub struct LineageSettings {
    /// An OpenLineage backend (Marquez: `http://marquez:5000`): every load and rollback
    /// emits its run events there. Unset: none are emitted.
    #[arg(long = "openlineage-url", env = "OPENLINEAGE_URL", value_name = "URL")]
    pub url: Option<String>,

    /// The path events are posted to, under the URL.
    #[arg(
        long = "openlineage-endpoint",
        env = "OPENLINEAGE_ENDPOINT",
        default_value = "api/v1/lineage"
    )]
    pub endpoint: String,

    /// The jobs' namespace: each dataset's loads are the job of its name in it.
    #[arg(
        long = "openlineage-namespace",
        env = "OPENLINEAGE_NAMESPACE",
        default_value = "dwh-loader"
    )]
    pub namespace: String,

    /// Sent as `Authorization: Bearer <key>` when set.
    #[arg(
        long = "openlineage-api-key",
        env = "OPENLINEAGE_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<SecretString>,
}
