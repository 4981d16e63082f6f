//! The HTML the dev identity provider shows: the "Sign in as …" page and the error page. Every
//! value written into the HTML goes through [`escape`].

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::authorize::{AuthRequest, APPROVE_PATH};

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f1f3f4;margin:0;display:flex;\
justify-content:center;align-items:flex-start;min-height:100vh}\
main{background:#fff;margin-top:8vh;padding:2rem 2.5rem;border-radius:8px;max-width:26rem;width:100%;\
box-shadow:0 1px 3px rgba(0,0,0,.2)}h1{font-size:1.4rem;font-weight:500;margin:0 0 .3rem}\
p{color:#5f6368;margin:.2rem 0 1rem;overflow-wrap:anywhere}label{display:block;margin:.8rem 0 .2rem}\
input[type=email],input[type=text]{width:100%;box-sizing:border-box;padding:.55rem;font-size:1rem;\
border:1px solid #dadce0;border-radius:4px}.check{display:flex;gap:.5rem;align-items:center}\
.actions{display:flex;justify-content:space-between;margin-top:1.5rem}button{font-size:.95rem;\
padding:.55rem 1.2rem;border-radius:4px;border:0;cursor:pointer}.primary{background:#1a73e8;color:#fff}\
.secondary{background:none;color:#1a73e8}.error{color:#d93025}.tag{font-size:.75rem;color:#80868b}";

/// The sign-in page for `request`, prefilled with `email` and `name`. With `problem`, the page
/// says what to fix and answers 400.
pub(crate) fn sign_in(
    request: &AuthRequest,
    email: &str,
    name: &str,
    problem: Option<&str>,
) -> Response {
    let hidden: String = request
        .hidden_fields()
        .iter()
        .map(|(key, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(key),
                escape(value)
            )
        })
        .collect();
    let heading = if email.is_empty() {
        "Sign in".to_owned()
    } else {
        format!("Sign in as {}", escape(email))
    };
    let problem = problem
        .map(|p| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(p)))
        .unwrap_or_default();
    let body = format!(
        "<h1>{heading}</h1>\
<p>to continue to <strong>{client}</strong> at {host}</p>{problem}\
<form method=\"post\" action=\"{APPROVE_PATH}\">{hidden}\
<label for=\"email\">E-mail</label>\
<input id=\"email\" type=\"email\" name=\"email\" value=\"{email}\" required autofocus>\
<label for=\"name\">Name</label>\
<input id=\"name\" type=\"text\" name=\"name\" value=\"{name}\" autocomplete=\"name\">\
<label class=\"check\"><input type=\"checkbox\" name=\"email_verified\" value=\"true\" checked> \
E-mail verified</label>\
<div class=\"actions\"><button class=\"secondary\" type=\"submit\" name=\"action\" value=\"deny\" \
formnovalidate>Cancel</button>\
<button class=\"primary\" type=\"submit\" name=\"action\" value=\"approve\">Continue</button></div>\
</form><p class=\"tag\">latchkey dev identity provider: a local stand-in for Google. \
Anyone can sign in as anyone.</p>",
        client = escape(&request.client_id),
        host = escape(request.redirect_uri.host_str().unwrap_or_default()),
        email = escape(email),
        name = escape(name),
    );
    let status = if problem.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    (status, document("Sign in", &body)).into_response()
}

/// A 400 page explaining what is wrong with the authorization request.
pub(crate) fn error(message: &str) -> Response {
    let body = format!(
        "<h1>Error 400: invalid_request</h1><p class=\"error\">{}</p>\
<p class=\"tag\">latchkey dev identity provider</p>",
        escape(message)
    );
    (StatusCode::BAD_REQUEST, document("Error", &body)).into_response()
}

fn document(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{title} – latchkey dev IdP</title><style>{STYLE}</style></head>\
<body><main>{body}</main></body></html>"
    ))
}

/// Escapes text for HTML element content and double- or single-quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
