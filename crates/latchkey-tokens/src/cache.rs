//! A bounded memory of tokens known to carry a valid signature, so a token presented again
//! costs a hash lookup instead of a signature check. [`crate::TokenService`] keeps two: access
//! tokens that passed [`crate::TokenService::verify`] (every API call of a page carries the same
//! one), and refresh tokens it signed itself (the next refresh presents the last one answered).
//!
//! Entries are keyed by the token's exact bytes; an entry is worthless once its `exp` has
//! passed, and expiry is judged on every hit with the caller's clock. Revocation is not a
//! property of the token, so callers still check the session. Neither memory knows about key
//! revocation: whoever adds removing a key from the ring must empty both.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use latchkey_core::UnixTime;

use crate::service::Claims;

#[derive(Debug)]
pub(crate) struct VerifiedCache {
    entries: Mutex<HashMap<Box<str>, Arc<Claims>>>,
    capacity: usize,
}

impl VerifiedCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<Claims>> {
        if self.capacity == 0 {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(token).cloned()
    }

    pub(crate) fn insert(&self, token: &str, claims: Arc<Claims>, now: UnixTime) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            entries.retain(|_, c| now < c.exp);
            if entries.len() >= self.capacity {
                // Still full of live tokens: start over rather than track recency on every hit.
                entries.clear();
            }
        }
        entries.insert(token.into(), claims);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
