//! `CachedStore`: every write through it that could end a session or change a user is seen at
//! once; writes by another process are seen after at most the TTL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use latchkey_core::{
    NewSession, Profile, RevokeScope, SignIn, SignInOutcome, Store, User, UserPatch,
};
use latchkey_store::CachedStore;

const T0: i64 = 1_700_000_000;
const LONG_TTL: i64 = 3_600;

struct Fixture {
    cached: CachedStore,
    /// The same database through another connection pool: "another process".
    other: Arc<dyn Store>,
    user: User,
    sid: String,
    _dir: tempfile::TempDir,
}

async fn fixture(ttl: i64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
    let inner = latchkey_store::connect_and_migrate(&url).await.unwrap();
    let other = latchkey_store::connect(&url).await.unwrap();
    let cached = CachedStore::new(inner, ttl);
    let sign_in = SignIn {
        provider: "google".into(),
        profile: Profile {
            subject: "1".into(),
            email: Some("ann@example.com".into()),
            email_verified: true,
            ..Profile::default()
        },
        link_verified_email: true,
        session: NewSession {
            id: "s1".into(),
            created_at: T0,
            expires_at: T0 + 86_400,
            user_agent: String::new(),
            ip: String::new(),
        },
    };
    let SignInOutcome::SignedIn { user, session, .. } = cached.sign_in(sign_in).await.unwrap()
    else {
        panic!("sign-in failed")
    };
    Fixture {
        cached,
        other,
        user,
        sid: session.id,
        _dir: dir,
    }
}

async fn live(f: &Fixture, now: i64) -> Option<(User, bool)> {
    f.cached
        .user_and_session(f.user.pk, &f.sid, now)
        .await
        .unwrap()
}

#[tokio::test]
async fn revocation_through_the_cache_is_seen_at_once() {
    let f = fixture(LONG_TTL).await;
    assert!(live(&f, T0).await.unwrap().1);
    f.cached
        .revoke_sessions(f.user.pk, &f.sid, RevokeScope::Local, "logout", T0)
        .await
        .unwrap();
    assert!(!live(&f, T0).await.unwrap().1);
}

#[tokio::test]
async fn reuse_detection_through_the_cache_is_seen_at_once() {
    let f = fixture(LONG_TTL).await;
    f.cached.refresh(&f.sid, 1, T0, 10, 86_400).await.unwrap();
    assert!(live(&f, T0 + 20).await.unwrap().1);
    // The old generation again, after the grace window: reuse, the session is revoked.
    let outcome = f
        .cached
        .refresh(&f.sid, 1, T0 + 20, 10, 86_400)
        .await
        .unwrap();
    assert!(matches!(outcome, latchkey_core::RefreshOutcome::Reused));
    assert!(!live(&f, T0 + 20).await.unwrap().1);
}

#[tokio::test]
async fn user_changes_through_the_cache_are_seen_at_once() {
    let f = fixture(LONG_TTL).await;
    assert_eq!(live(&f, T0).await.unwrap().0.username, "ann");
    let patch = UserPatch {
        username: Some("annie".into()),
        ..UserPatch::default()
    };
    f.cached.update_user(f.user.pk, patch).await.unwrap();
    assert_eq!(live(&f, T0).await.unwrap().0.username, "annie");

    f.cached.set_user_active(f.user.pk, false).await.unwrap();
    assert!(!live(&f, T0).await.unwrap().0.is_active);

    f.cached.delete_user(f.user.pk).await.unwrap();
    assert!(live(&f, T0).await.is_none());
}

#[tokio::test]
async fn writes_by_another_process_are_seen_after_the_ttl() {
    let f = fixture(2).await;
    assert!(live(&f, T0).await.unwrap().1);
    f.other
        .revoke_sessions(f.user.pk, &f.sid, RevokeScope::Local, "admin", T0)
        .await
        .unwrap();
    // Within the TTL the cache may still say live (the documented bound)…
    assert!(live(&f, T0 + 1).await.unwrap().1);
    // …and after it, never.
    assert!(!live(&f, T0 + 2).await.unwrap().1);
}

#[tokio::test]
async fn a_ttl_of_one_second_never_outlives_the_second_it_was_read_in() {
    let f = fixture(1).await;
    assert!(live(&f, T0).await.unwrap().1);
    f.other
        .revoke_sessions(f.user.pk, &f.sid, RevokeScope::Local, "admin", T0)
        .await
        .unwrap();
    assert!(!live(&f, T0 + 1).await.unwrap().1);
}

#[tokio::test]
async fn negative_answers_are_not_remembered() {
    let f = fixture(LONG_TTL).await;
    f.other.set_user_active(f.user.pk, false).await.unwrap();
    assert!(!live(&f, T0).await.unwrap().0.is_active);
    f.other.set_user_active(f.user.pk, true).await.unwrap();
    assert!(live(&f, T0).await.unwrap().0.is_active);
}
