//! The tracevis server: configuration, the HTTP API, the store backends, the
//! trace service, the web app assembly, the demo producer and the benchmark.
//! `main.rs` is only the command line over these.

// The run page's view type is deep; release builds (which do not erase view
// types) need more than the default 128 levels to compute its layout.
#![recursion_limit = "256"]

pub mod access;
pub mod alerts;
pub mod api;
pub mod bench;
pub mod bench_disk;
pub mod bench_live;
pub mod bench_scale;
pub mod config;
pub mod demo;
pub mod export;
pub mod live;
pub mod otlp;
pub mod retention;
pub mod service;
pub mod store;
pub mod web;
