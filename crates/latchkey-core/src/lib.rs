//! latchkey's domain: the types every other crate speaks (users, identities, sessions), the rules
//! that need no I/O (username generation, refresh-token rotation), the [`Store`] trait the storage
//! backends implement, and the injected [`Clock`].
//!
//! Nothing here knows about HTTP, SQL or JWTs.

mod clock;
mod secret;
mod session;
mod store;
mod user;

pub use clock::{Clock, FakeClock, SystemClock, UnixTime};
pub use secret::Secret;
pub use session::{decide_refresh, NewSession, RefreshDecision, RevokeScope, Session};
pub use store::{RefreshOutcome, SignIn, SignInOutcome, Store, StoreError, UserPatch};
pub use user::{username_base, validate_username, NewUser, Profile, User, UserId};
