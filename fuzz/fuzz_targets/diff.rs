//! The structural diff over any two JSON values (the input is two documents
//! separated by a NUL byte): no panic, no change between a value and itself,
//! and a change reported whenever the values differ.
#![no_main]

use app::diff::diff_values;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tracevis_fuzz::two_json;

fuzz_target!(|data: &[u8]| {
    let Some((a, b)) = two_json::<Value>(data) else {
        return;
    };
    assert!(diff_values(&a, &a).is_empty());
    let changes = diff_values(&a, &b);
    assert_eq!(changes.is_empty(), a == b, "{a} -> {b}: {changes:?}");
});
