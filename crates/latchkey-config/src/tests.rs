use std::io::Write;

use super::*;

fn load(env: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
    Config::load(None, env.iter().copied())
}

fn load_file(toml: &str, env: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
    let file = temp_file(toml);
    Config::load(Some(file.path()), env.iter().copied())
}

fn temp_file(content: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(content.as_bytes()).unwrap();
    file
}

fn error(result: Result<Loaded, ConfigError>) -> String {
    result.unwrap_err().to_string()
}

const GOOGLE: [(&str, &str); 2] = [
    ("LATCHKEY_PROVIDERS__GOOGLE__CLIENT_ID", "id-123"),
    ("LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRET", "s3cret"),
];

#[test]
fn nothing_set_gives_the_defaults() {
    let loaded = load(&[]).unwrap();
    let config = loaded.config;

    assert_eq!(config, Config::default());
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.config_file, None);
    assert_eq!(config.env, Environment::Development);
    assert_eq!(config.listen.to_string(), "127.0.0.1:8000");
    assert_eq!(config.data_dir, PathBuf::from("./latchkey-data"));
    assert_eq!(
        config.database_url().expose(),
        "sqlite://./latchkey-data/latchkey.db"
    );
    assert_eq!(config.issuer, "http://localhost:8000");
    assert_eq!(config.audience, "latchkey");
    assert_eq!(config.access_token_lifetime, Duration::from_secs(300));
    assert_eq!(
        config.refresh_token_lifetime,
        Duration::from_secs(30 * 86400)
    );
    assert_eq!(config.refresh_reuse_grace, Duration::from_secs(10));
    assert_eq!(config.cors_origins, ["http://localhost:3000"]);
    assert_eq!(config.redirect_uris, ["http://localhost:3000/login"]);
    assert_eq!(config.signing_key, None);
    assert_eq!(config.provider_timeout, Duration::from_secs(5));
    assert_eq!(config.max_body_bytes, 65536);
    assert_eq!(config.log, "info");
    assert!(config.providers.is_empty());
}

#[test]
fn database_url_defaults_into_the_data_dir() {
    let config = load(&[("LATCHKEY_DATA_DIR", "/var/lib/latchkey")])
        .unwrap()
        .config;
    assert_eq!(
        config.database_url().expose(),
        "sqlite:///var/lib/latchkey/latchkey.db"
    );

    let config = load(&[("LATCHKEY_DATABASE_URL", "postgres://u:p@db/latchkey")])
        .unwrap()
        .config;
    assert_eq!(config.database_url().expose(), "postgres://u:p@db/latchkey");
}

#[test]
fn the_file_overrides_the_defaults() {
    let toml = r#"
        listen = "0.0.0.0:9000"
        access_token_lifetime = "15m"
        cors_origins = ["https://app.example.com", "https://admin.example.com"]
        max_body_bytes = 1024

        [providers.Google]
        client_id = "from-file"
        client_secret = "file-secret"
        link_verified_email = false
    "#;
    let config = load_file(toml, &[]).unwrap().config;

    assert_eq!(config.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(config.access_token_lifetime, Duration::from_secs(900));
    assert_eq!(
        config.cors_origins,
        ["https://app.example.com", "https://admin.example.com"]
    );
    assert_eq!(config.max_body_bytes, 1024);
    assert_eq!(config.audience, "latchkey", "untouched keys keep defaults");
    let google = &config.providers["google"];
    assert_eq!(google.client_id, "from-file");
    assert_eq!(google.client_secret.expose(), "file-secret");
    assert!(!google.link_verified_email);
}

#[test]
fn the_environment_overrides_the_file() {
    let toml = r#"
        listen = "0.0.0.0:9000"
        audience = "from-file"
        [providers.google]
        client_id = "from-file"
        client_secret = "file-secret"
    "#;
    let env = [
        ("LATCHKEY_LISTEN", "127.0.0.1:7000"),
        ("LATCHKEY_PROVIDERS__GOOGLE__CLIENT_ID", "from-env"),
    ];
    let config = load_file(toml, &env).unwrap().config;

    assert_eq!(config.listen.to_string(), "127.0.0.1:7000");
    assert_eq!(config.audience, "from-file");
    let google = &config.providers["google"];
    assert_eq!(google.client_id, "from-env");
    assert_eq!(
        google.client_secret.expose(),
        "file-secret",
        "tables merge key by key"
    );
}

#[test]
fn the_file_comes_from_the_argument_else_latchkey_config() {
    let from_var = temp_file(r#"audience = "from-var""#);
    let from_arg = temp_file(r#"audience = "from-arg""#);
    let var = from_var.path().to_str().unwrap();
    let env = [("LATCHKEY_CONFIG", var)];

    let loaded = Config::load(None, env).unwrap();
    assert_eq!(loaded.config.audience, "from-var");
    assert_eq!(loaded.config_file.as_deref(), Some(from_var.path()));
    assert!(loaded.warnings.is_empty(), "LATCHKEY_CONFIG is not a key");

    let loaded = Config::load(Some(from_arg.path()), env).unwrap();
    assert_eq!(loaded.config.audience, "from-arg");
}

#[test]
fn a_missing_or_broken_file_is_an_error() {
    let missing = Config::load(
        Some(Path::new("/nonexistent/latchkey.toml")),
        Vec::<(String, String)>::new(),
    );
    assert!(matches!(missing, Err(ConfigError::ReadConfigFile { .. })));

    let message = error(load_file(
        "audience = \"ok\"\nclient_secret = \"hunter2",
        &[],
    ));
    assert!(message.contains("line 2"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn nested_provider_variables_build_providers() {
    let env = [
        GOOGLE[0],
        GOOGLE[1],
        ("LATCHKEY_PROVIDERS__GOOGLE__LINK_VERIFIED_EMAIL", "false"),
        ("LATCHKEY_PROVIDERS__OKTA__CLIENT_ID", "okta-id"),
        ("LATCHKEY_PROVIDERS__OKTA__CLIENT_SECRET", "okta-secret"),
        (
            "LATCHKEY_PROVIDERS__OKTA__DISCOVERY_URL",
            "https://example.okta.com/.well-known/openid-configuration",
        ),
        (
            "LATCHKEY_PROVIDERS__OKTA__ISSUER",
            "https://example.okta.com",
        ),
        (
            "LATCHKEY_PROVIDERS__OKTA__TOKEN_URL",
            "https://example.okta.com/token",
        ),
    ];
    let config = load(&env).unwrap().config;

    let google = &config.providers["google"];
    assert_eq!(google.client_id, "id-123");
    assert_eq!(google.client_secret.expose(), "s3cret");
    assert_eq!(
        google.discovery_url,
        "https://accounts.google.com/.well-known/openid-configuration"
    );
    assert_eq!(google.issuer, "https://accounts.google.com");
    assert_eq!(google.token_url, None);
    assert!(!google.link_verified_email);

    let okta = &config.providers["okta"];
    assert_eq!(okta.issuer, "https://example.okta.com");
    assert_eq!(
        okta.token_url.as_deref(),
        Some("https://example.okta.com/token")
    );
    assert!(okta.link_verified_email, "defaults to true");
}

#[test]
fn a_google_stand_in_keeps_googles_issuer() {
    let env = [
        GOOGLE[0],
        GOOGLE[1],
        (
            "LATCHKEY_PROVIDERS__GOOGLE__DISCOVERY_URL",
            "http://127.0.0.1:9999/.well-known/openid-configuration",
        ),
    ];
    let google = load(&env).unwrap().config.providers["google"].clone();

    assert_eq!(
        google.discovery_url,
        "http://127.0.0.1:9999/.well-known/openid-configuration"
    );
    assert_eq!(google.issuer, "https://accounts.google.com");
}

#[test]
fn provider_requirements_name_the_variable() {
    let message = error(load(&[("LATCHKEY_PROVIDERS__GOOGLE__CLIENT_ID", "id")]));
    assert!(
        message.contains("LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRET"),
        "{message}"
    );

    let message = error(load(&[("LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRET", "s")]));
    assert!(
        message.contains("LATCHKEY_PROVIDERS__GOOGLE__CLIENT_ID"),
        "{message}"
    );

    let okta = [
        ("LATCHKEY_PROVIDERS__OKTA__CLIENT_ID", "id"),
        ("LATCHKEY_PROVIDERS__OKTA__CLIENT_SECRET", "s"),
    ];
    let message = error(load(&okta));
    assert!(
        message.contains("LATCHKEY_PROVIDERS__OKTA__DISCOVERY_URL"),
        "{message}"
    );

    let with_discovery = [
        okta[0],
        okta[1],
        (
            "LATCHKEY_PROVIDERS__OKTA__DISCOVERY_URL",
            "https://okta.example/.well-known/openid-configuration",
        ),
    ];
    let message = error(load(&with_discovery));
    assert!(
        message.contains("LATCHKEY_PROVIDERS__OKTA__ISSUER"),
        "{message}"
    );

    let message = error(load(&[
        GOOGLE[0],
        GOOGLE[1],
        ("LATCHKEY_PROVIDERS__GOOGLE__JWKS_URL", "/certs"),
    ]));
    assert!(
        message.contains("LATCHKEY_PROVIDERS__GOOGLE__JWKS_URL"),
        "{message}"
    );
}

#[test]
fn lists_are_comma_separated_in_the_environment() {
    let env = [
        (
            "LATCHKEY_CORS_ORIGINS",
            " https://a.example , ,https://b.example:8443,",
        ),
        ("LATCHKEY_REDIRECT_URIS", "https://a.example/login"),
    ];
    let config = load(&env).unwrap().config;
    assert_eq!(
        config.cors_origins,
        ["https://a.example", "https://b.example:8443"]
    );
    assert_eq!(config.redirect_uris, ["https://a.example/login"]);

    let config = load(&[("LATCHKEY_CORS_ORIGINS", "")]).unwrap().config;
    assert!(config.cors_origins.is_empty(), "empty means none");

    let toml = r#"
        cors_origins = "https://a.example, https://b.example"
        redirect_uris = [" https://a.example/cb ", ""]
    "#;
    let config = load_file(toml, &[]).unwrap().config;
    assert_eq!(
        config.cors_origins,
        ["https://a.example", "https://b.example"]
    );
    assert_eq!(config.redirect_uris, ["https://a.example/cb"]);
}

#[test]
fn durations_are_humantime() {
    let env = [
        ("LATCHKEY_ACCESS_TOKEN_LIFETIME", "2s"),
        ("LATCHKEY_REFRESH_TOKEN_LIFETIME", "1h 30m"),
        ("LATCHKEY_REFRESH_REUSE_GRACE", "0s"),
        ("LATCHKEY_PROVIDER_TIMEOUT", "500ms"),
        ("LATCHKEY_USER_CACHE_TTL", "0s"),
    ];
    let config = load(&env).unwrap().config;
    assert_eq!(config.user_cache_ttl, Some(Duration::ZERO));
    assert_eq!(load(&[]).unwrap().config.user_cache_ttl, None);
    assert_eq!(config.access_token_lifetime, Duration::from_secs(2));
    assert_eq!(config.refresh_token_lifetime, Duration::from_secs(5400));
    assert_eq!(config.refresh_reuse_grace, Duration::ZERO);
    assert_eq!(config.provider_timeout, Duration::from_millis(500));

    let message = error(load(&[("LATCHKEY_ACCESS_TOKEN_LIFETIME", "5 parsecs")]));
    assert!(
        message.starts_with("LATCHKEY_ACCESS_TOKEN_LIFETIME:"),
        "{message}"
    );
}

#[test]
fn file_variables_read_secrets_from_files() {
    let client_secret = temp_file("from-a-file\n");
    let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----";
    let signing_key = temp_file(&format!("{pem}\n"));
    let env = [
        GOOGLE[0],
        (
            "LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRET_FILE",
            client_secret.path().to_str().unwrap(),
        ),
        (
            "LATCHKEY_SIGNING_KEY_FILE",
            signing_key.path().to_str().unwrap(),
        ),
    ];
    let config = load(&env).unwrap().config;

    assert_eq!(
        config.providers["google"].client_secret.expose(),
        "from-a-file"
    );
    assert_eq!(config.signing_key.unwrap().expose(), pem);

    let missing = load(&[("LATCHKEY_SIGNING_KEY_FILE", "/nonexistent/key.pem")]);
    assert!(
        matches!(&missing, Err(ConfigError::ReadSecretFile { var, .. }) if var == "LATCHKEY_SIGNING_KEY_FILE"),
        "{missing:?}"
    );
}

#[test]
fn a_key_and_its_file_variable_together_are_an_error() {
    let secret = temp_file("x");
    let env = [
        GOOGLE[0],
        GOOGLE[1],
        (
            "LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRET_FILE",
            secret.path().to_str().unwrap(),
        ),
    ];
    let result = load(&env);
    assert!(
        matches!(
            &result,
            Err(ConfigError::Conflict { first, second })
                if first == "LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRET"
                && second == "LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRET_FILE"
        ),
        "{result:?}"
    );
}

#[test]
fn unknown_variables_and_keys_are_warnings() {
    let env = [
        ("LATCHKEY_LISTN", "0.0.0.0:1"),
        ("LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRT", "x"),
        ("LATCHKEY_FOO_FILE", "/nonexistent"),
        ("LATCHKEY_TEST_DATABASE_URL", "postgres://test"),
        ("LATCHKEY_CONFIG", ""),
        ("OTHER_VARIABLE", "x"),
    ];
    let loaded = load_file("audience = \"a\"\naudiense = \"b\"\n", &env).unwrap();

    assert_eq!(
        loaded.config,
        Config {
            audience: "a".to_owned(),
            ..Config::default()
        }
    );
    let warnings = loaded.warnings.join("\n");
    assert_eq!(loaded.warnings.len(), 4, "{warnings}");
    assert!(warnings.contains("unknown key audiense"), "{warnings}");
    assert!(warnings.contains("LATCHKEY_LISTN"), "{warnings}");
    assert!(
        warnings.contains("LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRT"),
        "{warnings}"
    );
    assert!(warnings.contains("LATCHKEY_FOO_FILE"), "{warnings}");
}

#[test]
fn validation_errors_name_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        ("LATCHKEY_LISTEN", "localhost", "LATCHKEY_LISTEN"),
        ("LATCHKEY_ENV", "prod", "LATCHKEY_ENV"),
        ("LATCHKEY_MAX_BODY_BYTES", "64k", "LATCHKEY_MAX_BODY_BYTES"),
        ("LATCHKEY_MAX_BODY_BYTES", "0", "LATCHKEY_MAX_BODY_BYTES"),
        (
            "LATCHKEY_ACCESS_TOKEN_LIFETIME",
            "0s",
            "LATCHKEY_ACCESS_TOKEN_LIFETIME",
        ),
        (
            "LATCHKEY_REFRESH_TOKEN_LIFETIME",
            "0s",
            "LATCHKEY_REFRESH_TOKEN_LIFETIME",
        ),
        (
            "LATCHKEY_PROVIDER_TIMEOUT",
            "0s",
            "LATCHKEY_PROVIDER_TIMEOUT",
        ),
        ("LATCHKEY_ISSUER", "localhost:8000", "LATCHKEY_ISSUER"),
        ("LATCHKEY_AUDIENCE", " ", "LATCHKEY_AUDIENCE"),
        (
            "LATCHKEY_CORS_ORIGINS",
            "https://app.example/",
            "LATCHKEY_CORS_ORIGINS",
        ),
        (
            "LATCHKEY_CORS_ORIGINS",
            "app.example",
            "LATCHKEY_CORS_ORIGINS",
        ),
        (
            "LATCHKEY_CORS_ORIGINS",
            "*,https://a.example",
            "LATCHKEY_CORS_ORIGINS",
        ),
        ("LATCHKEY_REDIRECT_URIS", "/login", "LATCHKEY_REDIRECT_URIS"),
        (
            "LATCHKEY_REDIRECT_URIS",
            "myapp://login",
            "LATCHKEY_REDIRECT_URIS",
        ),
        (
            "LATCHKEY_REDIRECT_URIS",
            "https://a.example/#x",
            "LATCHKEY_REDIRECT_URIS",
        ),
        ("LATCHKEY_SIGNING_KEY", "not a pem", "LATCHKEY_SIGNING_KEY"),
        (
            "LATCHKEY_DATABASE_URL",
            "mysql://x",
            "LATCHKEY_DATABASE_URL",
        ),
        ("LATCHKEY_DATA_DIR", "", "LATCHKEY_DATA_DIR"),
    ];
    for &(var, value, named) in cases {
        let result = load(&[(var, value)]);
        let Err(ConfigError::Invalid { key, message }) = &result else {
            panic!("{var}={value:?} gave {result:?}");
        };
        assert!(key.contains(named), "{var}={value:?}: {key}: {message}");
    }

    let message = error(load(&[("LATCHKEY_CORS_ORIGINS", "https://App.example/")]));
    assert!(
        message.contains("did you mean `https://app.example`"),
        "{message}"
    );

    let message = error(load_file("max_body_bytes = \"lots\"", &[]));
    assert!(
        message.starts_with("max_body_bytes in config file "),
        "{message}"
    );
}

#[test]
fn errors_do_not_quote_secrets() {
    let message = error(load_file(
        "[providers.google]\nclient_id = \"id\"\nclient_secret = 987654321\n",
        &[],
    ));
    assert!(
        message.contains("providers.google.client_secret"),
        "{message}"
    );
    assert!(!message.contains("987654321"), "{message}");

    let message = error(load(&[("LATCHKEY_DATABASE_URL", "mysql://u:hunter2@db")]));
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn empty_values_unset_optional_keys() {
    let env = [
        ("LATCHKEY_SIGNING_KEY", ""),
        ("LATCHKEY_DATABASE_URL", ""),
        GOOGLE[0],
        GOOGLE[1],
        ("LATCHKEY_PROVIDERS__GOOGLE__TOKEN_URL", ""),
    ];
    let config = load(&env).unwrap().config;
    assert_eq!(config.signing_key, None);
    assert_eq!(config.database_url, None);
    assert_eq!(config.providers["google"].token_url, None);
}

fn production(extra: &[(&'static str, &'static str)]) -> Result<Loaded, ConfigError> {
    let mut env = vec![
        ("LATCHKEY_ENV", "production"),
        ("LATCHKEY_ISSUER", "https://auth.example.com"),
        ("LATCHKEY_CORS_ORIGINS", "https://app.example.com"),
        ("LATCHKEY_REDIRECT_URIS", "https://app.example.com/login"),
        ("LATCHKEY_DATA_DIR", "/var/lib/latchkey"),
        GOOGLE[0],
        GOOGLE[1],
    ];
    env.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    env.extend_from_slice(extra);
    load(&env)
}

#[test]
fn production_accepts_a_secure_config() {
    let loaded = production(&[]).unwrap();
    assert!(loaded.config.is_production());
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn production_refuses_insecure_settings() {
    let cases: &[(&str, &str)] = &[
        ("LATCHKEY_ISSUER", "http://auth.example.com"),
        ("LATCHKEY_CORS_ORIGINS", "*"),
        ("LATCHKEY_CORS_ORIGINS", "http://app.example.com"),
        ("LATCHKEY_REDIRECT_URIS", "http://app.example.com/login"),
        ("LATCHKEY_REDIRECT_URIS", "http://localhost:3000/login"),
        (
            "LATCHKEY_PROVIDERS__GOOGLE__DISCOVERY_URL",
            "http://127.0.0.1:9999/.well-known/openid-configuration",
        ),
    ];
    for &(var, value) in cases {
        let result = production(&[(var, value)]);
        let Err(ConfigError::Insecure { key, .. }) = &result else {
            panic!("{var}={value:?} gave {result:?}");
        };
        assert!(key.contains(var), "{var}: {key}");
    }

    // The same settings are accepted in development.
    for &(var, value) in cases {
        let result = production(&[(var, value), ("LATCHKEY_ENV", "development")]);
        assert!(result.is_ok(), "{var}={value:?} gave {result:?}");
    }
}

#[test]
fn production_warns_when_nodes_would_generate_their_own_keys() {
    let loaded = production(&[
        ("LATCHKEY_DATABASE_URL", "postgres://u:p@db/latchkey"),
        ("LATCHKEY_DATA_DIR", "./data"),
    ])
    .unwrap();
    let warnings = loaded.warnings.join("\n");
    assert_eq!(loaded.warnings.len(), 2, "{warnings}");
    assert!(warnings.contains("LATCHKEY_SIGNING_KEY"), "{warnings}");
    assert!(warnings.contains("relative"), "{warnings}");

    let pem = "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----";
    let loaded = production(&[
        ("LATCHKEY_DATABASE_URL", "postgres://u:p@db/latchkey"),
        ("LATCHKEY_SIGNING_KEY", pem),
    ])
    .unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn debug_shows_no_secret() {
    let env = [
        GOOGLE[0],
        (
            "LATCHKEY_PROVIDERS__GOOGLE__CLIENT_SECRET",
            "client-hunter2",
        ),
        (
            "LATCHKEY_SIGNING_KEY",
            "-----BEGIN PRIVATE KEY-----\nKEYMATERIALhunter3\n-----END PRIVATE KEY-----",
        ),
        (
            "LATCHKEY_DATABASE_URL",
            "postgres://latchkey:dbhunter4@db.internal/latchkey",
        ),
    ];
    let loaded = load(&env).unwrap();
    let debug = format!("{loaded:?}");

    assert!(debug.contains("id-123"), "the Debug is not empty: {debug}");
    assert!(debug.contains("[redacted]"), "{debug}");
    for secret in [
        "hunter2",
        "hunter3",
        "KEYMATERIAL",
        "dbhunter4",
        "latchkey:",
    ] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }
}

#[test]
fn the_example_file_loads_as_the_defaults() {
    let loaded = load_file(example_toml(), &[]).unwrap();
    assert_eq!(loaded.config, Config::default());
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn the_example_file_mentions_every_key() {
    let example = example_toml();
    let keys = sources::TOP_KEYS.iter().filter(|k| **k != "providers");
    for key in keys.chain(sources::PROVIDER_KEYS) {
        let set = format!("\n{key} = ");
        let commented = format!("\n# {key} = ");
        assert!(
            example.contains(&set) || example.contains(&commented),
            "{key} is missing from example.toml"
        );
    }
    assert!(example.contains("[providers.google]"));
}

#[test]
fn the_example_provider_section_loads_when_uncommented() {
    let start = example_toml().find("# [providers.google]").unwrap();
    let section: String = example_toml()[start..]
        .lines()
        .map(|line| line.trim_start_matches("# "))
        .collect::<Vec<_>>()
        .join("\n");
    let config = load_file(&section, &[]).unwrap().config;
    let google = &config.providers["google"];
    assert_eq!(google.client_id, "1234-abc.apps.googleusercontent.com");
    assert_eq!(
        google.token_url.as_deref(),
        Some("https://oauth2.googleapis.com/token")
    );
}
