//! OTLP/HTTP bodies, protobuf and JSON: decoded, validated into spans and
//! projected onto runs without a panic, whatever the bytes.
#![no_main]

use app::model::EventBatch;
use libfuzzer_sys::fuzz_target;
use tracevis::api::extract::parse_json;
use tracevis::api::otlp::{decode, Encoding};
use tracevis::otlp::projection::{group_by_trace, project_trace, Earlier};
use tracevis::otlp::span::spans_of;

fuzz_target!(|data: &[u8]| {
    for encoding in [Encoding::Protobuf, Encoding::Json] {
        match decode(data, encoding) {
            Ok(request) => {
                if let Ok(spans) = spans_of(request.resource_spans) {
                    for records in group_by_trace(spans)
                        .into_iter()
                        .map(|t| project_trace(t, Earlier::default()))
                    {
                        // The same rules at every door: what OTLP makes of
                        // spans is a batch the JSON API accepts as it is.
                        let json = serde_json::to_vec(&records.batch).expect("records serialise");
                        if let Err(err) = parse_json::<EventBatch>(&json) {
                            panic!("the JSON API refuses what OTLP produced: {err:?}");
                        }
                    }
                }
            }
            Err(err) => assert!(err.status().is_client_error()),
        }
    }
});
