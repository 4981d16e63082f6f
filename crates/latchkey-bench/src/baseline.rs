//! The baseline: the least an axum server on the same runtime as latchkey can do per request.
//! Every method and path reads the request body and answers 200 with a fixed JSON body about the
//! size of latchkey's `/auth/user/` answer. Runs as its own process (`latchkey-bench baseline`)
//! so that it is measured like latchkey: its own CPU time and RSS, the same loopback hop.

use std::net::SocketAddr;

use anyhow::Context as _;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Router;

/// The fixed answer.
pub(crate) const BODY: &str = r#"{"pk":1,"username":"baseline","email":"baseline@example.com","first_name":"Base","last_name":"Line","picture":""}"#;

async fn answer(body: Bytes) -> impl IntoResponse {
    // Read (and ignore) the body, as latchkey reads its forms.
    drop(body);
    ([(header::CONTENT_TYPE, "application/json")], BODY)
}

/// Serves until killed. latchkey's `main` uses `Runtime::new()` (one worker per core); so does
/// this.
pub(crate) fn serve(listen: SocketAddr) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let app = Router::new().fallback(answer);
        axum::serve(listener, app).await.context("serving")
    })
}
