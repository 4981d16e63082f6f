//! latchkey's configuration: one typed [`Config`], built in layers and validated at start-up.
//!
//! Layers, later wins: the defaults, then an optional TOML file (the CLI's `--config FILE`, else
//! the `LATCHKEY_CONFIG` variable), then `LATCHKEY_*` environment variables with `__` between
//! nesting levels (`LATCHKEY_PROVIDERS__GOOGLE__CLIENT_ID`). Any variable may instead be given as
//! `<NAME>_FILE` naming a file that holds the value. The environment is passed in ([`Config::load`])
//! so tests need no process-global state; [`Config::from_process_env`] reads the real one.
//! Nothing here prints: warnings (unknown variables and keys) are returned in [`Loaded`].
//! `docs/CONFIG.md` lists every key.

mod error;
mod sources;
mod validate;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use latchkey_core::Secret;
use serde::Deserialize;

pub use error::ConfigError;

/// Whether this is a production deployment; `Production` refuses insecure settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Development,
    Production,
}

/// The whole, validated configuration. Its `Debug` shows no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `LATCHKEY_ENV`: `development` or `production`.
    pub env: Environment,
    /// `LATCHKEY_LISTEN`: the address the HTTP server binds.
    pub listen: SocketAddr,
    /// `LATCHKEY_DATA_DIR`: the embedded database and generated keys live here.
    pub data_dir: PathBuf,
    /// `LATCHKEY_DATABASE_URL`: `sqlite:` or `postgres://`; `None` means SQLite in `data_dir`,
    /// see [`Config::database_url`].
    pub database_url: Option<Secret>,
    /// `LATCHKEY_ISSUER`: the `iss` of latchkey's tokens.
    pub issuer: String,
    /// `LATCHKEY_AUDIENCE`: the `aud` of latchkey's tokens.
    pub audience: String,
    /// `LATCHKEY_ACCESS_TOKEN_LIFETIME`.
    pub access_token_lifetime: Duration,
    /// `LATCHKEY_REFRESH_TOKEN_LIFETIME`.
    pub refresh_token_lifetime: Duration,
    /// `LATCHKEY_REFRESH_REUSE_GRACE`: how long the previous refresh token still gets the same
    /// successor pair (concurrent refreshes) instead of revoking the session. Zero turns it off.
    pub refresh_reuse_grace: Duration,
    /// `LATCHKEY_CORS_ORIGINS`: browser origins allowed to call the API (`scheme://host[:port]`,
    /// or `*` alone in development).
    pub cors_origins: Vec<String>,
    /// `LATCHKEY_REDIRECT_URIS`: the allow-list for the `redirect_uri` of a code exchange.
    pub redirect_uris: Vec<String>,
    /// `LATCHKEY_SIGNING_KEY`: Ed25519 private key, PKCS#8 PEM. `None`: a key is generated into
    /// `data_dir` on first start.
    pub signing_key: Option<Secret>,
    /// `LATCHKEY_PROVIDER_TIMEOUT`: timeout of every outbound call to an identity provider.
    pub provider_timeout: Duration,
    /// `LATCHKEY_MAX_BODY_BYTES`: larger request bodies get `413`.
    pub max_body_bytes: usize,
    /// `LATCHKEY_USER_CACHE_TTL`: how long a "user active, session live" answer is reused by
    /// this process (`0s`: never). `None`: 1 s on SQLite (this process is the only writer, and
    /// it invalidates on its own writes), off on PostgreSQL (other nodes write too).
    pub user_cache_ttl: Option<Duration>,
    /// `LATCHKEY_LOG`: the tracing filter, e.g. `info` or `latchkey=debug,info`.
    pub log: String,
    /// `LATCHKEY_PROVIDERS__<NAME>__*`: identity providers by lowercase name (`google`, …).
    pub providers: BTreeMap<String, ProviderConfig>,
}

/// One identity provider, with its discovery URL and issuer already resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub client_id: String,
    pub client_secret: Secret,
    /// The OpenID discovery document. Defaults for `google`; required for any other provider.
    pub discovery_url: String,
    /// The `iss` the provider's ID tokens must carry. Defaults for `google`; required otherwise.
    pub issuer: String,
    /// Overrides the endpoint from the discovery document.
    pub token_url: Option<String>,
    /// Overrides the endpoint from the discovery document.
    pub jwks_url: Option<String>,
    /// Overrides the endpoint from the discovery document.
    pub userinfo_url: Option<String>,
    /// Overrides the endpoint from the discovery document.
    pub authorization_url: Option<String>,
    /// Whether a verified e-mail from this provider may link to an existing user with that e-mail.
    pub link_verified_email: bool,
}

/// A loaded configuration and what the operator should be told about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// Unknown variables and keys, and production advice. Log them; nothing here printed them.
    pub warnings: Vec<String>,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8000)),
            data_dir: PathBuf::from("./latchkey-data"),
            database_url: None,
            issuer: "http://localhost:8000".to_owned(),
            audience: "latchkey".to_owned(),
            access_token_lifetime: Duration::from_secs(5 * 60),
            refresh_token_lifetime: Duration::from_secs(30 * 24 * 60 * 60),
            refresh_reuse_grace: Duration::from_secs(10),
            cors_origins: vec!["http://localhost:3000".to_owned()],
            redirect_uris: vec!["http://localhost:3000/login".to_owned()],
            signing_key: None,
            provider_timeout: Duration::from_secs(5),
            max_body_bytes: 64 * 1024,
            user_cache_ttl: None,
            log: "info".to_owned(),
            providers: BTreeMap::new(),
        }
    }
}

impl Config {
    /// Loads defaults, then the TOML file, then the `LATCHKEY_*` pairs of `env`, and validates.
    /// The file is `config_file` if given, else the one named by `LATCHKEY_CONFIG` in `env`.
    pub fn load<I, K, V>(config_file: Option<&Path>, env: I) -> Result<Loaded, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let env: BTreeMap<String, String> = env
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(k, _)| k.starts_with(sources::PREFIX))
            .collect();
        let config_file = config_file.map(Path::to_path_buf).or_else(|| {
            env.get(sources::CONFIG_VAR)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });

        let mut warnings = Vec::new();
        let mut figment = Figment::new();
        if let Some(path) = &config_file {
            figment = figment.merge(sources::file_layer(path, &mut warnings)?);
        }
        let env_layer = sources::env_layer(&env, &mut warnings)?;
        let raw: validate::RawConfig = figment
            .merge(&env_layer.layer)
            .extract_lossy()
            .map_err(|e| validate::from_figment(e, &env_layer.vars))?;
        let config = validate::validate(raw, &mut warnings)?;
        Ok(Loaded {
            config,
            warnings,
            config_file,
        })
    }

    /// [`Config::load`] with the process environment. A `LATCHKEY_*` variable whose value is not
    /// UTF-8 is an error; other variables are not looked at.
    pub fn from_process_env(config_file: Option<&Path>) -> Result<Loaded, ConfigError> {
        let mut env = Vec::new();
        for (name, value) in std::env::vars_os() {
            let Some(name) = name.to_str().filter(|n| n.starts_with(sources::PREFIX)) else {
                continue;
            };
            let value = value.into_string().map_err(|_| ConfigError::Invalid {
                key: name.to_owned(),
                message: "is not valid UTF-8".to_owned(),
            })?;
            env.push((name.to_owned(), value));
        }
        Self::load(config_file, env)
    }

    /// The database to use: `database_url` if set, else SQLite at `<data_dir>/latchkey.db`.
    pub fn database_url(&self) -> Secret {
        self.database_url.clone().unwrap_or_else(|| {
            Secret::new(format!(
                "sqlite://{}",
                self.data_dir.join("latchkey.db").display()
            ))
        })
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }
}

/// A commented config file listing every key with its default and meaning
/// (what `latchkey print-config` prints). Loading it gives [`Config::default`].
pub fn example_toml() -> &'static str {
    include_str!("example.toml")
}

#[cfg(test)]
mod tests;
