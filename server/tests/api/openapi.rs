//! The OpenAPI description at `/api/v1/openapi.json`: present, 3.1, and
//! complete — every route the API's router declares is in it, so a route
//! added without its annotation fails here (schemathesis, run by the test
//! command, then checks the server's answers against it).

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn the_description_is_openapi_3_1_and_describes_every_route_the_router_declares() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let doc: Value = response.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );

    // The router's routes, read from its source: the `/api/v1` nest and
    // `/healthz` (OTLP follows its own specification; the catch-alls and
    // the description itself are not operations).
    let mut missing = vec![];
    let mut described = 0;
    for (method, full) in declared_routes() {
        if !(full.starts_with("/api/v1/") || full == "/healthz") || full == "/api/v1/openapi.json" {
            continue;
        }
        let method = method.to_ascii_lowercase();
        let operation = &doc["paths"][&full][&method];
        if operation.is_object() {
            described += 1;
            // Every operation says what it answers, errors included.
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses
                    .keys()
                    .any(|code| code.starts_with('2') || code == "101"),
                "{method} {full} has no success answer"
            );
            assert!(responses.contains_key("400"), "{method} {full} does not list 400");
        } else {
            missing.push(format!("{method} {full}"));
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from the description: {missing:?}"
    );
    assert!(described >= 15, "only {described} operations found in api.rs");

    // Bodies name their schemas, and the schemas are there.
    let schemas = &doc["components"]["schemas"];
    for name in [
        "ExecutionTrace",
        "NewExecution",
        "EventBatch",
        "Comparison",
        "Statistics",
        "ApiError",
    ] {
        assert!(schemas[name].is_object(), "schema {name} missing");
    }
    // Validation rules reach the description: an id is the API.md id.
    let id = &schemas["NewExecution"]["properties"]["execution_id"];
    assert!(
        id.to_string().contains("#/components/schemas/RecordId"),
        "execution_id is not a RecordId: {id}"
    );
    assert_eq!(schemas["RecordId"]["pattern"], "^[A-Za-z0-9._:-]+$");
    assert_eq!(schemas["RecordId"]["maxLength"], 128);
}
