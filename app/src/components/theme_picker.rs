//! The light / dark / system theme choice. The choice is kept in the
//! browser's localStorage and applied as `data-theme` on `<html>`; the
//! stylesheet follows the system setting when there is none. `THEME_BOOT`
//! runs in `<head>` before the first paint, so a chosen theme never flashes
//! the other one while the WASM loads.

use leptos::prelude::*;

/// Where the choice is stored.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const STORAGE_KEY: &str = "tracevis-theme";

/// Inline script for `<head>`: applies a stored choice before anything is drawn.
pub const THEME_BOOT: &str = "try{var t=localStorage.getItem('tracevis-theme');\
if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}catch(e){}";

/// A select in the top bar: System, Light, Dark.
#[component]
pub fn ThemePicker() -> impl IntoView {
    let theme = RwSignal::new(String::from("system"));
    // After hydration, show what the boot script applied.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(stored) = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()) {
            theme.set(stored);
        }
    });
    let choose = move |value: String| {
        #[cfg(feature = "hydrate")]
        apply(&value);
        theme.set(value);
    };
    view! {
        <label class="theme-picker">"Theme "
            <select aria-label="Theme" prop:value=move || theme.get() on:change=move |ev| choose(event_target_value(&ev))>
                <option value="system">"System"</option>
                <option value="light">"Light"</option>
                <option value="dark">"Dark"</option>
            </select>
        </label>
    }
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<leptos::web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// Applies and remembers `choice` (`system` forgets it).
#[cfg(feature = "hydrate")]
fn apply(choice: &str) {
    let Some(root) = document().document_element() else {
        return;
    };
    let storage = storage();
    if choice == "light" || choice == "dark" {
        let _ = root.set_attribute("data-theme", choice);
        storage.map(|s| s.set_item(STORAGE_KEY, choice));
    } else {
        let _ = root.remove_attribute("data-theme");
        storage.map(|s| s.remove_item(STORAGE_KEY));
    }
}
