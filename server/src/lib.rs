//! The tracevis server: configuration, the HTTP API, the store backends, the
//! trace service, the web app assembly, the demo producer and the benchmark.
//! `main.rs` is only the command line over these.

pub mod api;
pub mod bench;
pub mod bench_live;
pub mod config;
pub mod demo;
pub mod live;
pub mod retention;
pub mod service;
pub mod store;
pub mod web;
