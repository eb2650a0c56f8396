//! Runs' integer keys (migration 0017): events and snapshots name their
//! run by the key, not by its text id, which keeps their indexes small and
//! a new run's rows at the indexes' right edge. Each backend reads the keys
//! of a batch's runs in one query; this is what it does with them.

use std::collections::HashMap;

use app::error::TraceError;

/// The keys of some runs, by their ids.
#[derive(Debug, Default)]
pub struct RunKeys(HashMap<String, i64>);

impl RunKeys {
    /// The distinct ids among `ids`, to look up once each.
    pub fn wanted<'a>(ids: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        let mut wanted: Vec<&str> = ids.into_iter().collect();
        wanted.sort_unstable();
        wanted.dedup();
        wanted
    }

    /// The key of one run.
    pub fn one(id: &str, key: i64) -> Self {
        Self(HashMap::from([(id.to_owned(), key)]))
    }

    pub fn extend(&mut self, found: impl IntoIterator<Item = (String, i64)>) {
        self.0.extend(found);
    }

    /// The key of each of `ids`, in order. A record is written after its
    /// run's row, in the same transaction, so a run without a key is a bug.
    pub fn of_each<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Result<Vec<i64>, TraceError> {
        ids.into_iter()
            .map(|id| {
                self.0
                    .get(id)
                    .copied()
                    .ok_or_else(|| TraceError::Internal(format!("run {id} has no stored key")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_is_looked_up_once_and_every_record_gets_its_runs_key() {
        let records = ["b", "a", "b", "b", "a"];
        assert_eq!(RunKeys::wanted(records), vec!["a", "b"]);
        let mut keys = RunKeys::default();
        keys.extend([("a".to_owned(), 7), ("b".to_owned(), 9)]);
        assert_eq!(keys.of_each(records).unwrap(), vec![9, 7, 9, 9, 7]);
    }

    #[test]
    fn a_record_of_a_run_without_a_key_is_an_error_naming_the_run() {
        let keys = RunKeys::default();
        let err = keys.of_each(["lost"]).unwrap_err();
        assert!(err.to_string().contains("run lost has no stored key"), "{err}");
    }
}
