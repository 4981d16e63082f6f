//! `bench_support::seed`: seeded rows are the rows sign-in writes. One story, run against SQLite
//! (a fresh temporary file) and, when `LATCHKEY_TEST_DATABASE_URL` names a server, PostgreSQL
//! (a schema of its own, dropped after).

// Clippy's test allowances cover `#[test]` functions only, not the story and fixture functions
// an integration test is made of.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use latchkey_core::{NewSession, Profile, RefreshOutcome, SignIn, SignInOutcome};
use latchkey_store::bench_support::{seed, SeedPerson, SeedPlan, SeedReport};
use sqlx::{PgPool, SqlitePool};

const T0: i64 = 1_700_000_000;
const LIFETIME: i64 = 30 * 24 * 3600;

fn person(n: u64) -> SeedPerson {
    SeedPerson {
        username: format!("seed{n}"),
        email: format!("seed{n}@bench.example"),
        subject: format!("sub-{n}"),
        first_name: "Seed".into(),
        last_name: format!("Number {n}"),
    }
}

fn plan(first: u64, users: u64, sessions_per_user: u32) -> SeedPlan<'static> {
    SeedPlan {
        provider: "google",
        first,
        users,
        sessions_per_user,
        now: T0,
        session_lifetime: LIFETIME,
        person: &person,
    }
}

fn sign_in(subject: &str, email: &str, session: &str, now: i64) -> SignIn {
    SignIn {
        provider: "google".into(),
        profile: Profile {
            subject: subject.into(),
            email: Some(email.into()),
            email_verified: true,
            first_name: Some("Someone".into()),
            last_name: None,
            picture: None,
        },
        link_verified_email: true,
        session: NewSession {
            id: session.into(),
            created_at: now,
            expires_at: now + LIFETIME,
            user_agent: String::new(),
            ip: String::new(),
        },
    }
}

enum Raw {
    Sqlite(SqlitePool),
    Postgres(PgPool, String),
}

impl Raw {
    async fn counts(&self) -> (i64, i64, i64) {
        let mut counts = Vec::new();
        for table in ["users", "identities", "sessions"] {
            let n: i64 = match self {
                Self::Sqlite(pool) => sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                    .fetch_one(pool)
                    .await
                    .unwrap(),
                Self::Postgres(pool, schema) => {
                    sqlx::query_scalar(&format!("SELECT count(*) FROM {schema}.{table}"))
                        .fetch_one(pool)
                        .await
                        .unwrap()
                }
            };
            counts.push(n);
        }
        (counts[0], counts[1], counts[2])
    }
}

/// The story: ids continue after a deleted user, seeded people sign in to their seeded user,
/// seeded sessions are live and rotate, and sign-ins after seeding get fresh ids.
async fn story(url: &str, raw: &Raw) {
    let store = latchkey_store::connect_and_migrate(url).await.unwrap();

    // A user that existed and was deleted: its id must never come back.
    let SignInOutcome::SignedIn { user: gone, .. } = store
        .sign_in(sign_in("g-gone", "gone@example.com", "s-gone", T0))
        .await
        .unwrap()
    else {
        panic!("first sign-in");
    };
    store.delete_user(gone.pk).await.unwrap();

    let report = seed(url, &plan(0, 2_500, 2)).await.unwrap();
    let (first_id, last_id) = report.user_ids.unwrap();
    assert_eq!(
        report,
        SeedReport {
            users: 2_500,
            sessions: 5_000,
            user_ids: Some((first_id, last_id)),
        }
    );
    assert!(first_id > gone.pk, "{first_id} after {}", gone.pk);
    assert!(last_id >= first_id + 2_499);
    assert_eq!(raw.counts().await, (2_500, 2_500, 5_000));

    // Person 1234 signs in again through the provider: their seeded user, not a new one.
    let seeded = person(1_234);
    let outcome = store
        .sign_in(sign_in(&seeded.subject, &seeded.email, "s-again", T0 + 10))
        .await
        .unwrap();
    let SignInOutcome::SignedIn {
        user, created_user, ..
    } = outcome
    else {
        panic!("seeded person could not sign in: {outcome:?}");
    };
    assert!(!created_user);
    assert_eq!(user.username, "seed1234");
    assert_eq!(user.email, "seed1234@bench.example");
    assert_eq!(user.last_name, "Number 1234");
    assert!(user.is_active);

    // Their two seeded sessions and the new one are live; a seeded one rotates.
    let live = store.live_sessions(user.pk, T0 + 20).await.unwrap();
    assert_eq!(live.len(), 3);
    let seeded_session = live.iter().find(|s| s.id != "s-again").unwrap();
    assert_eq!(seeded_session.id.len(), 32);
    assert_eq!(seeded_session.generation, 1);
    assert_eq!(seeded_session.expires_at, T0 + LIFETIME);
    let (_, live_now) = store
        .user_and_session(user.pk, &seeded_session.id, T0 + 20)
        .await
        .unwrap()
        .unwrap();
    assert!(live_now);
    let refreshed = store
        .refresh(&seeded_session.id, 1, T0 + 30, 10, LIFETIME)
        .await
        .unwrap();
    assert!(
        matches!(refreshed, RefreshOutcome::Rotated { ref session, .. } if session.generation == 2),
        "{refreshed:?}"
    );

    // A newcomer after seeding gets a fresh id; their e-mail's username base is free.
    let SignInOutcome::SignedIn {
        user: newcomer,
        created_user: true,
        ..
    } = store
        .sign_in(sign_in("g-new", "newcomer@example.com", "s-new", T0 + 40))
        .await
        .unwrap()
    else {
        panic!("newcomer");
    };
    assert!(newcomer.pk > last_id);

    // Seeding again (in parts) continues after every id handed out.
    let more = seed(url, &plan(2_500, 10, 1)).await.unwrap();
    let (again_first, _) = more.user_ids.unwrap();
    assert!(again_first > newcomer.pk);
    assert_eq!(raw.counts().await, (2_511, 2_511, 5_012));
}

#[tokio::test]
async fn seeded_rows_are_sign_in_rows_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
    latchkey_store::migrate(&url).await.unwrap();
    let raw = Raw::Sqlite(SqlitePool::connect(&url).await.unwrap());
    story(&url, &raw).await;
}

#[tokio::test]
async fn seeded_rows_are_sign_in_rows_on_postgres() {
    let Ok(base) = std::env::var("LATCHKEY_TEST_DATABASE_URL") else {
        eprintln!("LATCHKEY_TEST_DATABASE_URL unset: PostgreSQL half skipped");
        return;
    };
    let pool = PgPool::connect(&base).await.unwrap();
    let schema = format!("latchkey_seed_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
    let raw = Raw::Postgres(pool.clone(), schema.clone());
    story(&url, &raw).await;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unsupported_url_is_refused() {
    let err = seed("mysql://root:hunter2@h/db", &plan(0, 1, 1))
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}
