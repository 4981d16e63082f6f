//! Assembles the resource routers and the edge layers: CORS allow-list, body limit, tracing
//! with `Authorization`/`Cookie` redacted, and JSON answers for unknown paths and methods.

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::routes;
use crate::state::AppState;

/// latchkey's whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let settings = &state.inner.settings;
    let cors = cors(&settings.cors_origins);
    let body_limit = DefaultBodyLimit::max(settings.max_body_bytes);
    Router::new()
        .merge(routes::token::router())
        .merge(routes::user::router())
        .merge(routes::simplejwt::router())
        .merge(routes::logout::router())
        .merge(routes::sessions::router())
        .merge(routes::meta::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(body_limit)
        .layer(cors)
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .with_state(state)
}

fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("x-requested-with"),
        ])
        .max_age(std::time::Duration::from_secs(86_400))
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("Method \"{}\" not allowed.", request.method()),
    )
}
