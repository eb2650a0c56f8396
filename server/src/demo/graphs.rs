//! The demo's graph types: four workflows of the kinds people trace —
//! a research agent with a search loop and a review loop, a translation
//! pipeline with quality retries, a support triage with branches, and a
//! retrieval that searches three sources in parallel and joins them.

use super::simulator::{NodeSpec, Sim};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Map, Value};

/// A graph type the demo can run.
pub struct DemoGraph {
    /// The `graph_type` posted.
    pub graph_type: &'static str,
    /// Prefix of run ids.
    pub short_name: &'static str,
    nodes: &'static [&'static str],
    edges: &'static [(&'static str, &'static str)],
    /// Random inputs for a run.
    pub inputs: fn(&mut StdRng) -> Value,
    /// The state before the first node.
    pub initial_state: fn(&Value) -> Map<String, Value>,
    /// Walks the graph; `false` when the run failed.
    pub walk: fn(&mut Sim<'_>, &Value) -> bool,
}

impl DemoGraph {
    /// The declared graph (API.md shape).
    pub fn definition(&self) -> Value {
        json!({
            "nodes": self.nodes.iter().map(|n| json!({"id": n})).collect::<Vec<_>>(),
            "edges": self.edges.iter().map(|(f, t)| json!({"from": f, "to": t})).collect::<Vec<_>>(),
        })
    }
}

const GRAPHS: [DemoGraph; 4] = [
    DemoGraph {
        graph_type: "research_agent",
        short_name: "research",
        nodes: &[
            "PlanNode",
            "SearchNode",
            "SummarizeNode",
            "ReviewNode",
            "PublishNode",
        ],
        edges: &[
            ("PlanNode", "SearchNode"),
            ("SearchNode", "SearchNode"),
            ("SearchNode", "SummarizeNode"),
            ("SummarizeNode", "ReviewNode"),
            ("ReviewNode", "SummarizeNode"),
            ("ReviewNode", "PublishNode"),
        ],
        inputs: research_inputs,
        initial_state: research_state,
        walk: research_walk,
    },
    DemoGraph {
        graph_type: "forward_mode",
        short_name: "translate",
        nodes: &[
            "DetectLanguageNode",
            "PlanNode",
            "TranslateNode",
            "QualityCheckNode",
            "FormatNode",
        ],
        edges: &[
            ("DetectLanguageNode", "PlanNode"),
            ("PlanNode", "TranslateNode"),
            ("TranslateNode", "QualityCheckNode"),
            ("QualityCheckNode", "TranslateNode"),
            ("QualityCheckNode", "FormatNode"),
        ],
        inputs: translate_inputs,
        initial_state: translate_state,
        walk: translate_walk,
    },
    DemoGraph {
        graph_type: "support_triage",
        short_name: "triage",
        nodes: &[
            "ClassifyNode",
            "RefundNode",
            "TechnicalSupportNode",
            "EscalateNode",
            "DraftReplyNode",
            "SendNode",
        ],
        edges: &[
            ("ClassifyNode", "RefundNode"),
            ("ClassifyNode", "TechnicalSupportNode"),
            ("ClassifyNode", "EscalateNode"),
            ("RefundNode", "DraftReplyNode"),
            ("TechnicalSupportNode", "DraftReplyNode"),
            ("EscalateNode", "DraftReplyNode"),
            ("DraftReplyNode", "SendNode"),
        ],
        inputs: triage_inputs,
        initial_state: triage_state,
        walk: triage_walk,
    },
    DemoGraph {
        graph_type: "parallel_retrieval",
        short_name: "retrieval",
        nodes: &[
            "PlanQueryNode",
            "WebSearchNode",
            "DocsSearchNode",
            "CodeSearchNode",
            "MergeNode",
            "AnswerNode",
        ],
        edges: &[
            ("PlanQueryNode", "WebSearchNode"),
            ("PlanQueryNode", "DocsSearchNode"),
            ("PlanQueryNode", "CodeSearchNode"),
            ("WebSearchNode", "MergeNode"),
            ("DocsSearchNode", "MergeNode"),
            ("CodeSearchNode", "MergeNode"),
            ("MergeNode", "AnswerNode"),
        ],
        inputs: retrieval_inputs,
        initial_state: retrieval_state,
        walk: retrieval_walk,
    },
];

/// A random graph type.
pub fn pick(rng: &mut StdRng) -> &'static DemoGraph {
    &GRAPHS[rng.random_range(0..GRAPHS.len())]
}

/// A plausible error for a failed attempt of `node`.
pub fn error_message(rng: &mut StdRng, node: &str) -> String {
    let reasons = [
        "RateLimitError: 429 Too Many Requests (retry after 2s)",
        "TimeoutError: upstream did not answer within 30s",
        "ValidationError: model output is not valid JSON",
        "ConnectionResetError: connection reset by peer",
    ];
    format!("{node}: {}", reasons.choose(rng).unwrap_or(&reasons[0]))
}

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Appends `item` to the array at `path` inside the state, if there is one.
fn push(state: &mut Map<String, Value>, path: &[&str], item: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let mut current = state.get_mut(*first);
    for key in rest {
        current = current.and_then(|v| v.get_mut(*key));
    }
    if let Some(Value::Array(items)) = current {
        items.push(item);
    }
}

fn research_inputs(rng: &mut StdRng) -> Value {
    let topics = [
        "vector databases",
        "Rust async runtimes",
        "solid-state batteries",
        "CRISPR delivery",
        "edge inference",
    ];
    json!({"topic": topics.choose(rng).unwrap_or(&topics[0]), "depth": rng.random_range(1..4), "audience": "engineers"})
}

fn research_state(inputs: &Value) -> Map<String, Value> {
    obj(json!({
        "topic": inputs["topic"],
        "plan": {"queries": [], "status": "pending"},
        "sources": [],
        "draft": {"title": null, "sections": [], "word_count": 0},
        "review": {"approved": false, "comments": []},
    }))
}

fn research_walk(sim: &mut Sim<'_>, inputs: &Value) -> bool {
    let topic = inputs["topic"].as_str().unwrap_or("topic").to_owned();
    let queries = sim.rng.random_range(1..=3);
    let ok = sim.visit(
        "PlanNode",
        NodeSpec::llm(400, 1_400, 1),
        json!({"topic": topic}),
        |s, _| {
            let qs: Vec<String> = (1..=queries).map(|i| format!("{topic} part {i}")).collect();
            s["plan"] = json!({"queries": qs, "status": "ready"});
            json!({"queries": qs})
        },
    );
    if !ok {
        return false;
    }
    for i in 1..=queries {
        let ok = sim.visit(
            "SearchNode",
            NodeSpec::quick(200, 900).cached(0.3).flaky(0.1),
            json!({"query_index": i}),
            |s, rng| {
                let url = format!("https://example.org/{}", rng.random_range(100..999));
                push(
                    s,
                    &["sources"],
                    json!({"url": url, "relevance": (rng.random_range(50..99) as f64) / 100.0}),
                );
                json!({"results": 10, "top": url})
            },
        );
        if !ok {
            return false;
        }
    }
    let rounds = if sim.rng.random_bool(0.35) { 2 } else { 1 };
    for round in 1..=rounds {
        let ok = sim.visit(
            "SummarizeNode",
            NodeSpec::llm(900, 2_600, 2).flaky(0.05),
            json!({"round": round}),
            |s, rng| {
                let words = rng.random_range(400..1_200);
                s["draft"]["title"] = json!(format!("{} — an overview", s["topic"].as_str().unwrap_or("")));
                push(s, &["draft", "sections"], json!(format!("Section {round}")));
                s["draft"]["word_count"] = json!(words);
                json!({"word_count": words})
            },
        );
        if !ok {
            return false;
        }
        let approve = round == rounds;
        let ok = sim.visit(
            "ReviewNode",
            NodeSpec::llm(500, 1_500, 1).flaky(0.08),
            json!({"round": round}),
            |s, _| {
                s["review"]["approved"] = json!(approve);
                if !approve {
                    push(
                        s,
                        &["review", "comments"],
                        json!("Needs more sources in section 1"),
                    );
                }
                json!({"approved": approve})
            },
        );
        if !ok {
            return false;
        }
    }
    sim.visit(
        "PublishNode",
        NodeSpec::quick(80, 300).flaky(0.12),
        json!({}),
        |s, _| {
            s.insert("published".into(), json!(true));
            json!({"url": "https://docs.example.org/reports/latest"})
        },
    )
}

fn translate_inputs(rng: &mut StdRng) -> Value {
    let texts = [
        "Hello, world",
        "The quick brown fox jumps over the lazy dog",
        "Please restart the router",
        "Your order has shipped",
    ];
    let targets = ["de", "fr", "ja", "pt-BR"];
    json!({"prompt": texts.choose(rng).unwrap_or(&texts[0]), "target_language": targets.choose(rng).unwrap_or(&targets[0])})
}

fn translate_state(inputs: &Value) -> Map<String, Value> {
    obj(json!({
        "source": {"text": inputs["prompt"], "language": null},
        "target_language": inputs["target_language"],
        "translation": {"text": null, "attempts": 0, "quality": null},
        "formatting": {"applied": false},
    }))
}

fn translate_walk(sim: &mut Sim<'_>, inputs: &Value) -> bool {
    let ok = sim.visit(
        "DetectLanguageNode",
        NodeSpec::quick(20, 120).cached(0.45),
        json!({"text": inputs["prompt"]}),
        |s, _| {
            s["source"]["language"] = json!("en");
            json!({"language": "en", "confidence": 0.98})
        },
    );
    if !ok {
        return false;
    }
    let ok = sim.visit("PlanNode", NodeSpec::quick(30, 150), json!({}), |s, _| {
        s.insert("plan".into(), json!({"strategy": "direct", "glossary": []}));
        json!({"strategy": "direct"})
    });
    if !ok {
        return false;
    }
    let passes = if sim.rng.random_bool(0.3) { 2 } else { 1 };
    for pass in 1..=passes {
        let ok = sim.visit(
            "TranslateNode",
            NodeSpec::llm(700, 2_200, 1).flaky(0.12),
            json!({"pass": pass}),
            |s, _| {
                let attempts = s["translation"]["attempts"].as_i64().unwrap_or(0) + 1;
                s["translation"]["attempts"] = json!(attempts);
                s["translation"]["text"] = json!(format!(
                    "[{}] translation v{attempts}",
                    s["target_language"].as_str().unwrap_or("")
                ));
                json!({"text": s["translation"]["text"]})
            },
        );
        if !ok {
            return false;
        }
        let good = pass == passes;
        let ok = sim.visit(
            "QualityCheckNode",
            NodeSpec::llm(300, 900, 1),
            json!({"pass": pass}),
            |s, rng| {
                let score = if good {
                    rng.random_range(82..99)
                } else {
                    rng.random_range(40..70)
                };
                s["translation"]["quality"] = json!(score);
                json!({"score": score, "passed": good})
            },
        );
        if !ok {
            return false;
        }
    }
    sim.visit("FormatNode", NodeSpec::quick(10, 60), json!({}), |s, _| {
        s["formatting"]["applied"] = json!(true);
        json!({"format": "markdown"})
    })
}

fn triage_inputs(rng: &mut StdRng) -> Value {
    let tickets = [
        ("I was charged twice for my subscription", "billing"),
        ("The app crashes when I upload a photo", "technical"),
        (
            "This is the third time I am writing, I want to speak to a manager",
            "complaint",
        ),
    ];
    let (text, _) = tickets.choose(rng).unwrap_or(&tickets[0]);
    json!({"ticket_id": format!("T-{}", rng.random_range(10_000..99_999)), "message": text, "customer_tier": if rng.random_bool(0.2) { "enterprise" } else { "standard" }})
}

fn triage_state(inputs: &Value) -> Map<String, Value> {
    obj(json!({
        "ticket": {"id": inputs["ticket_id"], "category": null, "priority": "normal"},
        "actions": [],
        "reply": {"draft": null, "sent": false},
    }))
}

fn triage_walk(sim: &mut Sim<'_>, inputs: &Value) -> bool {
    let message = inputs["message"].as_str().unwrap_or("").to_owned();
    let category = if message.contains("charged") {
        "billing"
    } else if message.contains("crash") {
        "technical"
    } else {
        "complaint"
    };
    let ok = sim.visit(
        "ClassifyNode",
        NodeSpec::llm(250, 800, 1).cached(0.15),
        json!({"message": message}),
        |s, _| {
            s["ticket"]["category"] = json!(category);
            json!({"category": category})
        },
    );
    if !ok {
        return false;
    }
    let (node, spec) = match category {
        "billing" => ("RefundNode", NodeSpec::quick(300, 1_200).flaky(0.15)),
        "technical" => ("TechnicalSupportNode", NodeSpec::llm(800, 2_400, 2)),
        _ => ("EscalateNode", NodeSpec::quick(50, 200)),
    };
    let ok = sim.visit(node, spec, json!({"category": category}), |s, _| {
        push(s, &["actions"], json!(node));
        if node == "EscalateNode" {
            s["ticket"]["priority"] = json!("high");
        }
        json!({"action": node})
    });
    if !ok {
        return false;
    }
    let ok = sim.visit(
        "DraftReplyNode",
        NodeSpec::llm(600, 1_800, 1),
        json!({}),
        |s, _| {
            s["reply"]["draft"] = json!("Thanks for reaching out — we're on it.");
            json!({"characters": 38})
        },
    );
    if !ok {
        return false;
    }
    sim.visit(
        "SendNode",
        NodeSpec::quick(40, 200).flaky(0.05),
        json!({}),
        |s, _| {
            s["reply"]["sent"] = json!(true);
            json!({"delivered": true})
        },
    )
}

fn retrieval_inputs(rng: &mut StdRng) -> Value {
    let questions = [
        "How do I rotate the signing keys without downtime?",
        "Why does the nightly export time out on large tenants?",
        "Which services still call the v1 billing API?",
    ];
    json!({"question": questions.choose(rng).unwrap_or(&questions[0]), "sources": ["web", "docs", "code"]})
}

fn retrieval_state(inputs: &Value) -> Map<String, Value> {
    obj(json!({"question": inputs["question"], "queries": [], "answer": null}))
}

/// One source's search, a branch of the fork: writes its own key.
fn search_source(sim: &mut Sim<'_>, node: &str, key: &str, spec: NodeSpec) -> bool {
    sim.visit(node, spec, json!({"source": key}), |s, rng| {
        let hits = rng.random_range(2..12);
        s.insert(format!("{key}_hits"), json!(hits));
        json!({"hits": hits})
    })
}

fn retrieval_walk(sim: &mut Sim<'_>, inputs: &Value) -> bool {
    let question = inputs["question"].clone();
    let ok = sim.visit(
        "PlanQueryNode",
        NodeSpec::llm(300, 900, 1),
        json!({"question": question}),
        |s, _| {
            s["queries"] = json!(["keywords", "semantic", "symbols"]);
            json!({"queries": 3})
        },
    );
    if !ok {
        return false;
    }
    // Three sources at once; the slowest decides when the merge can start.
    let ok = sim.fork(&mut [
        &mut |sim| {
            search_source(
                sim,
                "WebSearchNode",
                "web",
                NodeSpec::quick(400, 2_600).flaky(0.05),
            )
        },
        &mut |sim| {
            search_source(
                sim,
                "DocsSearchNode",
                "docs",
                NodeSpec::quick(200, 1_200).cached(0.3),
            )
        },
        &mut |sim| search_source(sim, "CodeSearchNode", "code", NodeSpec::quick(600, 1_800)),
    ]);
    if !ok {
        return false;
    }
    let ok = sim.visit(
        "MergeNode",
        NodeSpec::quick(40, 150),
        json!({}),
        |_, _| json!({"merged": true}),
    );
    if !ok {
        return false;
    }
    sim.visit(
        "AnswerNode",
        NodeSpec::llm(700, 2_000, 1),
        json!({"question": question}),
        |s, _| {
            s["answer"] = json!("See the runbook section on key rotation.");
            json!({"characters": 41})
        },
    )
}
