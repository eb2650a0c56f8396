//! `/access`, for admins: API tokens (create — the secret shown once with a
//! copy button —, revoke, when each was last used) and the people who sign
//! in (add, remove). The same operations as `tracevis token …` and
//! `tracevis user …`.

use crate::access::{
    access_people, access_tokens, AccessAddPerson, AccessCreateToken, AccessRemovePerson, AccessRevokeToken,
    ShownOnce,
};
use crate::error::PageError;
use crate::format;
use leptos::prelude::*;

#[component]
pub fn AccessPage() -> impl IntoView {
    let create_token = ServerAction::<AccessCreateToken>::new();
    let revoke_token = ServerAction::<AccessRevokeToken>::new();
    let add_person = ServerAction::<AccessAddPerson>::new();
    let remove_person = ServerAction::<AccessRemovePerson>::new();
    let tokens = Resource::new(
        move || (create_token.version().get(), revoke_token.version().get()),
        |_| access_tokens(),
    );
    let people = Resource::new(
        move || (add_person.version().get(), remove_person.version().get()),
        |_| access_people(),
    );
    view! {
        <h1>"Access"</h1>
        <section class="access-section" aria-labelledby="tokens-title">
            <h2 id="tokens-title">"API tokens"</h2>
            <p class="muted">
                "Programs send a token as " <code>"Authorization: Bearer …"</code>
                ". An ingest token writes runs and nothing else, a read token reads, an admin token does everything. To rotate one, create the new token, deploy it, then revoke the old one."
            </p>
            <ActionForm action=create_token attr:class="filters" attr:aria-label="New token">
                <label>"Name" <input type="text" name="name" required maxlength="64"/></label>
                <label>"Scope"
                    <select name="scope">
                        <option value="ingest">"ingest"</option>
                        <option value="read">"read"</option>
                        <option value="admin">"admin"</option>
                    </select>
                </label>
                <button type="submit">"Create token"</button>
            </ActionForm>
            {move || create_token.value().get().map(|result| shown_once(result, "Token", "copy it now: it is not shown again"))}
            {move || revoke_token.value().get().and_then(Result::err).map(|e| view! { <p role="alert" class="error-text">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading tokens…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Err(e) => view! { <p role="alert" class="error-text">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No tokens yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-scroll"><table aria-label="API tokens">
                                <thead><tr>
                                    <th scope="col">"Name"</th><th scope="col">"Scope"</th><th scope="col">"Token"</th>
                                    <th scope="col">"Created"</th><th scope="col">"Last used"</th><th scope="col">"Status"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|t| {
                                        let active = t.revoked_at.is_none();
                                        let name = t.name.clone();
                                        view! {
                                            <tr>
                                                <td>{t.name.clone()}</td>
                                                <td>{t.scope}</td>
                                                <td><code>{t.display}</code></td>
                                                <td>{format::timestamp(&t.created_at)}</td>
                                                <td>{t.last_used_at.as_ref().map_or_else(|| "never".to_owned(), format::timestamp)}</td>
                                                <td>{t.revoked_at.as_ref().map_or_else(|| "active".to_owned(), |at| format!("revoked {}", format::timestamp(at)))}</td>
                                                <td>{active.then(|| view! {
                                                    <ActionForm action=revoke_token>
                                                        <input type="hidden" name="name" value=name.clone()/>
                                                        <button type="submit" class="danger" aria-label=format!("Revoke token {name}")>"Revoke"</button>
                                                    </ActionForm>
                                                })}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <section class="access-section" aria-labelledby="people-title">
            <h2 id="people-title">"People"</h2>
            <p class="muted">"People sign in at /login. A viewer reads; an admin also manages access. Leave the password empty to have one generated."</p>
            <ActionForm action=add_person attr:class="filters" attr:aria-label="New person">
                <label>"Name" <input type="text" name="name" required maxlength="64" autocomplete="off"/></label>
                <label>"Role"
                    <select name="role">
                        <option value="viewer">"viewer"</option>
                        <option value="admin">"admin"</option>
                    </select>
                </label>
                <label>"Password" <input type="password" name="password" autocomplete="new-password" minlength="8"/></label>
                <button type="submit">"Add person"</button>
            </ActionForm>
            {move || add_person.value().get().map(|result| shown_once(result, "Person added", "their generated password (shown only now)"))}
            {move || remove_person.value().get().and_then(Result::err).map(|e| view! { <p role="alert" class="error-text">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading people…"</p> }>
                {move || Suspend::new(async move {
                    match people.await {
                        Err(e) => view! { <p role="alert" class="error-text">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">"Nobody yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-scroll"><table aria-label="People">
                                <thead><tr>
                                    <th scope="col">"Name"</th><th scope="col">"Role"</th><th scope="col">"Added"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|p| {
                                        let name = p.name.clone();
                                        view! {
                                            <tr>
                                                <td>{p.name.clone()}</td>
                                                <td>{p.role}</td>
                                                <td>{format::timestamp(&p.created_at)}</td>
                                                <td>
                                                    <ActionForm action=remove_person>
                                                        <input type="hidden" name="name" value=name.clone()/>
                                                        <button type="submit" class="danger" aria-label=format!("Remove {name}")>"Remove"</button>
                                                    </ActionForm>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The outcome of creating a token or adding a person: the secret, once,
/// with a copy button, or what went wrong.
fn shown_once(result: Result<ShownOnce, PageError>, what: &'static str, note: &'static str) -> AnyView {
    match result {
        Err(e) => view! { <p role="alert" class="error-text">{e.to_string()}</p> }.into_any(),
        Ok(ShownOnce { name, secret: None }) => view! {
            <p role="status">{what} " " <strong>{name}</strong> "."</p>
        }
        .into_any(),
        Ok(ShownOnce {
            name,
            secret: Some(secret),
        }) => view! {
            <div class="shown-once" role="status">
                <p>{what} " " <strong>{name}</strong> " — " {note} ":"</p>
                <code class="secret">{secret.clone()}</code>
                <CopyButton text=secret/>
            </div>
        }
        .into_any(),
    }
}

/// Copies `text` to the clipboard.
#[component]
fn CopyButton(text: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(window) = web_sys::window() {
                let _ = window.navigator().clipboard().write_text(&text);
                copied.set(true);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
    };
    view! {
        <button type="button" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
    }
}
