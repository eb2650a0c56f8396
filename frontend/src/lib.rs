//! The browser entry point: hydrates the server-rendered app.

// The run page's view type is deep; release builds (which do not erase view
// types) need more than the default 128 levels to compute its layout.
#![recursion_limit = "256"]

/// Called by the generated JS glue once the WASM module loads.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // hydrate_lazy: the current page's WASM chunk loads before it hydrates.
    leptos::mount::hydrate_lazy(app::App);
}
