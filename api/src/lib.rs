//! The dwh-loader job API: `POST /jobs?date=…` queues an atomic replace of one day of
//! `dwh.data_sample`; workers (in this process or others sharing the database) run it.
//!
//! Layout: [`configuration`] (flags and environment), [`startup`] (wiring: building and
//! stopping the app), [`server`] (the HTTP server: shared state, middleware, mounting the route tables),
//! [`telemetry`], [`routes`] (handlers: parse, call, answer; each module's `configure` holds
//! its part of the route table), [`commands`] and [`queries`] (the use cases routes and
//! dashboard pages share: queue a day, a range or a rollback, cancel; day states, job
//! pages, versions), [`domain`] (types that validate on parse),
//! [`intake`] (what accepting a job checks), [`queue`] (the jobs table; [`queue::lease`] is
//! the workers' side), [`worker`] (claiming and running jobs), [`problem`] (every error as
//! an RFC 9457 document), [`idempotency`] (`Idempotency-Key` on `POST /jobs`), [`ledger`]
//! (the file ledger's storage), [`pipeline`] (watching the data directory: days that load
//! themselves, live minutes), [`housekeeping`] (pruning old jobs and keys), [`auth`],
//! [`hosts`] (the names the service answers to), [`forwarded`] (trusted proxies),
//! [`page_headers`], [`metrics`], [`openapi`]; [`ui`] (the dashboard's pages) and
//! [`events`] (`GET /events`, live).

pub mod auth;
pub mod catalog;
pub mod commands;
pub mod configuration;
pub mod domain;
pub mod events;
pub mod forwarded;
pub mod hosts;
pub mod housekeeping;
pub mod idempotency;
pub mod intake;
pub mod ledger;
pub mod lineage;
pub mod metrics;
pub mod openapi;
pub mod page_headers;
pub mod pipeline;
pub mod problem;
pub mod queries;
pub mod queue;
pub mod routes;
pub mod server;
pub mod startup;
pub mod telemetry;
pub mod ui;
pub mod worker;
