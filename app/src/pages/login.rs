//! `/login`: the sign-in form. It posts to the server's `POST /login`
//! (a plain form, so it works before the page's WASM has loaded), which
//! sends the person back to `next` — the page they were going to.

use crate::server_fns::use_viewer;
use crate::url_state::query_param;
use leptos::prelude::*;

#[component]
pub fn LoginPage() -> impl IntoView {
    let next = query_param("next");
    let failed = query_param("failed");
    let viewer = use_viewer();
    view! {
        <section class="login">
            <h1>"Sign in"</h1>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let viewer = viewer.await.unwrap_or_default();
                    if !viewer.sign_in_required {
                        return view! {
                            <p>"This tracevis does not ask anyone to sign in: it listens on this machine only, or sign-in is off."</p>
                            <p><a href="/">"Go to the runs"</a></p>
                        }
                        .into_any();
                    }
                    view! {
                        {move || failed.get().map(|_| view! {
                            <p role="alert" class="error">"Wrong name or password."</p>
                        })}
                        {viewer.name.clone().map(|name| view! {
                            <p>"You are signed in as " <strong>{name}</strong> "."</p>
                        })}
                        <form method="post" action="/login" class="login-form">
                            <label>"Name"
                                <input type="text" name="name" autocomplete="username" required autofocus/>
                            </label>
                            <label>"Password"
                                <input type="password" name="password" autocomplete="current-password" required/>
                            </label>
                            <input type="hidden" name="next" value=move || next.get().unwrap_or_else(|| "/".into())/>
                            <button type="submit" class="primary">"Sign in"</button>
                        </form>
                        <p class="muted">"Lost your password? An administrator can set a new one with "
                            <code>"tracevis user passwd NAME"</code> "."</p>
                    }
                    .into_any()
                })}
            </Transition>
        </section>
    }
}
