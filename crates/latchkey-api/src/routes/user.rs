//! `GET/PUT/PATCH /auth/user/`: the signed-in user (dj-rest-auth's `UserDetailsView`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use latchkey_core::{validate_username, StoreError, User, UserPatch};

use crate::body::{BodyError, Params};
use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::routes::both_slashes;
use crate::state::AppState;

pub(crate) fn router() -> Router<AppState> {
    both_slashes("/auth/user/", get(show).put(replace).patch(update))
}

async fn show(auth: AuthUser) -> Json<User> {
    Json(auth.user)
}

async fn replace(
    state: State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<User>, ApiError> {
    change(state, auth, headers, body, true).await
}

async fn update(
    state: State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<User>, ApiError> {
    change(state, auth, headers, body, false).await
}

const NAME_MAX: usize = 150;

async fn change(
    State(state): State<AppState>,
    auth: AuthUser,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    username_required: bool,
) -> Result<Json<User>, ApiError> {
    let limit = state.inner.settings.max_body_bytes;
    let body = body.map_err(|r| body_error(&BodyError::from_rejection(&r, limit)))?;
    let params = Params::parse(&headers, &body).map_err(|e| body_error(&e))?;
    params
        .require_strings(&["username", "first_name", "last_name"])
        .map_err(|e| body_error(&e))?;
    let patch = read_patch(&params, username_required).map_err(ApiError::invalid_fields)?;
    match state.store().update_user(auth.user.pk, patch).await {
        Ok(user) => Ok(Json(user)),
        Err(StoreError::Conflict("username_taken")) => Err(ApiError::invalid_fields(vec![(
            "username",
            "A user with that username already exists.".into(),
        )])),
        Err(e) => Err(ApiError::store(&e)),
    }
}

fn body_error(err: &BodyError) -> ApiError {
    ApiError::new(err.status(), "parse_error", err.to_string())
}

/// The editable fields; `email` and `pk` are read-only and ignored, like unknown fields.
fn read_patch(
    params: &Params,
    username_required: bool,
) -> Result<UserPatch, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let username = params.raw("username").map(str::to_owned);
    match &username {
        None if username_required => errors.push(("username", "This field is required.".into())),
        Some(name) => {
            if let Err(message) = validate_username(name) {
                errors.push(("username", message.into()));
            }
        }
        None => {}
    }
    for field in ["first_name", "last_name"] {
        if params
            .raw(field)
            .is_some_and(|v| v.chars().count() > NAME_MAX)
        {
            errors.push((
                field,
                "Ensure this field has no more than 150 characters.".into(),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(UserPatch {
        username,
        first_name: params.raw("first_name").map(str::to_owned),
        last_name: params.raw("last_name").map(str::to_owned),
    })
}
