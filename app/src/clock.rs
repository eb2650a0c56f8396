//! A ticking clock for durations of runs that are still going.

use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// The current time, updated every second in the browser. `None` on the
/// server and until the page has hydrated, so both render the same HTML.
pub fn use_clock() -> RwSignal<Option<DateTime<Utc>>> {
    let now = RwSignal::new(None);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            now.set(Some(Utc::now()));
            if let Ok(handle) = set_interval_with_handle(
                move || now.set(Some(Utc::now())),
                std::time::Duration::from_secs(1),
            ) {
                on_cleanup(move || handle.clear());
            }
        }
    });
    now
}

/// A run's duration for display: final once it finished, ticking while it runs.
pub fn run_duration(
    total_duration_ms: Option<f64>,
    start: &DateTime<Utc>,
    now: Option<DateTime<Utc>>,
) -> String {
    match (total_duration_ms, now) {
        (Some(ms), _) => crate::format::duration_ms(ms),
        (None, Some(now)) => {
            let ms = (now - *start).num_milliseconds().max(0) as f64;
            format!("{} so far", crate::format::duration_ms(ms))
        }
        (None, None) => "running".into(),
    }
}
