//! What can go wrong while loading the configuration. Every message names the variable or key
//! to fix, and none of them repeats the value of a secret.

use std::path::PathBuf;

/// A configuration that cannot be loaded. Start-up stops and prints it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    ReadConfigFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The config file is not valid TOML. `message` gives line, column and cause, not the line.
    #[error("config file {} is not valid TOML: {message}", path.display())]
    ConfigFileSyntax { path: PathBuf, message: String },

    /// A `*_FILE` variable names a file that cannot be read.
    #[error("cannot read {var} ({}): {source}", path.display())]
    ReadSecretFile {
        var: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Two variables set the same key, e.g. `LATCHKEY_SIGNING_KEY` and `LATCHKEY_SIGNING_KEY_FILE`.
    #[error("{first} and {second} set the same key; set only one of them")]
    Conflict { first: String, second: String },

    /// A value that does not parse or is out of range. `key` names the variable and the file key.
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },

    /// A setting that is acceptable in development but refused when `LATCHKEY_ENV=production`.
    #[error("{key}: {message} (refused because LATCHKEY_ENV=production)")]
    Insecure { key: String, message: String },
}
