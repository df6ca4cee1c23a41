//! HTTP traffic cannot starve a load: the handlers have a pool of their own, so 200
//! requests at once (reads of a loaded day, job listings, new jobs for other days) while
//! a day loads all get an answer that is not a server error, and the load succeeds with
//! the day exact. How much the traffic slows the load is measured by
//! `bench/api-under-load.sh`, not asserted here.

use api::domain::JobStatus;
use futures::future::join_all;
use sqlx::PgPool;

use crate::helpers::*;

#[sqlx::test(migrator = "loader::MIGRATOR")]
async fn two_hundred_requests_during_a_load_get_answers_and_the_load_succeeds(pool: PgPool) {
    let data = minutes_dir("2023-01-02 00:00", "2023-01-02 00:04");
    let app = spawn_app(&pool, data.path()).await;
    let loaded = app.queue("2023-01-02").await;
    app.wait_until_final(loaded.id).await;
    add_minutes(data.path(), "2023-01-01 00:00", "2023-01-01 02:59");
    for day in 3..=12 {
        let minute = format!("2023-01-{day:02} 00:00");
        add_minutes(data.path(), &minute, &minute);
    }

    // The swap is held so that all the traffic lands while the load is in progress.
    let reader = block_swaps(&pool).await;
    let job = app.queue("2023-01-01").await;
    app.wait_for(job.id, |j| j.status == JobStatus::Running)
        .await;
    let requests = (0..200).map(|i| {
        let app = &app;
        async move {
            let path = match i % 3 {
                0 => "/partitions/2023-01-02".to_owned(),
                1 => "/jobs?limit=50".to_owned(),
                _ => format!("/jobs?date=2023-01-{:02}&allow_partial=true", 3 + i % 10),
            };
            let response = if i % 3 == 2 {
                app.post(&path).await
            } else {
                app.get(&path).await
            };
            (path, response.status().as_u16())
        }
    });
    let answers = join_all(requests).await;
    let still_running = app.job(job.id).await;
    reader.rollback().await.expect("let the swap go");

    let failed: Vec<_> = answers
        .iter()
        .filter(|(_, status)| *status >= 500)
        .collect();
    assert!(failed.is_empty(), "server errors: {failed:?}");
    let posted: Vec<u16> = answers
        .iter()
        .filter(|(path, _)| path.starts_with("/jobs?date"))
        .map(|a| a.1)
        .collect();
    assert!(posted.iter().all(|s| [202, 409].contains(s)), "{posted:?}");
    assert_eq!(
        posted.iter().filter(|&&s| s == 202).count(),
        10,
        "one job per day"
    );
    assert_eq!(
        still_running.status,
        JobStatus::Running,
        "the traffic came during the load"
    );
    let done = app.wait_until_final(job.id).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(
        rows_of_day(&pool, "2023-01-01").await,
        180 * rows_per_file()
    );
    app.stop().await;
}
