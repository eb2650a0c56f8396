//! The WebSocket endpoints of API.md: a run's live stream and the live run
//! list. The socket is only transport: frames come from the subscription,
//! which owns ordering; this module adds heartbeats and a send timeout.

use crate::access::gate::{Recheck, WS_PROTOCOL};
use crate::api::extract::{ApiQuery, ExecutionIdPath};
use crate::api::openapi::{ApiError, ExecutionIdParam};
use crate::api::AppError;
use crate::live::StreamEnd;
use crate::service::TraceService;
use app::live::{LiveEnvelope, LiveFrame, LiveSubscription};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// Pings keep idle connections open through proxies that drop quiet ones;
/// at each, a socket's credential is checked again.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// A client that takes longer than this to accept one frame is cut off
/// (its queue in the hub has long overflowed by then).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
pub struct LiveQuery {
    after_seq: Option<String>,
    /// `until=late_records`: keep streaming records stored after the run
    /// finished (see `StreamEnd`); by default the stream ends with the final status.
    until: Option<String>,
}

/// `GET /api/v1/executions/{id}/live?after_seq=N`.
#[utoipa::path(get, path = "/api/v1/executions/{execution_id}/live", tag = "live",
    params(ExecutionIdParam,
        ("after_seq" = Option<i64>, Query, minimum = 0, description = "Send records with a higher seq first (default 0: all)"),
        ("until" = Option<String>, Query, description = "`final_status` (default) or `late_records`")),
    responses(
        (status = 101, description = "A WebSocket of JSON frames: `event`, `snapshot`, `status`, `resync` (API.md, Live)"),
        (status = 404, description = "No such run", body = ApiError),
        (status = 426, description = "The request is not a WebSocket upgrade", body = ApiError),
    ))]
pub async fn execution_live(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    recheck: Option<Extension<Recheck>>,
    State(service): State<TraceService>,
    ExecutionIdPath(id): ExecutionIdPath,
    ApiQuery(q): ApiQuery<LiveQuery>,
) -> Result<Response, AppError> {
    let after_seq = match q.after_seq.filter(|s| !s.is_empty()) {
        None => 0,
        Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            AppError::invalid_parameter("after_seq", format!("expected an integer >= 0, got {s:?}"))
        })?,
    };
    let end = match q.until.as_deref() {
        None | Some("") | Some("final_status") => StreamEnd::AtFinalStatus,
        Some("late_records") => StreamEnd::AfterLateRecords,
        Some(other) => {
            return Err(AppError::invalid_parameter(
                "until",
                format!("expected final_status or late_records, got {other:?}"),
            ))
        }
    };
    // Parameters first (400), then whether this is an upgrade at all (426).
    let ws = ws.map_err(not_a_websocket)?;
    // Subscribing before the upgrade turns an unknown run into a plain 404.
    let subscription = service.follow_execution(id.as_str(), after_seq, end).await?;
    let recheck = recheck.map(|Extension(r)| r);
    Ok(upgrade(ws).on_upgrade(move |socket| pump(socket, Source::Run(subscription, end), recheck)))
}

/// `GET /api/v1/live`: a status frame whenever any run starts or finishes.
#[utoipa::path(get, path = "/api/v1/live", tag = "live",
    responses(
        (status = 101, description = "A WebSocket of `status` frames, one whenever a run starts or finishes"),
        (status = 426, description = "The request is not a WebSocket upgrade", body = ApiError),
    ))]
pub async fn runs_live(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    recheck: Option<Extension<Recheck>>,
    State(service): State<TraceService>,
) -> Result<Response, AppError> {
    let ws = ws.map_err(not_a_websocket)?;
    let receiver = service.subscribe_runs();
    let recheck = recheck.map(|Extension(r)| r);
    Ok(upgrade(ws).on_upgrade(move |socket| pump(socket, Source::Runs(receiver), recheck)))
}

/// A plain request to a WebSocket route answers in the API's error shape
/// (axum's own rejection is plain text), with its status.
fn not_a_websocket(rejection: WebSocketUpgradeRejection) -> AppError {
    // 426 for a client that did not ask to upgrade at all; other header
    // faults keep axum's status (400, or 405 for a method other than GET).
    let status = match rejection {
        WebSocketUpgradeRejection::InvalidConnectionHeader(_)
        | WebSocketUpgradeRejection::InvalidUpgradeHeader(_) => StatusCode::UPGRADE_REQUIRED,
        ref other => other.status(),
    };
    AppError::new(
        status,
        "not_a_websocket",
        format!("this route is a WebSocket: {}", rejection.body_text()),
    )
}

/// A browser client that sent its token as a subprotocol (`bearer.…`) must
/// get a protocol it asked for back, or the browser fails the connection.
fn upgrade(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    // Clients only ever send pongs and a close: anything bigger than this is
    // refused as it arrives (axum's default would buffer 64 MiB per socket).
    ws.protocols([WS_PROTOCOL])
        .max_message_size(CLIENT_MESSAGE_BYTES)
        .max_frame_size(CLIENT_MESSAGE_BYTES)
}

/// The largest message a live client may send.
const CLIENT_MESSAGE_BYTES: usize = 64 * 1024;

enum Source {
    Run(LiveSubscription, StreamEnd),
    Runs(crate::live::HubReceiver),
}

impl Source {
    async fn next(&mut self) -> Option<Arc<LiveEnvelope>> {
        match self {
            Self::Run(subscription, _) => subscription.recv().await,
            Self::Runs(receiver) => receiver.recv().await,
        }
    }

    /// Whether a final status ends this stream: a run's, unless it follows
    /// late records; never the run list's.
    fn ends_at_final_status(&self) -> bool {
        matches!(self, Self::Run(_, StreamEnd::AtFinalStatus))
    }

    /// A frame that is already waiting, without waiting for one.
    fn ready(&mut self) -> Option<Arc<LiveEnvelope>> {
        match self {
            Self::Run(subscription, _) => subscription.try_recv().ok(),
            Self::Runs(receiver) => receiver.try_recv(),
        }
    }
}

/// Streams `source` to `socket`. With `recheck` (sign-in is required), the
/// credential is checked again at every heartbeat: a revoked token or a
/// removed person's socket is closed within one heartbeat.
async fn pump(socket: WebSocket, mut source: Source, recheck: Option<Recheck>) {
    let (mut sink, mut incoming) = socket.split();
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            frame = source.next() => {
                let Some(first) = frame else { break };
                // Everything already waiting goes out with one flush: a batch
                // of records costs one write, not one per record.
                let mut batch = vec![first];
                while batch.len() < 512 {
                    match source.ready() {
                        Some(envelope) => batch.push(envelope),
                        None => break,
                    }
                }
                // A run's stream ends with its final status; the run list's
                // goes on through every run's (ending it there lost the
                // finishes of runs that ended while the client reconnected).
                let ends = batch.iter().any(|e| {
                    e.frame == LiveFrame::Resync || (source.ends_at_final_status() && e.frame.is_final_status())
                });
                let write = async {
                    for envelope in &batch {
                        sink.feed(Message::Text(envelope.json().into())).await?;
                    }
                    sink.flush().await
                };
                if !matches!(tokio::time::timeout(SEND_TIMEOUT, write).await, Ok(Ok(()))) {
                    return;
                }
                if ends {
                    break;
                }
            }
            message = incoming.next() => match message {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            _ = heartbeat.tick() => {
                if let Some(recheck) = &recheck {
                    if !recheck.still_valid().await {
                        let close = Message::Close(Some(CloseFrame {
                            code: axum::extract::ws::close_code::POLICY,
                            reason: "credential revoked".into(),
                        }));
                        let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(close)).await;
                        return;
                    }
                }
                let ping = Message::Ping(Vec::new().into());
                if !matches!(tokio::time::timeout(SEND_TIMEOUT, sink.send(ping)).await, Ok(Ok(()))) {
                    return;
                }
            }
        }
    }
    let close = Message::Close(Some(CloseFrame {
        code: axum::extract::ws::close_code::NORMAL,
        reason: "".into(),
    }));
    let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(close)).await;
}
