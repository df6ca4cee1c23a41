//! Least privilege: the roles the deployment creates (deploy/postgres/init) are enough to
//! migrate and load, and the analysts' role can read but never write (the API's role:
//! `api/tests/api/roles.rs`).

use crate::helpers::*;
use sqlx::PgPool;
use testkit::roles::{self, pool_as, sqlstate};

#[sqlx::test]
async fn the_loader_role_migrates_and_loads_and_the_reader_role_only_reads(pool: PgPool) {
    let database = roles::create_roles(&pool).await;

    let attributes: Vec<(String, bool, bool, bool)> = sqlx::query_as(
        "SELECT rolname::text, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles
         WHERE rolname IN ('dwh_api', 'dwh_loader', 'dwh_reader') ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .expect("roles");
    assert_eq!(
        attributes,
        [
            ("dwh_api".to_owned(), false, false, false),
            ("dwh_loader".to_owned(), false, false, false),
            ("dwh_reader".to_owned(), false, false, false)
        ]
    );

    let loader_pool = pool_as(&pool, &database, "dwh_loader", roles::LOADER_PASSWORD).await;
    loader::MIGRATOR
        .run(&loader_pool)
        .await
        .expect("the loader role migrates");
    let dir = golden_dir();
    load(&loader_pool, dir.path(), "2023-01-01")
        .await
        .expect("the loader role loads");
    load(&loader_pool, dir.path(), "2023-01-01")
        .await
        .expect("and replaces");
    let owner: String = sqlx::query_scalar(
        "SELECT tableowner::text FROM pg_tables WHERE tablename = 'data_sample_p20230101'",
    )
    .fetch_one(&pool)
    .await
    .expect("owner");
    assert_eq!(owner, "dwh_loader");

    let reader_pool = pool_as(&pool, &database, "dwh_reader", roles::READER_PASSWORD).await;
    assert_eq!(
        rows_of_day(&reader_pool, "2023-01-01").await,
        3 * rows_per_file()
    );
    let denied = "42501"; // insufficient_privilege
    // The replaced version is kept, in a schema the reader is granted nothing in.
    let kept_leaf: String = sqlx::query_scalar(
        "SELECT leaves[1] FROM dwh_history.versions WHERE day = '2023-01-01' AND version = 1",
    )
    .fetch_one(&pool)
    .await
    .expect("a kept version");
    let read_kept = format!("SELECT count(*) FROM dwh_history.{kept_leaf}");
    for statement in [
        "INSERT INTO dwh.data_sample (create_at) VALUES ('2023-01-01 00:00')",
        "DELETE FROM dwh.data_sample",
        "TRUNCATE dwh.data_sample_p20230101",
        "DROP TABLE dwh.data_sample_p20230101",
        "CREATE TABLE dwh.intruder (id int)",
        "SELECT count(*) FROM dwh_history.versions",
        read_kept.as_str(),
    ] {
        let error = sqlx::raw_sql(statement)
            .execute(&reader_pool)
            .await
            .expect_err(statement);
        let code = sqlstate(error);
        assert_eq!(code, denied, "{statement}");
    }
    assert_eq!(
        rows_of_day(&reader_pool, "2023-01-01").await,
        3 * rows_per_file()
    );
    a_reader_sees_nothing_of_a_load_before_its_swap(&pool, &loader_pool, &reader_pool, &dir).await;
    a_reader_holding_the_day_s_lock_is_named(&loader_pool, &reader_pool, &dir).await;
    reader_pool.close().await;
    loader_pool.close().await;
}

/// Any role may take an advisory lock, and the day's keys can be guessed: a reader that
/// holds the day's lock is named (pid, role) when a load finds the day locked.
async fn a_reader_holding_the_day_s_lock_is_named(
    loader_pool: &PgPool,
    reader_pool: &PgPool,
    dir: &tempfile::TempDir,
) {
    let mut squatter = reader_pool.acquire().await.expect("connection");
    let pid: i32 = sqlx::query_scalar(
        // The loader's keys: "dwld", and the day's number counted from 0001-01-01 as 1.
        "SELECT pg_backend_pid()
         FROM (SELECT pg_advisory_lock(x'64776C64'::int, (DATE '2023-01-01' - DATE '0001-01-01') + 1)) AS taken",
    )
    .fetch_one(&mut *squatter)
    .await
    .expect("the reader takes the day's advisory lock");
    let error = load(loader_pool, dir.path(), "2023-01-01")
        .await
        .expect_err("the day is locked");
    assert!(
        matches!(&error, loader::LoadError::DayLockedByOther { pid: holder, role, .. }
            if *holder == pid && role == "dwh_reader"),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("pid {pid}, role \"dwh_reader\"")),
        "{message}"
    );
    sqlx::query("SELECT pg_advisory_unlock_all()")
        .execute(&mut *squatter)
        .await
        .expect("the reader lets go");
    drop(squatter);
    load(loader_pool, dir.path(), "2023-01-01")
        .await
        .expect("loads once the reader's session is gone");
}

/// Write, audit, publish: with a load's staging tables committed and its swap held back,
/// the reader is granted none of them (nor any leaf, kept or retired: it reads the day
/// through the tables above them), and after the swap reads the day as before.
async fn a_reader_sees_nothing_of_a_load_before_its_swap(
    pool: &PgPool,
    loader_pool: &PgPool,
    reader_pool: &PgPool,
    dir: &tempfile::TempDir,
) {
    let held = HeldLoad::start(loader_pool, dir.path(), "2023-01-01").await;
    let staged: Vec<(String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname IN ('dwh_staging', 'dwh_history', 'dwh') AND c.relkind = 'r'
           AND (n.nspname <> 'dwh' OR c.relispartition)
           AND c.relname::text <> 'versions'",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    assert!(
        staged.iter().any(|(schema, _)| schema == "dwh_staging"),
        "the load has staged: {staged:?}"
    );
    for (schema, table) in &staged {
        let qualified = format!("{schema}.\"{table}\"");
        let granted: bool =
            sqlx::query_scalar("SELECT has_table_privilege('dwh_reader', $1, 'SELECT')")
                .bind(&qualified)
                .fetch_one(pool)
                .await
                .expect("privilege");
        assert!(!granted, "dwh_reader is granted SELECT on {qualified}");
        if schema != "dwh" {
            let read = format!("SELECT count(*) FROM {qualified}");
            let error = sqlx::raw_sql(&read)
                .execute(reader_pool)
                .await
                .expect_err(&read);
            assert_eq!(sqlstate(error), "42501", "{read}");
        }
    }
    held.finish().await.expect("the held load swaps");
    assert_eq!(
        rows_of_day(reader_pool, "2023-01-01").await,
        3 * rows_per_file()
    );
}

#[sqlx::test]
async fn the_loader_role_creates_a_datasets_table_that_the_reader_role_only_reads(pool: PgPool) {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, TimestampMicrosecondArray};

    let database = roles::create_roles(&pool).await;
    let loader_pool = pool_as(&pool, &database, "dwh_loader", roles::LOADER_PASSWORD).await;
    loader::MIGRATOR.run(&loader_pool).await.expect("migrated");
    let dir = tempfile::tempdir().expect("dir");
    let day_us = 1_709_942_400_000_000_i64;
    crate::datasets::write(
        &dir.path().join("sales/2024-03-09.parquet"),
        &crate::datasets::batch(vec![
            (
                "at",
                Arc::new(TimestampMicrosecondArray::from(vec![day_us; 4])) as ArrayRef,
            ),
            ("amount", Arc::new(Int64Array::from(vec![1, 2, 3, 4]))),
        ]),
    );
    let datasets = crate::datasets::datasets(
        "[[dataset]]\nname = \"sales\"\ntable = \"shop.sales\"\nsource = \"sales\"\n\
         files = \"%Y-%m-%d.parquet\"\npartition_column = \"at\"\n",
        dir.path(),
    );
    let sales = datasets.get("sales").expect("sales");
    crate::datasets::load(&loader_pool, sales, "2024-03-09")
        .await
        .expect("the loader role creates the schema and table and loads");

    let reader_pool = pool_as(&pool, &database, "dwh_reader", roles::READER_PASSWORD).await;
    let sum: i64 = sqlx::query_scalar("SELECT sum(amount)::bigint FROM shop.sales")
        .fetch_one(&reader_pool)
        .await
        .expect("the reader reads the new table");
    assert_eq!(sum, 10);
    for statement in [
        "INSERT INTO shop.sales (at) VALUES ('2024-03-09 01:00')",
        "DELETE FROM shop.sales",
        "CREATE TABLE shop.intruder (id int)",
    ] {
        let error = sqlx::raw_sql(statement)
            .execute(&reader_pool)
            .await
            .expect_err(statement);
        assert_eq!(sqlstate(error), "42501", "{statement}");
    }
}
