//! The `Store` contract: stories written once against `Arc<dyn Store>` and run against every
//! backend. SQLite (a fresh temporary file per test) always runs; PostgreSQL runs when
//! `LATCHKEY_TEST_DATABASE_URL` names a server (each test gets its own schema, dropped after).

// Clippy's test allowances cover `#[test]` functions only, not the story and fixture functions
// an integration test is made of.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::join_all;
use latchkey_core::{
    NewSession, Profile, RefreshOutcome, RevokeScope, Session, SignIn, SignInOutcome, Store,
    StoreError, User, UserPatch,
};
use sqlx::{PgPool, SqlitePool};

const LIFETIME: i64 = 30 * 24 * 3600;
const GRACE: i64 = 30;
const T0: i64 = 1_700_000_000;

// ---------------------------------------------------------------------------------------------
// Harness

/// A migrated store on a database of its own, plus a side connection to look at the tables.
struct TestDb {
    store: Arc<dyn Store>,
    url: String,
    raw: Raw,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl TestDb {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
        let store = latchkey_store::connect_and_migrate(&url).await.unwrap();
        let raw = SqlitePool::connect(&url).await.unwrap();
        Self {
            store,
            url,
            raw: Raw::Sqlite(raw),
            schema: None,
            _dir: Some(dir),
        }
    }

    /// The same database behind a `CachedStore` (entries good for one second).
    fn cached(mut self) -> Self {
        self.store = Arc::new(latchkey_store::CachedStore::new(self.store, 1));
        self
    }

    async fn postgres() -> Option<Self> {
        let base = std::env::var("LATCHKEY_TEST_DATABASE_URL").ok()?;
        let raw = PgPool::connect(&base).await.unwrap();
        let schema = format!("latchkey_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&raw)
            .await
            .unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
        let store = latchkey_store::connect_and_migrate(&url).await.unwrap();
        Some(Self {
            store,
            url,
            raw: Raw::Postgres(raw),
            schema: Some(schema),
            _dir: None,
        })
    }

    async fn count(&self, table: &str) -> i64 {
        match &self.raw {
            Raw::Sqlite(pool) => sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(pool)
                .await
                .unwrap(),
            Raw::Postgres(pool) => {
                let schema = self.schema.as_deref().unwrap();
                sqlx::query_scalar(&format!("SELECT count(*) FROM {schema}.{table}"))
                    .fetch_one(pool)
                    .await
                    .unwrap()
            }
        }
    }

    /// (users, identities, sessions)
    async fn counts(&self) -> (i64, i64, i64) {
        (
            self.count("users").await,
            self.count("identities").await,
            self.count("sessions").await,
        )
    }

    async fn finish(self) {
        match (&self.raw, &self.schema) {
            (Raw::Postgres(pool), Some(schema)) => {
                sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                    .execute(pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
            (Raw::Sqlite(pool), _) => pool.close().await,
            _ => {}
        }
    }
}

/// Runs each story once per backend: `sqlite::<story>` and `postgres::<story>`.
macro_rules! contract {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $story() {
                    let db = super::TestDb::sqlite().await;
                    super::$story(&db).await;
                    db.finish().await;
                }
            )*
        }

        /// SQLite behind the cache the server puts in front of it: the cache must not change
        /// any answer.
        mod cached_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $story() {
                    let db = super::TestDb::sqlite().await.cached();
                    super::$story(&db).await;
                    db.finish().await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $story() {
                    let Some(db) = super::TestDb::postgres().await else {
                        eprintln!("LATCHKEY_TEST_DATABASE_URL is not set: skipping");
                        return;
                    };
                    super::$story(&db).await;
                    db.finish().await;
                }
            )*
        }
    };
}

contract!(
    a_first_sign_in_creates_the_user_and_the_next_reuses_it,
    usernames_are_unique_case_insensitively,
    an_e_mail_links_only_when_verified_and_allowed,
    an_account_made_with_an_unverified_e_mail_is_never_linked,
    inactive_users_cannot_sign_in,
    refresh_follows_the_rotation_rule,
    refresh_refuses_expired_unknown_and_inactive,
    concurrent_refreshes_rotate_exactly_once,
    many_sessions_refreshing_at_once_rotate_independently,
    concurrent_first_sign_ins_agree_on_one_user,
    user_and_session_checks_owner_and_liveness,
    updating_a_user_respects_username_uniqueness,
    revoke_scopes_stay_within_the_user,
    deleting_a_user_deletes_their_identities_and_sessions,
    migrating_again_changes_nothing,
);

// ---------------------------------------------------------------------------------------------
// Fixtures

fn profile(subject: &str, email: &str, verified: bool) -> Profile {
    Profile {
        subject: subject.into(),
        email: Some(email.into()).filter(|e: &String| !e.is_empty()),
        email_verified: verified,
        first_name: Some("Ann".into()),
        last_name: Some("Lee".into()),
        picture: Some("https://example.com/ann.png".into()),
    }
}

fn sign_in_request(provider: &str, profile: Profile, link: bool, now: i64) -> SignIn {
    SignIn {
        provider: provider.into(),
        profile,
        link_verified_email: link,
        session: NewSession {
            id: uuid::Uuid::new_v4().simple().to_string(),
            created_at: now,
            expires_at: now + LIFETIME,
            user_agent: "test-agent".into(),
            ip: "192.0.2.1".into(),
        },
    }
}

/// Signs in and expects success.
async fn signed_in(store: &dyn Store, request: SignIn) -> (User, Session, bool) {
    match store.sign_in(request).await.unwrap() {
        SignInOutcome::SignedIn {
            user,
            session,
            created_user,
        } => (user, session, created_user),
        other => panic!("expected SignedIn, got {other:?}"),
    }
}

/// A new user (Google, verified e-mail) with one session created at `now`.
async fn new_user(store: &dyn Store, subject: &str, email: &str, now: i64) -> (User, Session) {
    let request = sign_in_request("google", profile(subject, email, true), true, now);
    let (user, session, created) = signed_in(store, request).await;
    assert!(created);
    (user, session)
}

/// Another session for an existing Google identity.
async fn another_session(store: &dyn Store, subject: &str, email: &str, now: i64) -> Session {
    let request = sign_in_request("google", profile(subject, email, true), true, now);
    signed_in(store, request).await.1
}

// ---------------------------------------------------------------------------------------------
// Stories

async fn a_first_sign_in_creates_the_user_and_the_next_reuses_it(db: &TestDb) {
    let store = &*db.store;
    let request = sign_in_request("google", profile("g-1", "Ann@Example.com", true), true, T0);
    let session_id = request.session.id.clone();

    let (user, session, created) = signed_in(store, request).await;

    assert!(created);
    assert_eq!(user.username, "ann");
    assert_eq!(user.email, "Ann@Example.com");
    assert_eq!(user.first_name, "Ann");
    assert_eq!(user.last_name, "Lee");
    assert_eq!(user.picture, "https://example.com/ann.png");
    assert!(user.is_active);
    assert_eq!(
        session,
        Session {
            id: session_id.clone(),
            user_id: user.pk,
            generation: 1,
            rotated_at: T0,
            created_at: T0,
            last_used_at: T0,
            expires_at: T0 + LIFETIME,
            revoked_at: None,
            revoked_reason: None,
            user_agent: "test-agent".into(),
            ip: "192.0.2.1".into(),
        }
    );
    assert_eq!(store.session(&session_id).await.unwrap(), Some(session));
    assert_eq!(store.user(user.pk).await.unwrap(), Some(user.clone()));
    assert_eq!(db.counts().await, (1, 1, 1));

    let request = sign_in_request(
        "google",
        profile("g-1", "ann@example.com", true),
        true,
        T0 + 60,
    );
    let (again, second, created) = signed_in(store, request).await;

    assert!(!created);
    assert_eq!(again, user);
    assert_eq!(second.user_id, user.pk);
    assert_ne!(second.id, session_id);
    assert_eq!(db.counts().await, (1, 1, 2));
    let live = store.live_sessions(user.pk, T0 + 61).await.unwrap();
    let ids: Vec<_> = live.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [second.id.as_str(), session_id.as_str()],
        "newest first"
    );
}

async fn usernames_are_unique_case_insensitively(db: &TestDb) {
    let store = &*db.store;
    let (ann, _) = new_user(store, "a-1", "ann@one.example", T0).await;
    let (ann2, _) = new_user(store, "a-2", "ANN@two.example", T0).await;
    let (ann3, _) = new_user(store, "a-3", "Ann@three.example", T0).await;
    assert_eq!(
        [ann.username, ann2.username, ann3.username],
        ["ann", "ann2", "ann3"]
    );

    // A username chosen with capitals still blocks its lowercase form.
    let (bob, _) = new_user(store, "b-1", "bob@one.example", T0).await;
    store
        .update_user(
            bob.pk,
            UserPatch {
                username: Some("Zed".into()),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    let (zed, _) = new_user(store, "z-1", "zed@one.example", T0).await;
    assert_eq!(zed.username, "zed2");
    // The name freed by the rename is handed out again.
    let (bob2, _) = new_user(store, "b-2", "bob@two.example", T0).await;
    assert_eq!(bob2.username, "bob");

    // E-mails too are compared case-insensitively: same address, other case, other provider.
    let request = sign_in_request(
        "github",
        profile("gh-9", "ZED@ONE.EXAMPLE", false),
        true,
        T0,
    );
    assert!(matches!(
        store.sign_in(request).await.unwrap(),
        SignInOutcome::EmailTaken
    ));

    // Past the first batch of candidates.
    for n in 0..20 {
        new_user(store, &format!("c-{n}"), &format!("cat@{n}.example"), T0).await;
    }
    let (cat21, _) = new_user(store, "c-x", "cat@x.example", T0).await;
    assert_eq!(cat21.username, "cat21");

    // Users without an e-mail do not collide on it.
    let (_, _) = new_user(store, "n-1", "", T0).await;
    let (_, _) = new_user(store, "n-2", "", T0).await;
}

async fn an_e_mail_links_only_when_verified_and_allowed(db: &TestDb) {
    let store = &*db.store;
    let (ann, _) = new_user(store, "g-1", "Ann@Example.com", T0).await;
    let before = db.counts().await;

    // Unverified e-mail, provider may link: refused, nothing written.
    let unverified = sign_in_request(
        "github",
        profile("gh-1", "ann@example.com", false),
        true,
        T0,
    );
    assert!(matches!(
        store.sign_in(unverified).await.unwrap(),
        SignInOutcome::EmailTaken
    ));
    assert_eq!(db.counts().await, before);

    // Verified e-mail, provider may not link: refused, nothing written.
    let not_allowed = sign_in_request(
        "github",
        profile("gh-1", "ann@example.com", true),
        false,
        T0,
    );
    assert!(matches!(
        store.sign_in(not_allowed).await.unwrap(),
        SignInOutcome::EmailTaken
    ));
    assert_eq!(db.counts().await, before);

    // Verified and allowed: linked to the same user.
    let linking = sign_in_request("github", profile("gh-1", "ANN@example.com", true), true, T0);
    let (linked, session, created) = signed_in(store, linking).await;
    assert!(!created);
    assert_eq!(linked.pk, ann.pk);
    assert_eq!(session.user_id, ann.pk);
    assert_eq!(db.counts().await, (1, 2, 2));

    // From now on the GitHub identity signs in directly, whatever it says about the e-mail.
    let direct = sign_in_request(
        "github",
        profile("gh-1", "other@example.com", false),
        false,
        T0,
    );
    let (same, _, created) = signed_in(store, direct).await;
    assert!(!created);
    assert_eq!(same.pk, ann.pk);
    assert_eq!(db.counts().await, (1, 2, 3));
}

async fn an_account_made_with_an_unverified_e_mail_is_never_linked(db: &TestDb) {
    let store = &*db.store;
    // Someone signs up with the victim's address, unverified.
    let squatter = sign_in_request("other", profile("o-1", "vic@example.com", false), true, T0);
    let (squatted, _, created) = signed_in(store, squatter).await;
    assert!(created);
    let before = db.counts().await;

    // The victim then signs in with a verified address at a trusted provider: not linked
    // into the squatter's account.
    let victim = sign_in_request("google", profile("g-9", "vic@example.com", true), true, T0);
    assert!(matches!(
        store.sign_in(victim).await.unwrap(),
        SignInOutcome::EmailTaken
    ));
    assert_eq!(db.counts().await, before);
    assert!(store.user(squatted.pk).await.unwrap().is_some());
}

async fn inactive_users_cannot_sign_in(db: &TestDb) {
    let store = &*db.store;
    let (ann, _) = new_user(store, "g-1", "ann@example.com", T0).await;
    store.set_user_active(ann.pk, false).await.unwrap();
    assert!(!store.user(ann.pk).await.unwrap().unwrap().is_active);
    let before = db.counts().await;

    let again = sign_in_request("google", profile("g-1", "ann@example.com", true), true, T0);
    assert!(matches!(
        store.sign_in(again).await.unwrap(),
        SignInOutcome::Inactive
    ));
    let linking = sign_in_request("github", profile("gh-1", "ann@example.com", true), true, T0);
    assert!(matches!(
        store.sign_in(linking).await.unwrap(),
        SignInOutcome::Inactive
    ));
    assert_eq!(db.counts().await, before, "nothing written");

    assert!(matches!(
        store.set_user_active(ann.pk + 1000, false).await,
        Err(StoreError::NotFound)
    ));

    store.set_user_active(ann.pk, true).await.unwrap();
    let again = sign_in_request("google", profile("g-1", "ann@example.com", true), true, T0);
    signed_in(store, again).await;
}

async fn refresh_follows_the_rotation_rule(db: &TestDb) {
    let store = &*db.store;
    let (ann, session) = new_user(store, "g-1", "ann@example.com", T0).await;
    let id = session.id.as_str();

    // The current generation rotates, and the expiry slides.
    let t1 = T0 + 600;
    let RefreshOutcome::Rotated { user, session } =
        store.refresh(id, 1, t1, GRACE, LIFETIME).await.unwrap()
    else {
        panic!("expected Rotated");
    };
    assert_eq!(user, ann);
    assert_eq!(
        (session.generation, session.rotated_at, session.last_used_at),
        (2, t1, t1)
    );
    assert_eq!(session.expires_at, t1 + LIFETIME);
    assert_eq!(session.created_at, T0);

    // The previous generation inside the window: the same session, unchanged.
    let RefreshOutcome::Grace {
        session: graced, ..
    } = store
        .refresh(id, 1, t1 + GRACE - 1, GRACE, LIFETIME)
        .await
        .unwrap()
    else {
        panic!("expected Grace");
    };
    assert_eq!(graced, session);
    assert_eq!(store.session(id).await.unwrap(), Some(session));

    let t2 = t1 + 100;
    let RefreshOutcome::Rotated { session, .. } =
        store.refresh(id, 2, t2, GRACE, LIFETIME).await.unwrap()
    else {
        panic!("expected Rotated");
    };
    assert_eq!(session.generation, 3);

    // The previous generation after the window is reuse: the session is revoked.
    let t3 = t2 + GRACE;
    assert!(matches!(
        store.refresh(id, 2, t3, GRACE, LIFETIME).await.unwrap(),
        RefreshOutcome::Reused
    ));
    let revoked = store.session(id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(t3));
    assert_eq!(revoked.revoked_reason.as_deref(), Some("reuse"));
    assert_eq!(revoked.generation, 3);

    // Now even the current generation is refused.
    assert!(matches!(
        store.refresh(id, 3, t3 + 1, GRACE, LIFETIME).await.unwrap(),
        RefreshOutcome::Revoked
    ));

    // An older generation, even inside the window, is reuse.
    let other = another_session(store, "g-1", "ann@example.com", T0).await;
    let t4 = T0 + 10;
    store
        .refresh(&other.id, 1, t4, GRACE, LIFETIME)
        .await
        .unwrap();
    store
        .refresh(&other.id, 2, t4, GRACE, LIFETIME)
        .await
        .unwrap();
    assert!(matches!(
        store
            .refresh(&other.id, 1, t4, GRACE, LIFETIME)
            .await
            .unwrap(),
        RefreshOutcome::Reused
    ));
}

async fn refresh_refuses_expired_unknown_and_inactive(db: &TestDb) {
    let store = &*db.store;
    let (ann, session) = new_user(store, "g-1", "ann@example.com", T0).await;

    assert!(matches!(
        store
            .refresh(&session.id, 1, session.expires_at, GRACE, LIFETIME)
            .await
            .unwrap(),
        RefreshOutcome::Expired
    ));
    assert!(matches!(
        store
            .refresh("no-such-session", 1, T0, GRACE, LIFETIME)
            .await
            .unwrap(),
        RefreshOutcome::NotFound
    ));

    store.set_user_active(ann.pk, false).await.unwrap();
    assert!(matches!(
        store
            .refresh(&session.id, 1, T0 + 1, GRACE, LIFETIME)
            .await
            .unwrap(),
        RefreshOutcome::Inactive
    ));
    assert_eq!(
        store.session(&session.id).await.unwrap(),
        Some(session),
        "nothing changed"
    );
}

async fn concurrent_refreshes_rotate_exactly_once(db: &TestDb) {
    let (_, session) = new_user(&*db.store, "g-1", "ann@example.com", T0).await;

    for generation in 1..=5 {
        let now = T0 + generation * 10;
        let tasks = (0..8).map(|_| {
            let store = Arc::clone(&db.store);
            let id = session.id.clone();
            tokio::spawn(async move { store.refresh(&id, generation, now, GRACE, LIFETIME).await })
        });
        let mut rotated = 0;
        let mut graced = 0;
        for result in join_all(tasks).await {
            match result.unwrap() {
                Ok(RefreshOutcome::Rotated { session, .. }) => {
                    assert_eq!(session.generation, generation + 1);
                    rotated += 1;
                }
                Ok(RefreshOutcome::Grace { session, .. }) => {
                    assert_eq!(session.generation, generation + 1);
                    graced += 1;
                }
                other => panic!("round {generation}: unexpected {other:?}"),
            }
        }
        assert_eq!((rotated, graced), (1, 7), "round {generation}");
        let now_current = db.store.session(&session.id).await.unwrap().unwrap();
        assert_eq!(now_current.generation, generation + 1);
        assert_eq!(now_current.revoked_at, None);
    }
}

/// Refreshes of many sessions at once (the store applies the common ones in batches): each
/// session rotates exactly once whatever else is in flight, parallel refreshes with one token
/// get the grace answer, and a revoked or unknown session in the crowd changes nothing else.
async fn many_sessions_refreshing_at_once_rotate_independently(db: &TestDb) {
    let store = &db.store;
    let mut sessions = Vec::new();
    for i in 0..24 {
        let email = format!("person{i}@example.com");
        sessions.push(new_user(&**store, &format!("g-{i}"), &email, T0).await.1);
    }
    let revoked = &sessions[0];
    let user = store.session(&revoked.id).await.unwrap().unwrap().user_id;
    store
        .revoke_sessions(user, &revoked.id, RevokeScope::Local, "logout", T0)
        .await
        .unwrap();

    let now = T0 + 60;
    let mut tasks = Vec::new();
    for session in &sessions {
        for _ in 0..3 {
            let store = Arc::clone(store);
            let id = session.id.clone();
            tasks.push(tokio::spawn(async move {
                let outcome = store.refresh(&id, 1, now, GRACE, LIFETIME).await;
                (id, outcome)
            }));
        }
    }
    let store_for_unknown = Arc::clone(store);
    let unknown = tokio::spawn(async move {
        store_for_unknown
            .refresh("no-such-session", 1, now, GRACE, LIFETIME)
            .await
    });

    let mut rotated: HashMap<String, usize> = HashMap::new();
    let mut graced: HashMap<String, usize> = HashMap::new();
    for (id, outcome) in join_all(tasks).await.into_iter().map(Result::unwrap) {
        match outcome.unwrap() {
            RefreshOutcome::Rotated { session, .. } => {
                assert_eq!((&session.id, session.generation), (&id, 2));
                assert_eq!(session.rotated_at, now);
                *rotated.entry(id).or_default() += 1;
            }
            RefreshOutcome::Grace { session, .. } => {
                assert_eq!((&session.id, session.generation), (&id, 2));
                *graced.entry(id).or_default() += 1;
            }
            RefreshOutcome::Revoked => assert_eq!(id, revoked.id),
            other => panic!("{id}: unexpected {other:?}"),
        }
    }
    assert!(matches!(
        unknown.await.unwrap().unwrap(),
        RefreshOutcome::NotFound
    ));
    for session in &sessions[1..] {
        assert_eq!(rotated.get(&session.id), Some(&1), "{}", session.id);
        assert_eq!(graced.get(&session.id), Some(&2), "{}", session.id);
        let stored = store.session(&session.id).await.unwrap().unwrap();
        assert_eq!((stored.generation, stored.revoked_at), (2, None));
    }
    let still_revoked = store.session(&revoked.id).await.unwrap().unwrap();
    assert_eq!(still_revoked.generation, 1);
    assert_eq!(still_revoked.revoked_reason.as_deref(), Some("logout"));
}

async fn concurrent_first_sign_ins_agree_on_one_user(db: &TestDb) {
    // The same person, eight times at once (say, two tabs and a retry storm).
    let tasks = (0..8).map(|_| {
        let store = Arc::clone(&db.store);
        let request = sign_in_request("google", profile("g-1", "ann@example.com", true), true, T0);
        tokio::spawn(async move { store.sign_in(request).await })
    });
    let mut users = Vec::new();
    let mut created = 0;
    for result in join_all(tasks).await {
        match result.unwrap().unwrap() {
            SignInOutcome::SignedIn {
                user, created_user, ..
            } => {
                created += usize::from(created_user);
                users.push(user.pk);
            }
            other => panic!("expected SignedIn, got {other:?}"),
        }
    }
    assert_eq!(created, 1);
    users.dedup();
    assert_eq!(users.len(), 1);
    assert_eq!(db.counts().await, (1, 1, 8));

    // Eight different people with the same username base, at once.
    let tasks = (0..8).map(|n| {
        let store = Arc::clone(&db.store);
        let request = sign_in_request(
            "google",
            profile(&format!("j-{n}"), &format!("jo@{n}.example"), true),
            true,
            T0,
        );
        tokio::spawn(async move { store.sign_in(request).await })
    });
    let mut names = Vec::new();
    for result in join_all(tasks).await {
        match result.unwrap().unwrap() {
            SignInOutcome::SignedIn { user, .. } => names.push(user.username),
            other => panic!("expected SignedIn, got {other:?}"),
        }
    }
    names.sort();
    let mut expected: Vec<String> = ["jo".to_owned()]
        .into_iter()
        .chain((2..=8).map(|n| format!("jo{n}")))
        .collect();
    expected.sort();
    assert_eq!(names, expected);
}

async fn user_and_session_checks_owner_and_liveness(db: &TestDb) {
    let store = &*db.store;
    let (ann, session) = new_user(store, "g-1", "ann@example.com", T0).await;
    let (bob, bobs) = new_user(store, "g-2", "bob@example.com", T0).await;

    assert_eq!(
        store
            .user_and_session(ann.pk, &session.id, T0 + 1)
            .await
            .unwrap(),
        Some((ann.clone(), true))
    );
    // Someone else's session does not count.
    assert_eq!(
        store
            .user_and_session(ann.pk, &bobs.id, T0 + 1)
            .await
            .unwrap(),
        Some((ann.clone(), false))
    );
    assert_eq!(
        store
            .user_and_session(ann.pk, "no-such", T0 + 1)
            .await
            .unwrap(),
        Some((ann.clone(), false))
    );
    // Expired.
    assert_eq!(
        store
            .user_and_session(ann.pk, &session.id, session.expires_at)
            .await
            .unwrap(),
        Some((ann.clone(), false))
    );
    // No such user.
    assert_eq!(
        store
            .user_and_session(bob.pk + 1000, &session.id, T0 + 1)
            .await
            .unwrap(),
        None
    );
    // Revoked.
    let revoked = store
        .revoke_sessions(ann.pk, &session.id, RevokeScope::Local, "logout", T0 + 2)
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    assert_eq!(
        store
            .user_and_session(ann.pk, &session.id, T0 + 3)
            .await
            .unwrap(),
        Some((ann, false))
    );
    // An inactive user is returned as such; the caller decides.
    store.set_user_active(bob.pk, false).await.unwrap();
    let (user, live) = store
        .user_and_session(bob.pk, &bobs.id, T0 + 3)
        .await
        .unwrap()
        .unwrap();
    assert!(!user.is_active);
    assert!(live);
}

async fn updating_a_user_respects_username_uniqueness(db: &TestDb) {
    let store = &*db.store;
    let (ann, _) = new_user(store, "g-1", "ann@example.com", T0).await;
    let (bob, _) = new_user(store, "g-2", "bob@example.com", T0).await;

    let updated = store
        .update_user(
            ann.pk,
            UserPatch {
                first_name: Some("Annie".into()),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (
            updated.username.as_str(),
            updated.first_name.as_str(),
            updated.last_name.as_str()
        ),
        ("ann", "Annie", "Lee")
    );

    let taken = store
        .update_user(
            bob.pk,
            UserPatch {
                username: Some("ANN".into()),
                last_name: Some("Changed".into()),
                ..UserPatch::default()
            },
        )
        .await;
    assert!(
        matches!(taken, Err(StoreError::Conflict("username_taken"))),
        "{taken:?}"
    );
    assert_eq!(
        store.user(bob.pk).await.unwrap().unwrap().last_name,
        "Lee",
        "nothing changed"
    );

    // Changing the case of one's own username is no conflict.
    let recased = store
        .update_user(
            ann.pk,
            UserPatch {
                username: Some("Ann".into()),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(recased.username, "Ann");

    assert!(matches!(
        store.update_user(bob.pk + 1000, UserPatch::default()).await,
        Err(StoreError::NotFound)
    ));
}

async fn revoke_scopes_stay_within_the_user(db: &TestDb) {
    let store = &*db.store;
    let (ann, a) = new_user(store, "g-1", "ann@example.com", T0).await;
    let b = another_session(store, "g-1", "ann@example.com", T0 + 1).await;
    let c = another_session(store, "g-1", "ann@example.com", T0 + 2).await;
    let (bob, d) = new_user(store, "g-2", "bob@example.com", T0).await;
    let now = T0 + 10;
    let live_ids = |sessions: Vec<Session>| sessions.into_iter().map(|s| s.id).collect::<Vec<_>>();

    assert_eq!(
        live_ids(store.live_sessions(ann.pk, now).await.unwrap()),
        [c.id.as_str(), b.id.as_str(), a.id.as_str()]
    );

    // Nobody revokes another user's session by naming it.
    assert_eq!(
        store
            .revoke_sessions(ann.pk, &d.id, RevokeScope::Local, "logout", now)
            .await
            .unwrap(),
        0
    );

    // Local: just the one; a second time counts nothing.
    assert_eq!(
        store
            .revoke_sessions(ann.pk, &a.id, RevokeScope::Local, "logout", now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .revoke_sessions(ann.pk, &a.id, RevokeScope::Local, "logout", now)
            .await
            .unwrap(),
        0
    );
    let revoked = store.session(&a.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(now));
    assert_eq!(revoked.revoked_reason.as_deref(), Some("logout"));

    // Others: all but the one named (a is already revoked and not counted).
    assert_eq!(
        store
            .revoke_sessions(ann.pk, &b.id, RevokeScope::Others, "logout_others", now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        live_ids(store.live_sessions(ann.pk, now).await.unwrap()),
        [b.id.as_str()]
    );

    // Global: everything left.
    assert_eq!(
        store
            .revoke_sessions(ann.pk, &b.id, RevokeScope::Global, "logout_global", now)
            .await
            .unwrap(),
        1
    );
    assert!(store.live_sessions(ann.pk, now).await.unwrap().is_empty());

    // Bob was never touched.
    assert_eq!(
        live_ids(store.live_sessions(bob.pk, now).await.unwrap()),
        [d.id.as_str()]
    );
}

async fn deleting_a_user_deletes_their_identities_and_sessions(db: &TestDb) {
    let store = &*db.store;
    let (ann, a) = new_user(store, "g-1", "ann@example.com", T0).await;
    let linking = sign_in_request("github", profile("gh-1", "ann@example.com", true), true, T0);
    signed_in(store, linking).await;
    let (bob, _) = new_user(store, "g-2", "bob@example.com", T0).await;
    assert_eq!(db.counts().await, (2, 3, 3));

    store.delete_user(ann.pk).await.unwrap();

    assert_eq!(store.user(ann.pk).await.unwrap(), None);
    assert_eq!(store.session(&a.id).await.unwrap(), None);
    assert!(matches!(
        store
            .refresh(&a.id, 1, T0 + 1, GRACE, LIFETIME)
            .await
            .unwrap(),
        RefreshOutcome::NotFound
    ));
    assert_eq!(db.counts().await, (1, 1, 1));
    assert!(store.user(bob.pk).await.unwrap().is_some());
    assert!(matches!(
        store.delete_user(ann.pk).await,
        Err(StoreError::NotFound)
    ));

    // The same Google account signing in again is a new user with a new id.
    let (again, _) = new_user(store, "g-1", "ann@example.com", T0 + 5).await;
    assert_ne!(again.pk, ann.pk);
    assert_eq!(again.username, "ann");
}

async fn migrating_again_changes_nothing(db: &TestDb) {
    let (ann, _) = new_user(&*db.store, "g-1", "ann@example.com", T0).await;
    latchkey_store::migrate(&db.url).await.unwrap();
    latchkey_store::migrate(&db.url).await.unwrap();
    db.store.ping().await.unwrap();
    assert_eq!(db.store.user(ann.pk).await.unwrap(), Some(ann));
}
