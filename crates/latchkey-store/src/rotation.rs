//! Group commit for the common refresh.
//!
//! Almost every refresh presents the current generation of a live session, and its whole work
//! in the database is one compare-and-set ([`Queries::rotate_current`]). Run one by one, every
//! refresh takes the writer connection, hands its statement to the connection's thread, waits
//! for it and gives the connection back: on SQLite, with its single writer, those hand-offs
//! (not the statement) bound how many refreshes a node can answer, and cores sit idle while
//! refreshes queue.
//!
//! So a [`RotationQueue`] has one task that applies the rotations waiting at that moment
//! together: one connection, one statement ([`Queries::rotate_batch`]), one commit for all of
//! them. Nothing waits to fill a batch: a rotation arriving at an idle queue goes alone, and
//! the ones arriving while a statement runs form the next batch. Each rotation is the same
//! compare-and-set as alone, so the answers are the same as one by one in some order.
//!
//! A session appears at most once per statement. A second rotation of the same session in the
//! same batch (parallel refreshes with one token) is answered "not rotated", like the loser of
//! a race, and its caller reads and decides as for any refresh that is not the common case.

use latchkey_core::{Session, StoreError, UnixTime, User};
use sqlx::{Database, Pool};
use tokio::sync::{mpsc, oneshot};

use crate::queries::{Queries, ROTATION_BATCH};

/// Move `session_id` from `generation` to the next, at `now`, to expire at `expires_at`: if
/// `generation` is current, the session live at `now` and its user active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rotation {
    pub(crate) session_id: String,
    pub(crate) generation: i64,
    pub(crate) now: UnixTime,
    pub(crate) expires_at: UnixTime,
}

/// The rotated session with its user, or `None` if the rotation did not apply.
type Answer = Result<Option<(User, Session)>, StoreError>;

struct Job {
    rotation: Rotation,
    answer: oneshot::Sender<Answer>,
}

/// Applies rotations on a backend's writer pool, batching the ones that wait (see the module
/// documentation). Cheap to clone; the task ends when the last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct RotationQueue {
    jobs: mpsc::UnboundedSender<Job>,
}

impl RotationQueue {
    /// Starts the queue's task on the current tokio runtime.
    pub(crate) fn start<Db>(writer: Pool<Db>) -> Self
    where
        Db: Database<Connection: Queries>,
    {
        let (jobs, waiting) = mpsc::unbounded_channel();
        tokio::spawn(run(writer, waiting));
        Self { jobs }
    }

    /// Applies the rotation, together with whatever else is waiting.
    pub(crate) async fn rotate(&self, rotation: Rotation) -> Answer {
        let (answer, answered) = oneshot::channel();
        self.jobs
            .send(Job { rotation, answer })
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the rotation queue has stopped".into())
}

async fn run<Db>(writer: Pool<Db>, mut waiting: mpsc::UnboundedReceiver<Job>)
where
    Db: Database<Connection: Queries>,
{
    let mut batch = Vec::with_capacity(ROTATION_BATCH);
    while waiting.recv_many(&mut batch, ROTATION_BATCH).await > 0 {
        apply(&writer, &mut batch).await;
    }
}

/// Applies the batch in one statement and answers (and removes) every job in it.
async fn apply<Db>(writer: &Pool<Db>, batch: &mut Vec<Job>)
where
    Db: Database<Connection: Queries>,
{
    // The first rotation of each session goes into the statement; `first[i]` says whether
    // job `i` is one of them. Batches are small, so a linear look-back is cheapest.
    let first: Vec<bool> = batch
        .iter()
        .enumerate()
        .map(|(i, job)| {
            !batch[..i]
                .iter()
                .any(|earlier| earlier.rotation.session_id == job.rotation.session_id)
        })
        .collect();
    let applied: Vec<&Rotation> = batch
        .iter()
        .zip(&first)
        .filter(|(_, &first)| first)
        .map(|(job, _)| &job.rotation)
        .collect();
    let result = async {
        let mut conn = writer.acquire().await?;
        conn.rotate_batch(&applied).await
    }
    .await;
    match result {
        Ok(mut rotated) => {
            for (job, first) in batch.drain(..).zip(first) {
                let found = first
                    .then(|| {
                        rotated
                            .iter()
                            .position(|(_, s)| s.id == job.rotation.session_id)
                    })
                    .flatten()
                    .map(|at| rotated.swap_remove(at));
                // A caller that went away (its request was cancelled) needs no answer.
                let _ = job.answer.send(Ok(found));
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, rotations = applied.len(), "batch of rotations failed");
            let message = err.to_string();
            for job in batch.drain(..) {
                let _ = job
                    .answer
                    .send(Err(StoreError::Unavailable(message.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use latchkey_core::{NewSession, Profile, SignIn, SignInOutcome, Store};

    use super::*;
    use crate::SqliteStore;

    const T0: UnixTime = 1_700_000_000;
    const LIFETIME: i64 = 86_400;

    async fn session_of(store: &SqliteStore, subject: &str, id: &str) -> Session {
        let outcome = store
            .sign_in(SignIn {
                provider: "google".into(),
                profile: Profile {
                    subject: subject.into(),
                    email: Some(format!("{subject}@example.com")),
                    email_verified: true,
                    first_name: None,
                    last_name: None,
                    picture: None,
                },
                link_verified_email: true,
                session: NewSession {
                    id: id.into(),
                    created_at: T0,
                    expires_at: T0 + LIFETIME,
                    user_agent: String::new(),
                    ip: String::new(),
                },
            })
            .await
            .unwrap();
        let SignInOutcome::SignedIn { session, .. } = outcome else {
            panic!("sign-in failed: {outcome:?}");
        };
        session
    }

    fn job(session_id: &str, generation: i64, now: UnixTime) -> (Job, oneshot::Receiver<Answer>) {
        let (answer, answered) = oneshot::channel();
        let rotation = Rotation {
            session_id: session_id.into(),
            generation,
            now,
            expires_at: now + LIFETIME,
        };
        (Job { rotation, answer }, answered)
    }

    #[tokio::test]
    async fn one_statement_rotates_each_session_once_and_only_where_the_rule_allows() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let a = session_of(&store, "a", "session-a").await;
        let b = session_of(&store, "b", "session-b").await;
        let c = session_of(&store, "c", "session-c").await;

        // a twice with one token (only the first goes in), b with its own `now`, c with a
        // generation that is not current, and a session that does not exist.
        let (jobs, answers): (Vec<_>, Vec<_>) = [
            job(&a.id, 1, T0 + 5),
            job(&a.id, 1, T0 + 5),
            job(&b.id, 1, T0 + 7),
            job(&c.id, 2, T0 + 5),
            job("no-such-session", 1, T0 + 5),
        ]
        .into_iter()
        .unzip();
        let mut batch = jobs;
        apply(&store.writer, &mut batch).await;
        assert!(batch.is_empty(), "every job is answered and removed");

        let mut answers = answers.into_iter();
        let mut next = || answers.next().unwrap().try_recv().unwrap().unwrap();
        let (user, rotated_a) = next().expect("a rotates");
        assert_eq!(user.pk, a.user_id);
        assert_eq!(
            (
                rotated_a.generation,
                rotated_a.rotated_at,
                rotated_a.expires_at
            ),
            (2, T0 + 5, T0 + 5 + LIFETIME)
        );
        assert_eq!(
            next(),
            None,
            "the second rotation of a is left to the caller"
        );
        let (user, rotated_b) = next().expect("b rotates");
        assert_eq!((user.pk, rotated_b.generation), (b.user_id, 2));
        assert_eq!(
            rotated_b.last_used_at,
            T0 + 7,
            "each rotation keeps its own time"
        );
        assert_eq!(next(), None, "c is not at generation 2");
        assert_eq!(next(), None);

        assert_eq!(store.session(&a.id).await.unwrap(), Some(rotated_a));
        assert_eq!(store.session(&b.id).await.unwrap(), Some(rotated_b));
        assert_eq!(store.session(&c.id).await.unwrap(), Some(c));
    }

    #[tokio::test]
    async fn a_failed_statement_answers_every_job_with_an_error() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        // No migration: the table does not exist, so the statement fails.
        let (first, first_answer) = job("session-a", 1, T0);
        let (second, second_answer) = job("session-a", 1, T0);
        let mut batch = vec![first, second];
        apply(&store.writer, &mut batch).await;
        for answer in [first_answer, second_answer] {
            assert!(matches!(
                answer.await.unwrap(),
                Err(StoreError::Unavailable(message)) if message.contains("sessions")
            ));
        }
    }

    #[tokio::test]
    async fn the_queue_answers_concurrent_callers_and_reports_a_closed_store() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let mut sessions = Vec::new();
        for i in 0..100 {
            sessions.push(session_of(&store, &format!("p{i}"), &format!("s{i}")).await);
        }
        let queue = RotationQueue::start(store.writer.clone());
        let rotations = sessions.iter().map(|s| {
            queue.rotate(Rotation {
                session_id: s.id.clone(),
                generation: 1,
                now: T0 + 1,
                expires_at: T0 + 1 + LIFETIME,
            })
        });
        for (answer, session) in futures::future::join_all(rotations)
            .await
            .into_iter()
            .zip(&sessions)
        {
            let (_, rotated) = answer.unwrap().expect("rotated");
            assert_eq!((&rotated.id, rotated.generation), (&session.id, 2));
        }

        store.close().await;
        let after_close = queue
            .rotate(Rotation {
                session_id: "s0".into(),
                generation: 2,
                now: T0 + 2,
                expires_at: T0 + 2 + LIFETIME,
            })
            .await;
        assert!(matches!(after_close, Err(StoreError::Unavailable(_))));
    }
}
