//! The browser's end of a live WebSocket (hydrate only): connects, hands
//! each frame to the page, and when the connection drops reconnects with
//! capped exponential backoff, asking the page where to resume (its last
//! `seq`), so nothing is missed and nothing arrives twice.
//!
//! Frames are handed over once per animation frame, all that arrived since
//! the last: a burst of a hundred events then costs the page one redraw,
//! not a hundred.

use crate::live::LiveFrame;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

pub use crate::components::Connection;

/// What the page wants after a frame.
pub enum Flow {
    /// Keep listening.
    Continue,
    /// The stream is over (the run finished); do not reconnect.
    Finished,
}

/// First reconnect delay; doubles per failed attempt up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Failed attempts after which the indicator says "offline" (retries go on).
const OFFLINE_AFTER: u32 = 3;
/// Frames held for the next animation frame at most: a hidden tab gets no
/// animation frames, so past this many they are handed over at once.
const MAX_PENDING: usize = 1024;

struct State {
    socket: Option<WebSocket>,
    attempts: u32,
    finished: bool,
    path: Box<dyn Fn() -> String>,
    on_frame: Box<dyn Fn(LiveFrame) -> Flow>,
    on_open: Box<dyn Fn()>,
    connection: RwSignal<Connection>,
    /// Frames received and not yet handed to the page.
    pending: Vec<LiveFrame>,
    /// Whether an animation frame will hand them over.
    flush_scheduled: bool,
    // The JS callbacks live as long as their socket.
    handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

/// Follows a live endpoint until `on_frame` says `Finished` or the owner is
/// cleaned up. `path` is asked for the URL path before every (re)connection;
/// `on_open` is called each time a connection opens (a stream that cannot
/// resume where it left off reloads what it shows there).
pub fn follow(
    path: impl Fn() -> String + 'static,
    on_frame: impl Fn(LiveFrame) -> Flow + 'static,
    on_open: impl Fn() + 'static,
    connection: RwSignal<Connection>,
) {
    let state = Rc::new(RefCell::new(State {
        socket: None,
        attempts: 0,
        finished: false,
        path: Box::new(path),
        on_frame: Box::new(on_frame),
        on_open: Box::new(on_open),
        connection,
        pending: Vec::new(),
        flush_scheduled: false,
        handlers: Vec::new(),
    }));
    open(&state);
    // Leaving the page closes the socket for good.
    let on_leave = SendWrapper::new(state);
    on_cleanup(move || {
        let state = on_leave.take();
        let mut state = state.borrow_mut();
        state.finished = true;
        if let Some(socket) = state.socket.take() {
            let _ = socket.close();
        }
    });
}

fn open(state: &Rc<RefCell<State>>) {
    let url = {
        let s = state.borrow();
        if s.finished {
            return;
        }
        let location = window().location();
        let scheme = if location.protocol().as_deref() == Ok("https:") {
            "wss"
        } else {
            "ws"
        };
        format!("{scheme}://{}{}", location.host().unwrap_or_default(), (s.path)())
    };
    let socket = match WebSocket::new(&url) {
        Ok(socket) => socket,
        Err(_) => return schedule_reconnect(state),
    };
    let on_open = {
        let state = state.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            {
                let mut s = state.borrow_mut();
                s.attempts = 0;
                s.connection.set(Connection::Live);
            }
            (state.borrow().on_open)();
        })
    };
    let on_message = {
        let state = state.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let Some(text) = event.unchecked_into::<MessageEvent>().data().as_string() else {
                return;
            };
            let Ok(frame) = serde_json::from_str::<LiveFrame>(&text) else {
                return;
            };
            if frame == LiveFrame::Resync {
                // Fell behind: the close handler reconnects from the last seq.
                if let Some(socket) = &state.borrow().socket {
                    let _ = socket.close();
                }
                return;
            }
            let (full, schedule) = {
                let mut s = state.borrow_mut();
                s.pending.push(frame);
                let full = s.pending.len() >= MAX_PENDING;
                (full, !full && !std::mem::replace(&mut s.flush_scheduled, true))
            };
            if full {
                flush(&state);
            } else if schedule {
                let state = state.clone();
                request_animation_frame(move || flush(&state));
            }
        })
    };
    let on_close = {
        let state = state.clone();
        Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let _ = event.unchecked_into::<CloseEvent>();
            // What arrived before the close counts: it may finish the
            // stream, and a reconnection resumes after it.
            flush(&state);
            if !state.borrow().finished {
                schedule_reconnect(&state);
            }
        })
    };
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let mut s = state.borrow_mut();
    if let Some(old) = s.socket.replace(socket) {
        old.set_onclose(None);
        let _ = old.close();
    }
    s.handlers = vec![on_open, on_message, on_close];
}

/// Hands the pending frames to the page, in order, until one finishes the
/// stream.
fn flush(state: &Rc<RefCell<State>>) {
    let frames = {
        let mut s = state.borrow_mut();
        s.flush_scheduled = false;
        std::mem::take(&mut s.pending)
    };
    for frame in frames {
        if state.borrow().finished {
            return;
        }
        let flow = (state.borrow().on_frame)(frame);
        if let Flow::Finished = flow {
            let mut s = state.borrow_mut();
            s.finished = true;
            s.connection.set(Connection::Finished);
        }
    }
}

fn schedule_reconnect(state: &Rc<RefCell<State>>) {
    let delay = {
        let mut s = state.borrow_mut();
        s.attempts += 1;
        let connection = if s.attempts > OFFLINE_AFTER {
            Connection::Offline
        } else {
            Connection::Reconnecting
        };
        s.connection.set(connection);
        let factor = 2u32.saturating_pow(s.attempts.saturating_sub(1).min(16));
        FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
    };
    let state = state.clone();
    set_timeout(move || open(&state), delay);
}
