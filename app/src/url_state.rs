//! View state kept in the URL's query string (selected node, filters, time
//! cursor), so a page can be shared or bookmarked exactly as it is seen.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;

/// A query parameter of the current URL, reactively.
pub fn query_param(name: &'static str) -> Memo<Option<String>> {
    let location = use_location();
    Memo::new(move |_| location.query.read().get(name).filter(|v| !v.is_empty()))
}

/// Sets (or with `None` removes) a query parameter, replacing the history
/// entry so that stepping through state does not flood the back button.
pub fn query_setter() -> impl Fn(&'static str, Option<String>) + Clone + Send + Sync + 'static {
    let navigate = use_navigate();
    let location = use_location();
    move |name, value| {
        let mut query = location.query.get_untracked();
        query.remove(name);
        if let Some(value) = value {
            query.insert(name, value);
        }
        let url = format!("{}{}", location.pathname.get_untracked(), query.to_query_string());
        navigate(
            &url,
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    }
}

/// `path?k=v&…` with every value form-encoded (`&`, `#`, `%`, spaces…), or
/// just `path` without pairs.
pub fn with_query(path: &str, pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, value);
    }
    format!("{path}?{}", query.finish())
}

/// The metadata filters among a URL's query parameters: `meta.KEY=VALUE`
/// (as in the API), or `meta=KEY=VALUE` as a filter form sends it (one per
/// chip). The run list and the metrics page read them alike.
pub fn metadata_filters(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .filter_map(|(k, v)| match k.strip_prefix("meta.") {
            Some(key) => Some((key.to_owned(), v.clone())),
            None if k == "meta" => v
                .split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())),
            None => None,
        })
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// Every `(name, value)` of the current URL's query, reactively (a name
/// may come more than once: one `meta` per metadata chip).
pub fn query_pairs() -> Memo<Vec<(String, String)>> {
    let query = leptos_router::hooks::use_query_map();
    Memo::new(move |_| {
        query.with(|q| {
            q.into_iter()
                .map(|(k, v)| (k.to_string(), v.to_owned()))
                .collect()
        })
    })
}
