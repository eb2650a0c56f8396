//! What the fuzz targets share: reading two JSON documents out of one input.

use serde::de::DeserializeOwned;

/// The input as two JSON documents separated by a NUL byte, when both parse
/// as `T` (the diff and compare targets take a pair of values).
pub fn two_json<T: DeserializeOwned>(data: &[u8]) -> Option<(T, T)> {
    let mut parts = data.splitn(2, |b| *b == 0);
    let (a, b) = (parts.next()?, parts.next()?);
    Some((serde_json::from_slice(a).ok()?, serde_json::from_slice(b).ok()?))
}
