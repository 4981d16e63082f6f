//! From the merged layers to a [`Config`]: the raw shape serde fills, then every check, the
//! production checks last.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use latchkey_core::Secret;
use serde::Deserialize;

use crate::sources::{is_secret, key_name, ENV_LAYER};
use crate::{Config, ConfigError, Environment, ProviderConfig};

const GOOGLE_DISCOVERY_URL: &str = "https://accounts.google.com/.well-known/openid-configuration";
const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// The merged layers as serde reads them: defaults for every missing key, provider keys optional
/// so that a missing one gets an error naming its variable.
#[derive(Deserialize)]
#[serde(default)]
pub(crate) struct RawConfig {
    env: Environment,
    listen: String,
    data_dir: PathBuf,
    database_url: Option<Secret>,
    issuer: String,
    audience: String,
    #[serde(with = "humantime_serde")]
    access_token_lifetime: Duration,
    #[serde(with = "humantime_serde")]
    refresh_token_lifetime: Duration,
    #[serde(with = "humantime_serde")]
    refresh_reuse_grace: Duration,
    #[serde(deserialize_with = "list")]
    cors_origins: Vec<String>,
    #[serde(deserialize_with = "list")]
    redirect_uris: Vec<String>,
    signing_key: Option<Secret>,
    #[serde(with = "humantime_serde")]
    provider_timeout: Duration,
    max_body_bytes: usize,
    #[serde(with = "humantime_serde::option")]
    user_cache_ttl: Option<Duration>,
    log: String,
    providers: BTreeMap<String, RawProvider>,
}

impl Default for RawConfig {
    fn default() -> Self {
        let d = Config::default();
        Self {
            env: d.env,
            listen: d.listen.to_string(),
            data_dir: d.data_dir,
            database_url: d.database_url,
            issuer: d.issuer,
            audience: d.audience,
            access_token_lifetime: d.access_token_lifetime,
            refresh_token_lifetime: d.refresh_token_lifetime,
            refresh_reuse_grace: d.refresh_reuse_grace,
            cors_origins: d.cors_origins,
            redirect_uris: d.redirect_uris,
            signing_key: d.signing_key,
            provider_timeout: d.provider_timeout,
            max_body_bytes: d.max_body_bytes,
            user_cache_ttl: d.user_cache_ttl,
            log: d.log,
            providers: BTreeMap::new(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawProvider {
    client_id: Option<String>,
    client_secret: Option<Secret>,
    discovery_url: Option<String>,
    issuer: Option<String>,
    token_url: Option<String>,
    jwks_url: Option<String>,
    userinfo_url: Option<String>,
    authorization_url: Option<String>,
    link_verified_email: Option<bool>,
}

/// A list given as an array, or as one comma-separated string (the only way in the environment).
/// Items are trimmed; empty items are dropped.
fn list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct ListVisitor;

    impl<'de> serde::de::Visitor<'de> for ListVisitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a comma-separated string or an array of strings")
        }

        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
            Ok(clean(value.split(',')))
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                items.push(item);
            }
            Ok(clean(items.iter().map(String::as_str)))
        }
    }

    fn clean<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
        items
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    deserializer.deserialize_any(ListVisitor)
}

/// `None` for an absent or blank value (`VAR=` in a compose file means "not set").
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// Turns a deserialisation error into one naming the variable (if the value came from the
/// environment) or the file key, without quoting secret values.
pub(crate) fn from_figment(
    error: figment::Error,
    env_vars: &BTreeMap<Vec<String>, String>,
) -> ConfigError {
    use figment::error::Kind;

    let figment::Error {
        path,
        metadata,
        kind,
        ..
    } = error;
    let key = match metadata.as_ref().map(|m| m.name.as_ref()) {
        Some(ENV_LAYER) => env_vars
            .get(&path)
            .cloned()
            .unwrap_or_else(|| key_name(&path)),
        Some(file) => format!("{} in {file}", path.join(".")),
        None => key_name(&path),
    };
    let message = match kind {
        Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) if is_secret(&path) => {
            format!("invalid value, expected {expected}")
        }
        kind => kind.to_string(),
    };
    ConfigError::Invalid { key, message }
}

fn invalid(path: &[&str], message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key_name(path),
        message: message.into(),
    }
}

fn insecure(path: &[&str], message: impl Into<String>) -> ConfigError {
    ConfigError::Insecure {
        key: key_name(path),
        message: message.into(),
    }
}

/// An absolute `http` or `https` URL with a host.
fn check_http_url(path: &[&str], value: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(value)
        .map_err(|e| invalid(path, format!("`{value}` is not an absolute URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(
            path,
            format!("`{value}` is not an http:// or https:// URL"),
        ));
    }
    Ok(url)
}

fn check_origin(path: &[&str], value: &str) -> Result<(), ConfigError> {
    let url = check_http_url(path, value)?;
    let origin = url.origin().ascii_serialization();
    if origin != value {
        return Err(invalid(
            path,
            format!(
                "`{value}` is not an origin (scheme://host[:port], no path, no trailing slash, \
                 no default port); did you mean `{origin}`?"
            ),
        ));
    }
    Ok(())
}

fn nonzero(path: &[&str], value: Duration) -> Result<(), ConfigError> {
    if value.is_zero() {
        return Err(invalid(path, "must be longer than zero"));
    }
    Ok(())
}

fn non_empty(secret: Option<Secret>) -> Option<Secret> {
    secret.filter(|s| !s.expose().is_empty())
}

pub(crate) fn validate(raw: RawConfig, warnings: &mut Vec<String>) -> Result<Config, ConfigError> {
    let production = raw.env == Environment::Production;

    let listen: SocketAddr = raw.listen.trim().parse().map_err(|_| {
        invalid(
            &["listen"],
            format!(
                "`{}` is not an IP address and port such as 127.0.0.1:8000 or [::]:8000",
                raw.listen
            ),
        )
    })?;

    if raw.data_dir.as_os_str().is_empty() {
        return Err(invalid(&["data_dir"], "must not be empty"));
    }
    let database_url = non_empty(raw.database_url);
    if let Some(url) = &database_url {
        let url = url.expose();
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if !known.iter().any(|scheme| url.starts_with(scheme)) {
            return Err(invalid(
                &["database_url"],
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
    }

    let issuer = check_http_url(&["issuer"], &raw.issuer)?;
    if production && issuer.scheme() != "https" {
        return Err(insecure(&["issuer"], "must be an https:// URL"));
    }
    if raw.audience.trim().is_empty() {
        return Err(invalid(&["audience"], "must not be empty"));
    }

    nonzero(&["access_token_lifetime"], raw.access_token_lifetime)?;
    nonzero(&["refresh_token_lifetime"], raw.refresh_token_lifetime)?;
    nonzero(&["provider_timeout"], raw.provider_timeout)?;
    if raw.max_body_bytes == 0 {
        return Err(invalid(&["max_body_bytes"], "must be more than zero"));
    }

    for origin in &raw.cors_origins {
        if origin == "*" {
            if raw.cors_origins.len() > 1 {
                return Err(invalid(
                    &["cors_origins"],
                    "`*` already allows every origin; give it alone or not at all",
                ));
            }
            if production {
                return Err(insecure(&["cors_origins"], "`*` allows every origin"));
            }
            continue;
        }
        check_origin(&["cors_origins"], origin)?;
        if production && !origin.starts_with("https://") {
            return Err(insecure(
                &["cors_origins"],
                format!("`{origin}` is not https://"),
            ));
        }
    }
    for uri in &raw.redirect_uris {
        let url = check_http_url(&["redirect_uris"], uri)?;
        if url.fragment().is_some() {
            return Err(invalid(
                &["redirect_uris"],
                format!("`{uri}` must not contain a #fragment"),
            ));
        }
        if production && url.scheme() != "https" {
            return Err(insecure(
                &["redirect_uris"],
                format!("`{uri}` is not https://"),
            ));
        }
    }

    let signing_key = non_empty(raw.signing_key);
    if let Some(key) = &signing_key {
        if !key.expose().trim_start().starts_with("-----BEGIN ") {
            return Err(invalid(
                &["signing_key"],
                "is not a PEM (expected -----BEGIN PRIVATE KEY-----; \
                 in an environment variable keep the real line breaks, or use LATCHKEY_SIGNING_KEY_FILE)",
            ));
        }
    }

    let mut providers = BTreeMap::new();
    for (name, raw_provider) in raw.providers {
        let provider = validate_provider(&name, raw_provider, production)?;
        providers.insert(name, provider);
    }

    if production && signing_key.is_none() {
        if database_url
            .as_ref()
            .is_some_and(|url| url.expose().starts_with("postgres"))
        {
            warnings.push(
                "no signing key is configured: each node generates its own into its data \
                 directory, so with several nodes tokens from one fail on the others; \
                 set LATCHKEY_SIGNING_KEY or LATCHKEY_SIGNING_KEY_FILE"
                    .to_owned(),
            );
        }
        if raw.data_dir.is_relative() {
            warnings.push(format!(
                "no signing key is configured and data_dir `{}` is relative: the generated key \
                 depends on the working directory; use an absolute LATCHKEY_DATA_DIR",
                raw.data_dir.display()
            ));
        }
    }

    Ok(Config {
        env: raw.env,
        listen,
        data_dir: raw.data_dir,
        database_url,
        issuer: raw.issuer,
        audience: raw.audience,
        access_token_lifetime: raw.access_token_lifetime,
        refresh_token_lifetime: raw.refresh_token_lifetime,
        refresh_reuse_grace: raw.refresh_reuse_grace,
        cors_origins: raw.cors_origins,
        redirect_uris: raw.redirect_uris,
        signing_key,
        provider_timeout: raw.provider_timeout,
        max_body_bytes: raw.max_body_bytes,
        user_cache_ttl: raw.user_cache_ttl,
        log: raw.log,
        providers,
    })
}

fn validate_provider(
    name: &str,
    raw: RawProvider,
    production: bool,
) -> Result<ProviderConfig, ConfigError> {
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid_name {
        return Err(invalid(
            &["providers", name],
            "a provider name may contain only a-z, 0-9, `_` and `-`",
        ));
    }
    let required = |key: &str, value: Option<String>, why: &str| {
        given(value).ok_or_else(|| invalid(&["providers", name, key], format!("is required{why}")))
    };
    let google = name == "google";
    let client_id = required("client_id", raw.client_id, "")?;
    let client_secret = required(
        "client_secret",
        raw.client_secret.map(|s| s.expose().to_owned()),
        "",
    )?;
    let discovery_url = required(
        "discovery_url",
        given(raw.discovery_url).or_else(|| google.then(|| GOOGLE_DISCOVERY_URL.to_owned())),
        " for a provider other than google",
    )?;
    let issuer = required(
        "issuer",
        given(raw.issuer).or_else(|| google.then(|| GOOGLE_ISSUER.to_owned())),
        " for a provider other than google",
    )?;

    let token_url = given(raw.token_url);
    let jwks_url = given(raw.jwks_url);
    let userinfo_url = given(raw.userinfo_url);
    let authorization_url = given(raw.authorization_url);
    let urls = [
        ("discovery_url", Some(&discovery_url)),
        ("issuer", Some(&issuer)),
        ("token_url", token_url.as_ref()),
        ("jwks_url", jwks_url.as_ref()),
        ("userinfo_url", userinfo_url.as_ref()),
        ("authorization_url", authorization_url.as_ref()),
    ];
    for (key, value) in urls {
        let Some(value) = value else { continue };
        let url = check_http_url(&["providers", name, key], value)?;
        if production && url.scheme() != "https" {
            return Err(insecure(
                &["providers", name, key],
                format!("`{value}` is not https://"),
            ));
        }
    }

    Ok(ProviderConfig {
        client_id,
        client_secret: Secret::new(client_secret),
        discovery_url,
        issuer,
        token_url,
        jwks_url,
        userinfo_url,
        authorization_url,
        link_verified_email: raw.link_verified_email.unwrap_or(true),
    })
}
