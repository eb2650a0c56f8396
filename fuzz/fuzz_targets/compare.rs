//! Compare and the timeline over any two runs (two `ExecutionTrace` JSON
//! documents separated by a NUL byte): bounded and without a panic, and a
//! run compared with itself shows no divergence.
#![no_main]

use app::compare::compare;
use app::model::ExecutionTrace;
use app::timeline::trace_visits;
use libfuzzer_sys::fuzz_target;
use tracevis_fuzz::two_json;

fuzz_target!(|data: &[u8]| {
    let Some((a, b)) = two_json::<ExecutionTrace>(data) else {
        return;
    };
    let _ = trace_visits(&a);
    let _ = compare(&a, &b);
    assert!(compare(&a, &a).first_divergence.is_none());
});
