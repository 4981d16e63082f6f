//! Where the signing key comes from: the configured PEM, else a key generated on first start
//! into `<data dir>/keys/ed25519.pem` (mode 0600) and read from there afterwards.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use latchkey_core::Secret;
use latchkey_tokens::KeyRing;

const KEY_FILE: &str = "keys/ed25519.pem";

/// The signing key ring for this configuration.
pub fn load_or_generate(signing_key: Option<&Secret>, data_dir: &Path) -> anyhow::Result<KeyRing> {
    if let Some(pem) = signing_key {
        return KeyRing::from_pem(pem.expose()).context("LATCHKEY_SIGNING_KEY");
    }
    let path = data_dir.join(KEY_FILE);
    if path.exists() {
        let pem = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the signing key {}", path.display()))?;
        return KeyRing::from_pem(&pem).with_context(|| format!("signing key {}", path.display()));
    }
    let (ring, pem) = KeyRing::generate().context("generating a signing key")?;
    write_private(&path, pem.as_bytes())
        .with_context(|| format!("writing the signing key {}", path.display()))?;
    tracing::info!(path = %path.display(), kid = ring.signing_kid(), "generated a signing key");
    Ok(ring)
}

/// Writes a file readable only by its owner, atomically (temporary file, then rename), so a
/// crash never leaves half a key behind.
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("pem.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_generate(None, dir.path()).unwrap();
        let second = load_or_generate(None, dir.path()).unwrap();
        assert_eq!(first.signing_kid(), second.signing_kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_configured_key_wins_and_bad_pem_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let (ring, pem) = KeyRing::generate().unwrap();
        let loaded = load_or_generate(Some(&Secret::new(pem)), dir.path()).unwrap();
        assert_eq!(loaded.signing_kid(), ring.signing_kid());
        assert!(!dir.path().join(KEY_FILE).exists());
        let err = load_or_generate(Some(&Secret::new("nope")), dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("LATCHKEY_SIGNING_KEY"));
    }
}
