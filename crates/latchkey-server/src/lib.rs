//! The latchkey server as a library: [`Application`] wires configuration, storage, signing
//! keys, identity providers and the HTTP router, binds its listener (port 0 works, for tests)
//! and serves until stopped. `main.rs` only parses the command line and calls into here.

mod app;
mod keys;
mod providers;

pub use app::{Application, Dependencies};
pub use keys::load_or_generate as load_or_generate_keys;
