//! The two layers above the defaults: the TOML file and the `LATCHKEY_*` environment, each turned
//! into a figment dictionary, plus the names of the keys and of their variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::value::{Dict, Map, Tag, Value};
use figment::{Metadata, Profile, Provider};

use crate::ConfigError;

pub(crate) const PREFIX: &str = "LATCHKEY_";
/// The variable that names the config file; not a key.
pub(crate) const CONFIG_VAR: &str = "LATCHKEY_CONFIG";
const FILE_SUFFIX: &str = "_FILE";

/// Every top-level key. `providers` holds one table per provider.
pub(crate) const TOP_KEYS: &[&str] = &[
    "env",
    "listen",
    "data_dir",
    "database_url",
    "issuer",
    "audience",
    "access_token_lifetime",
    "refresh_token_lifetime",
    "refresh_reuse_grace",
    "cors_origins",
    "redirect_uris",
    "signing_key",
    "provider_timeout",
    "max_body_bytes",
    "user_cache_ttl",
    "log",
    "providers",
];

/// Every key of a `providers.<name>` table.
pub(crate) const PROVIDER_KEYS: &[&str] = &[
    "client_id",
    "client_secret",
    "discovery_url",
    "issuer",
    "token_url",
    "jwks_url",
    "userinfo_url",
    "authorization_url",
    "link_verified_email",
];

/// Keys whose values are secrets: errors about them never quote the value.
const SECRET_KEYS: &[&str] = &["client_secret", "signing_key", "database_url"];

/// Whether `path` (lowercase) is a key that sets a value.
fn is_known(path: &[String]) -> bool {
    match path {
        [key] => key != "providers" && TOP_KEYS.contains(&key.as_str()),
        [providers, name, key] => {
            providers == "providers" && !name.is_empty() && PROVIDER_KEYS.contains(&key.as_str())
        }
        _ => false,
    }
}

pub(crate) fn is_secret(path: &[String]) -> bool {
    path.last()
        .is_some_and(|key| SECRET_KEYS.contains(&key.as_str()))
}

/// `["providers", "google", "client_id"]` → `LATCHKEY_PROVIDERS__GOOGLE__CLIENT_ID`.
pub(crate) fn env_var<S: AsRef<str>>(path: &[S]) -> String {
    let joined: Vec<String> = path.iter().map(|p| p.as_ref().to_uppercase()).collect();
    format!("{PREFIX}{}", joined.join("__"))
}

/// How errors name a key: `providers.google.client_id (LATCHKEY_PROVIDERS__GOOGLE__CLIENT_ID)`.
pub(crate) fn key_name<S: AsRef<str>>(path: &[S]) -> String {
    let dotted: Vec<&str> = path.iter().map(AsRef::as_ref).collect();
    format!("{} ({})", dotted.join("."), env_var(path))
}

/// One layer of configuration values with a name that errors can report.
pub(crate) struct Layer {
    pub(crate) name: String,
    pub(crate) dict: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Map::from([(Profile::Default, self.dict.clone())]))
    }
}

pub(crate) const ENV_LAYER: &str = "environment";

/// The environment layer and, for each key it sets, the variable that set it (for error messages).
pub(crate) struct EnvLayer {
    pub(crate) layer: Layer,
    pub(crate) vars: BTreeMap<Vec<String>, String>,
}

/// Builds the environment layer from `LATCHKEY_*` pairs. Unknown variables become warnings;
/// `LATCHKEY_CONFIG` and `LATCHKEY_TEST_*` are skipped; `*_FILE` variables are read.
pub(crate) fn env_layer(
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<EnvLayer, ConfigError> {
    let mut dict = Dict::new();
    let mut vars: BTreeMap<Vec<String>, String> = BTreeMap::new();
    for (name, value) in env {
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        if name == CONFIG_VAR || rest.starts_with("TEST_") {
            continue;
        }
        let file_path = rest
            .strip_suffix(FILE_SUFFIX)
            .map(split_key)
            .filter(|path| is_known(path));
        let (path, value) = match file_path {
            Some(path) => (path, read_secret_file(name, value)?),
            None => (split_key(rest), value.clone()),
        };
        if !is_known(&path) {
            warnings.push(format!("unknown environment variable {name} is ignored"));
            continue;
        }
        if let Some(first) = vars.get(&path) {
            return Err(ConfigError::Conflict {
                first: first.clone(),
                second: name.clone(),
            });
        }
        insert(&mut dict, &path, Value::from(value));
        vars.insert(path, name.clone());
    }
    Ok(EnvLayer {
        layer: Layer {
            name: ENV_LAYER.to_owned(),
            dict,
        },
        vars,
    })
}

fn split_key(key: &str) -> Vec<String> {
    key.split("__").map(str::to_ascii_lowercase).collect()
}

fn read_secret_file(var: &str, path: &str) -> Result<String, ConfigError> {
    let content = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadSecretFile {
        var: var.to_owned(),
        path: PathBuf::from(path),
        source,
    })?;
    Ok(content.trim_end_matches(['\n', '\r']).to_owned())
}

fn insert(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [key] => {
            dict.insert(key.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::Dict(Tag::Default, Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

/// Reads and parses the TOML file. Provider names are lowercased; unknown keys become warnings.
pub(crate) fn file_layer(path: &Path, warnings: &mut Vec<String>) -> Result<Layer, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadConfigFile {
        path: path.to_owned(),
        source,
    })?;
    let mut dict: Dict = toml::from_str(&text).map_err(|e| ConfigError::ConfigFileSyntax {
        path: path.to_owned(),
        message: describe_toml_error(&e, &text),
    })?;
    for (key, value) in &mut dict {
        if key == "providers" {
            if let Value::Dict(_, providers) = value {
                *providers = std::mem::take(providers)
                    .into_iter()
                    .map(|(name, table)| (name.to_lowercase(), table))
                    .collect();
                for (name, table) in providers.iter() {
                    let Value::Dict(_, table) = table else {
                        continue;
                    };
                    for key in table.keys() {
                        if !PROVIDER_KEYS.contains(&key.as_str()) {
                            warnings.push(format!(
                                "unknown key providers.{name}.{key} in config file {} is ignored",
                                path.display()
                            ));
                        }
                    }
                }
            }
        } else if !TOP_KEYS.contains(&key.as_str()) {
            warnings.push(format!(
                "unknown key {key} in config file {} is ignored",
                path.display()
            ));
        }
    }
    Ok(Layer {
        name: format!("config file {}", path.display()),
        dict,
    })
}

/// Line, column and cause, without quoting the line (it might hold a secret).
fn describe_toml_error(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().trim();
    match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_owned(),
    }
}
