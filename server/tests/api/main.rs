//! API tests against a real tracevis server on port 0 with a fresh database,
//! plus the store story test. One test binary, so it links once.

mod durability;
mod helpers;
mod reads;
mod store_story;
mod validation;
mod writes;
