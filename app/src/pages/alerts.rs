//! `/alerts`, for admins: alert rules (make one — its signing secret shown
//! once —, turn it on or off, delete it) and each rule's delivery log with
//! "Redeliver". The same operations as `/api/v1/alert-rules`.

use crate::alerts::{
    alerts_deliveries, alerts_list_rules, AlertCondition, AlertRule, AlertsCreateRule, AlertsDeleteRule,
    AlertsRedeliver, AlertsSetEnabled, DeliveryStatus,
};
use crate::format;
use leptos::prelude::*;

/// What a rule's condition says, in words.
fn condition_text(condition: &AlertCondition) -> String {
    match condition {
        AlertCondition::RunFailed => "a run failed".into(),
        AlertCondition::RunSlowerThan { threshold_ms } => {
            format!("a run took longer than {}", format::duration_ms(threshold_ms.get()))
        }
        AlertCondition::NodeFailed { node_id } => format!("node {} failed", node_id.as_str()),
        AlertCondition::NodeSlowerThanBaseline {
            node_id,
            factor,
            min_count,
        } => format!(
            "{}'s p95 over the last hour is more than {}× its p95 over the week before (at least {min_count} visits)",
            node_id.as_str(),
            factor.get()
        ),
    }
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let create = ServerAction::<AlertsCreateRule>::new();
    let set_enabled = ServerAction::<AlertsSetEnabled>::new();
    let delete = ServerAction::<AlertsDeleteRule>::new();
    let rules = Resource::new(
        move || {
            (
                create.version().get(),
                set_enabled.version().get(),
                delete.version().get(),
            )
        },
        |_| alerts_list_rules(),
    );
    view! {
        <h1>"Alerts"</h1>
        <section class="access-section" aria-labelledby="new-rule-title">
            <h2 id="new-rule-title">"New rule"</h2>
            <p class="muted">
                "A rule POSTs a signed webhook (Standard Webhooks: " <code>"webhook-id"</code> ", "
                <code>"webhook-timestamp"</code> ", " <code>"webhook-signature"</code>
                ") when a finished run matches it, or when a node type becomes slower than its own past week. Failed deliveries are retried with backoff for about 8 hours."
            </p>
            <ActionForm action=create attr:class="filters alert-form" attr:aria-label="New alert rule">
                <label>"Name" <input type="text" name="name" required maxlength="256"/></label>
                <label>"Condition"
                    <select name="kind">
                        <option value="run_failed">"A run failed"</option>
                        <option value="run_slower_than">"A run took longer than the threshold"</option>
                        <option value="node_failed">"The node failed in a run"</option>
                        <option value="node_slower_than_baseline">"The node is slower than its baseline"</option>
                    </select>
                </label>
                <label>"Threshold (ms)" <input type="number" name="threshold_ms" step="any" placeholder="5000"/></label>
                <label>"Node" <input type="text" name="node_id" placeholder="TranslateNode"/></label>
                <label>"Factor" <input type="number" name="factor" step="any" value="3"/></label>
                <label>"Minimum visits" <input type="number" name="min_count" value="20"/></label>
                <label>"Graph type" <input type="text" name="graph_type" placeholder="any"/></label>
                <label>"Metadata" <input type="text" name="metadata" placeholder="environment=prod, version=2"/></label>
                <label>"Webhook URL" <input type="url" name="webhook_url" required placeholder="https://hooks.slack.com/services/…"/></label>
                <label>"Format"
                    <select name="format">
                        <option value="json">"JSON"</option>
                        <option value="slack">"Slack"</option>
                    </select>
                </label>
                <label>"Cool-down (s)" <input type="number" name="cooldown_secs" value="0"/></label>
                <button type="submit">"Create rule"</button>
            </ActionForm>
            {move || create.value().get().map(|result| match result {
                Err(e) => view! { <p role="alert" class="error-text">{e.to_string()}</p> }.into_any(),
                Ok(rule) => view! {
                    <div class="shown-once" role="status">
                        <p>"Rule " <strong>{rule.spec.name.as_str().to_owned()}</strong>
                            " — its signing secret, to verify deliveries; copy it now: it is not shown again:"</p>
                        <code class="secret">{rule.secret.clone().unwrap_or_default()}</code>
                    </div>
                }.into_any(),
            })}
        </section>
        <section class="access-section" aria-labelledby="rules-title">
            <h2 id="rules-title">"Rules"</h2>
            {move || set_enabled.value().get().and_then(Result::err).map(|e| view! { <p role="alert" class="error-text">{e.to_string()}</p> })}
            {move || delete.value().get().and_then(Result::err).map(|e| view! { <p role="alert" class="error-text">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading rules…"</p> }>
                {move || Suspend::new(async move {
                    match rules.await {
                        Err(e) => view! { <p role="alert" class="error-text">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No rules yet."</p> }.into_any(),
                        Ok(list) => list
                            .into_iter()
                            .map(|rule| view! { <RuleCard rule set_enabled delete/> })
                            .collect_view()
                            .into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn RuleCard(
    rule: AlertRule,
    set_enabled: ServerAction<AlertsSetEnabled>,
    delete: ServerAction<AlertsDeleteRule>,
) -> impl IntoView {
    let redeliver = ServerAction::<AlertsRedeliver>::new();
    let id = rule.id.clone();
    let deliveries = Resource::new(
        {
            let id = id.clone();
            move || (id.clone(), redeliver.version().get())
        },
        |(id, _)| alerts_deliveries(id),
    );
    let name = rule.spec.name.as_str().to_owned();
    // What the delivery log needs, kept for its redraws.
    let listed = StoredValue::new((id.clone(), name.clone()));
    let enabled = rule.spec.enabled;
    let scope = [
        rule.spec
            .graph_type
            .as_ref()
            .map(|g| format!("graph type {}", g.as_str())),
        (!rule.spec.metadata.is_empty()).then(|| {
            rule.spec
                .metadata
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ");
    let (article_label, delete_label) = (format!("Rule {name}"), format!("Delete rule {name}"));
    let (toggle_id, delete_id) = (id.clone(), id);
    view! {
        <article class="alert-rule" aria-label=article_label>
            <h3>{name} {(!enabled).then(|| view! { <span class="muted">" (off)"</span> })}</h3>
            <p>"When " {condition_text(&rule.spec.condition)}
                {(!scope.is_empty()).then(|| format!(" ({scope})"))}
                ", POST " {rule.spec.format.as_str()} " to " <code>{rule.spec.webhook_url.as_str().to_owned()}</code>
                {(rule.spec.cooldown_secs > 0).then(|| format!(", at most once every {} s", rule.spec.cooldown_secs))}
                "."</p>
            {rule.disabled_reason.clone().map(|why| view! { <p role="note" class="error-text">"Turned off: " {why}</p> })}
            <div class="pick-bar">
                <ActionForm action=set_enabled>
                    <input type="hidden" name="id" value=toggle_id/>
                    <input type="hidden" name="enabled" value=(!enabled).to_string()/>
                    <button type="submit">{if enabled { "Turn off" } else { "Turn on" }}</button>
                </ActionForm>
                <ActionForm action=delete>
                    <input type="hidden" name="id" value=delete_id/>
                    <button type="submit" class="danger" aria-label=delete_label>"Delete"</button>
                </ActionForm>
            </div>
            {move || redeliver.value().get().and_then(Result::err).map(|e| view! { <p role="alert" class="error-text">{e.to_string()}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading deliveries…"</p> }>
                {move || {
                    let (id, name) = listed.get_value();
                    Suspend::new(async move {
                        match deliveries.await {
                            Err(e) => view! { <p role="alert" class="error-text">{e.to_string()}</p> }.into_any(),
                            Ok(list) if list.is_empty() => view! { <p class="muted">"No deliveries yet."</p> }.into_any(),
                            Ok(list) => view! {
                                <div class="table-scroll"><table aria-label=format!("Deliveries of {name}")>
                                    <thead><tr>
                                        <th scope="col">"Fired"</th><th scope="col">"Run"</th><th scope="col">"Status"</th>
                                        <th scope="col" class="num">"Attempts"</th><th scope="col">"Last answer"</th>
                                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                    </tr></thead>
                                    <tbody>
                                        {list.into_iter().map(move |d| {
                                            let id = id.clone();
                                            let status = match d.status {
                                                DeliveryStatus::Pending => d.next_attempt_at.as_ref().map_or_else(
                                                    || "pending".to_owned(),
                                                    |at| format!("pending, next try {}", format::timestamp(at)),
                                                ),
                                                other => other.as_str().to_owned(),
                                            };
                                            let answer = match (d.last_status, d.last_error.clone()) {
                                                (_, Some(error)) => error,
                                                (Some(code), None) => format!("HTTP {code}"),
                                                (None, None) => "—".to_owned(),
                                            };
                                            view! {
                                                <tr>
                                                    <td>{format::timestamp(&d.created_at)}</td>
                                                    <td>{d.execution_id.clone().map_or_else(
                                                        || view! { "baseline" }.into_any(),
                                                        |run| view! { <a href=format!("/executions/{run}")>{run.clone()}</a> }.into_any(),
                                                    )}</td>
                                                    <td>{status}</td>
                                                    <td class="num">{d.attempts}</td>
                                                    <td>{answer}</td>
                                                    <td>
                                                        <ActionForm action=redeliver>
                                                            <input type="hidden" name="id" value=id.clone()/>
                                                            <input type="hidden" name="webhook_id" value=d.webhook_id.clone()/>
                                                            <button type="submit" aria-label=format!("Redeliver {}", d.webhook_id)>"Redeliver"</button>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table></div>
                            }.into_any(),
                        }
                    })
                }}
            </Transition>
        </article>
    }
}
