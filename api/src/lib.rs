//! The dwh-loader job API: `POST /jobs?date=…` queues an atomic replace of one day of
//! `dwh.data_sample`; workers (in this process or others sharing the database) run it.
//!
//! Layout: [`configuration`] (flags and environment), [`startup`] (building and stopping
//! the app), [`telemetry`], [`routes`] (handlers), [`domain`] (types that validate on
//! parse), [`jobs`] (the jobs table), [`worker`] (claiming and running jobs).

pub mod auth;
pub mod configuration;
pub mod domain;
pub mod jobs;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod startup;
pub mod telemetry;
pub mod worker;
