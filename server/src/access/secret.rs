//! Making and checking secrets: API tokens and session ids (32 random bytes,
//! stored as SHA-256) and passwords (argon2id).

use super::Scope;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A token's or a session id's stored form. A fast hash is right here: the
/// secret is 256 random bits, so there is nothing to brute-force, and every
/// ingest request pays for the hash (Langfuse moved from bcrypt to SHA-256
/// for the same reason).
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// 32 random bytes from the OS, base64url without padding (43 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The prefix a token of `scope` starts with, so a person (or a secret
/// scanner) can tell an ingest token from an admin one at a glance.
pub fn prefix(scope: Scope) -> &'static str {
    match scope {
        Scope::Ingest => "tvi_",
        Scope::Read => "tvr_",
        Scope::Admin => "tva_",
    }
}

/// A new token of `scope`: the secret, shown once, and its display form
/// (prefix and first six characters), the only part kept in clear.
pub fn new_token(scope: Scope) -> (String, String) {
    let token = format!("{}{}", prefix(scope), random_secret());
    let display = display_of(&token);
    (token, display)
}

/// How a token is named in lists and logs: `tvi_Q3xk9a…`.
pub fn display_of(token: &str) -> String {
    let shown: String = token.chars().take(10).collect();
    format!("{shown}…")
}

/// Whether `text` has the shape of a token this server makes (prefix and
/// 43 base64url characters); anything else is refused without a lookup.
pub fn looks_like_token(text: &str) -> bool {
    let Some(rest) = ["tvi_", "tvr_", "tva_"].iter().find_map(|p| text.strip_prefix(p)) else {
        return false;
    };
    rest.len() == 43
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A password's stored form: argon2id with a random salt and the crate's
/// default cost (19 MiB, 2 passes), the OWASP recommendation.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

/// A hash no password matches in practice, checked when the name is
/// unknown so that answer takes as long as a wrong password.
pub static DUMMY_PASSWORD_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&random_secret()).expect("hashing a random password works"));

/// Whether `password` matches a stored hash (constant-time in the crate).
pub fn verify_password(password: &str, stored: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(stored).is_ok_and(|hash| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_their_scope_and_are_never_the_same_twice() {
        let (a, display) = new_token(Scope::Ingest);
        let (b, _) = new_token(Scope::Ingest);
        assert_ne!(a, b);
        assert!(a.starts_with("tvi_") && looks_like_token(&a), "{a}");
        assert!(display.starts_with("tvi_") && a.starts_with(display.trim_end_matches('…')));
        assert!(new_token(Scope::Admin).0.starts_with("tva_"));
        assert!(!looks_like_token(
            "tvx_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        ));
        assert!(!looks_like_token(&a[..a.len() - 1]));
    }

    #[test]
    fn a_password_matches_its_hash_and_nothing_else() {
        let stored = hash_password("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify_password("correct horse", &stored));
        assert!(!verify_password("correct hors", &stored));
        assert!(!verify_password("correct horse", "not a hash"));
    }
}
