//! An export document read back: parsed and planned into writes, or refused
//! naming the field — never a panic, never a plan that breaks `seq` order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracevis::api::extract::parse_json;
use tracevis::export::document::ImportDocument;

fuzz_target!(|data: &[u8]| {
    if let Ok(document) = parse_json::<ImportDocument>(data) {
        let _ = document.into_plan();
    }
});
