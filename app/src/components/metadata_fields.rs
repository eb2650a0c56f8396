//! The metadata part of a filter form (run list, metrics page): a
//! `key=value` box, and a chip per filter in force that keeps it on the next
//! submit and removes it when unticked.

use leptos::prelude::*;

/// The form fields of the metadata filters `filters` (named `meta`, read
/// back by `url_state::metadata_filters`).
#[component]
pub fn MetadataFields(filters: Vec<(String, String)>) -> impl IntoView {
    // The box is for a filter to add, so it is empty whenever the filters
    // in force are drawn: a page draws its form again in place after a
    // submit, which would keep what was typed (and send it twice).
    let typed = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = typed.get() {
            input.set_value("");
        }
    });
    view! {
        <label>"Metadata" <input node_ref=typed type="text" name="meta" placeholder="key=value"/></label>
        {filters.into_iter().map(|(k, v)| {
            let pair = format!("{k}={v}");
            view! {
                <label class="chip">
                    <input type="checkbox" name="meta" value=pair checked/>
                    {format!("{k} = {v}")}
                </label>
            }
        }).collect_view()}
    }
}
