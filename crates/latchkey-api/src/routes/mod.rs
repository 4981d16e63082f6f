//! One module per resource; each exports `router()`.

pub(crate) mod logout;
pub(crate) mod meta;
pub(crate) mod sessions;
pub(crate) mod simplejwt;
pub(crate) mod token;
pub(crate) mod user;

use axum::routing::MethodRouter;
use axum::Router;

use crate::state::AppState;

/// Routes `path` (which ends in `/`) and the same path without the trailing slash.
pub(crate) fn both_slashes(path: &str, route: MethodRouter<AppState>) -> Router<AppState> {
    let bare = path.trim_end_matches('/');
    Router::new().route(path, route.clone()).route(bare, route)
}
