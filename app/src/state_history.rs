//! Questions about a run's state history answered from stored snapshots
//! and their diffs — time travel without re-running anything.

use crate::diff::DiffEntry;
use crate::model::StateSnapshot;

/// The snapshot (index) at or before `step` whose diff last touched `path`:
/// the path itself, something inside it, or a parent replaced whole.
pub fn last_change(snapshots: &[StateSnapshot], step: usize, path: &str) -> Option<usize> {
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return None;
    }
    let touches = |entry: &DiffEntry| {
        entry.path == path
            || entry.path.starts_with(&format!("{path}/"))
            || path.starts_with(&format!("{}/", entry.path))
    };
    (0..=step.min(snapshots.len().checked_sub(1)?)).rev().find(|&i| {
        // The first snapshot has no diff: everything in it was set by it.
        match &snapshots[i].diff {
            Some(diff) => diff.iter().any(touches),
            None => i == 0,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot(node: &str, diff: serde_json::Value) -> StateSnapshot {
        serde_json::from_value(
            json!({"snapshot_id": node, "execution_id": "r", "seq": 1, "node_id": node,
            "timestamp": "2025-01-01T00:00:00Z", "state": {}, "diff": diff}),
        )
        .unwrap()
    }

    #[test]
    fn the_last_snapshot_whose_diff_touched_a_field_is_found_up_to_the_step() {
        let history = [
            snapshot("__start__", json!(null)),
            snapshot(
                "Plan",
                json!([{"path": "/draft/title", "op": "replace", "old": "a", "new": "b"}]),
            ),
            snapshot("Search", json!([{"path": "/sources/0", "op": "add", "new": "x"}])),
            snapshot(
                "Write",
                json!([{"path": "/draft", "op": "replace", "old": {}, "new": {}}]),
            ),
        ];
        assert_eq!(last_change(&history, 2, "/draft/title"), Some(1));
        assert_eq!(
            last_change(&history, 3, "/draft/title"),
            Some(3),
            "a parent replaced whole"
        );
        assert_eq!(
            last_change(&history, 3, "/sources"),
            Some(2),
            "something inside it"
        );
        assert_eq!(
            last_change(&history, 3, "/unknown"),
            Some(0),
            "set (or not) by the initial state"
        );
        assert_eq!(last_change(&[], 0, "/x"), None);
    }
}
