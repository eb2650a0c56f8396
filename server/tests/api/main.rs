//! API tests against a real tracevis server on port 0 with a fresh database,
//! plus the store story test. One test binary, so it links once.

mod access;
mod alerts;
mod compare;
mod doors;
mod durability;
mod export;
mod helpers;
mod history;
mod live;
mod openapi;
mod otlp;
mod parallel;
mod proxy;
mod reads;
mod scale;
mod search;
mod store_story;
mod teams;
mod upgrade;
mod validation;
mod writes;
