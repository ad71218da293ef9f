//! Content tags: an opaque token that changes whenever a value changes,
//! the same on every node (used as ETags of documents without a version).

use serde::Serialize;
use sha2::{Digest, Sha256};

pub fn content_tag(value: &impl Serialize) -> String {
    let json = serde_json::to_vec(value).expect("domain values always serialize");
    const_hex::encode(&Sha256::digest(&json)[..10])
}
