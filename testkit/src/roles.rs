//! The deployment's roles (`deploy/postgres/init`) in a test's database: the init SQL run
//! through psql as the container runs it, and pools that connect as one of the roles.

use std::path::Path;
use std::process::Command;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// The roles' passwords in tests.
pub const LOADER_PASSWORD: &str = "test-loader";
pub const API_PASSWORD: &str = "test-api";
pub const READER_PASSWORD: &str = "test-reader";

/// The name of the database `pool` connects to.
pub async fn database_of(pool: &PgPool) -> String {
    sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .expect("current_database")
}

/// The URL of the database `pool` connects to, for a separate process: the server of
/// `DATABASE_URL`, the test's own database.
pub async fn database_url(pool: &PgPool) -> String {
    let name = database_of(pool).await;
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let server = base
        .rsplit_once('/')
        .map_or(base.as_str(), |(server, _)| server);
    format!("{server}/{name}")
}

/// Runs one of the container's init SQL files (`roles.sql.in`, `grants.sql.in`) through
/// psql against `database`, as the container does.
pub fn psql_init_file(pool: &PgPool, database: &str, file: &str) {
    let options = pool.connect_options();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/postgres/init")
        .join(file);
    let status = Command::new("psql")
        .args(["-v", "ON_ERROR_STOP=1", "-q"])
        .args(["-v", &format!("loader_password={LOADER_PASSWORD}")])
        .args(["-v", &format!("api_password={API_PASSWORD}")])
        .args(["-v", &format!("reader_password={READER_PASSWORD}")])
        .arg("-h")
        .arg(options.get_host())
        .arg("-p")
        .arg(options.get_port().to_string())
        .arg("-U")
        .arg(options.get_username())
        .arg("-d")
        .arg(database)
        .arg("-f")
        .arg(&script)
        .status()
        .expect("psql runs");
    assert!(status.success(), "{} failed", script.display());
}

/// The roles and the database's grants, as the container's first start makes them.
pub async fn create_roles(pool: &PgPool) -> String {
    let database = database_of(pool).await;
    psql_init_file(pool, &database, "roles.sql.in");
    psql_init_file(pool, &database, "grants.sql.in");
    database
}

/// A pool to `database` as `role`.
pub async fn pool_as(pool: &PgPool, database: &str, role: &str, password: &str) -> PgPool {
    let options = (*pool.connect_options())
        .clone()
        .username(role)
        .password(password)
        .database(database);
    PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .expect("role connects")
}

/// The SQLSTATE of a database error (`42501`: insufficient privilege), or "".
pub fn sqlstate(error: sqlx::Error) -> String {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
        .unwrap_or_default()
}
