//! A producer's JSON bodies: any bytes either parse into validated values or
//! are refused with a 4xx naming what is wrong — never a panic.
#![no_main]

use app::model::{Completion, EventBatch, NewExecution};
use libfuzzer_sys::fuzz_target;
use tracevis::api::extract::parse_json;

fuzz_target!(|data: &[u8]| {
    for status in [
        parse_json::<NewExecution>(data).err().map(|e| e.status()),
        parse_json::<EventBatch>(data).err().map(|e| e.status()),
        parse_json::<Completion>(data).err().map(|e| e.status()),
    ]
    .into_iter()
    .flatten()
    {
        assert!(status.is_client_error(), "a body was refused with {status}");
    }
});
