//! One load for the requests that miss the same answer at the same moment.
//!
//! After a change, every client of a hot URL misses the whole-answer cache
//! at once, and each loaded and rendered the same answer on its own: with
//! eight clients on one object, eight loads competed for the pool while one
//! would do. The first request to miss loads; a request that misses the
//! same target at the same database version while that load runs waits for
//! it and takes its answer. Exactness holds: the load read the version
//! before its data, and the waiting request read the same version after it
//! arrived, so the data are at least as new as anything it may expect. A
//! request whose version differs loads on its own, and so does every
//! waiting request when the load fails or its request goes away.

use super::cache::Recent;
use crate::db::version::Version;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// The loads in flight, by request target (format included).
#[derive(Default)]
pub struct Flights {
    map: Mutex<HashMap<String, Flight>>,
}

struct Flight {
    version: Version,
    answer: Arc<watch::Sender<Option<Recent>>>,
}

/// What a request that missed the cache does.
pub enum Role<'a> {
    /// Load, and hand the answer to those who wait (see [`Lead::land`]).
    Lead(Lead<'a>),
    /// Wait for this load.
    Wait(watch::Receiver<Option<Recent>>),
    /// Load alone: a load of another version is in flight.
    Alone,
}

/// The load of the request that leads a flight; dropping it without
/// landing (an error, a client gone) lets the waiting requests load alone.
pub struct Lead<'a> {
    flights: &'a Flights,
    target: String,
    answer: Arc<watch::Sender<Option<Recent>>>,
}

impl Flights {
    /// Join the load of `target` at `version`, or lead one.
    pub fn join<'a>(&'a self, target: &str, version: &Version) -> Role<'a> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(flight) = map.get(target) {
            return if flight.version == *version {
                Role::Wait(flight.answer.subscribe())
            } else {
                Role::Alone
            };
        }
        let answer = Arc::new(watch::Sender::new(None));
        map.insert(
            target.to_string(),
            Flight {
                version: version.clone(),
                answer: Arc::clone(&answer),
            },
        );
        Role::Lead(Lead {
            flights: self,
            target: target.to_string(),
            answer,
        })
    }
}

impl Lead<'_> {
    /// Hand the loaded answer to every request waiting for it.
    pub fn land(self, answer: &Recent) {
        self.answer.send_replace(Some(answer.clone()));
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        let mut map = self.flights.map.lock().unwrap_or_else(|e| e.into_inner());
        if map
            .get(&self.target)
            .is_some_and(|f| Arc::ptr_eq(&f.answer, &self.answer))
        {
            map.remove(&self.target);
        }
    }
}

/// The answer of the load waited for; None when it ended without one.
pub async fn landed(mut waiting: watch::Receiver<Option<Recent>>) -> Option<Recent> {
    match waiting.wait_for(Option::is_some).await {
        Ok(answer) => answer.clone(),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn answer(text: &'static str, version: &Version) -> Recent {
        Recent {
            at: std::time::Instant::now(),
            version: version.clone(),
            etag: "\"t\"".into(),
            modified: None,
            bytes: Bytes::from_static(text.as_bytes()),
        }
    }

    #[tokio::test]
    async fn waiting_requests_take_the_leaders_answer() {
        let flights = Flights::default();
        let v = Version::Heard(1);
        let Role::Lead(lead) = flights.join("/x", &v) else {
            panic!("the first request leads")
        };
        let Role::Wait(waiting) = flights.join("/x", &v) else {
            panic!("the second waits")
        };
        // Another version does not wait for this load.
        assert!(matches!(
            flights.join("/x", &Version::Heard(2)),
            Role::Alone
        ));
        // Another target leads its own.
        assert!(matches!(flights.join("/y", &v), Role::Lead(_)));
        lead.land(&answer("loaded", &v));
        assert_eq!(landed(waiting).await.unwrap().bytes, "loaded");
        // The flight is over: the next miss leads again.
        assert!(matches!(flights.join("/x", &v), Role::Lead(_)));
    }

    #[tokio::test]
    async fn a_lead_dropped_without_an_answer_releases_the_waiting() {
        let flights = Flights::default();
        let v = Version::Heard(1);
        let lead = flights.join("/x", &v);
        let Role::Wait(waiting) = flights.join("/x", &v) else {
            panic!("the second waits")
        };
        drop(lead);
        assert!(landed(waiting).await.is_none());
        assert!(matches!(flights.join("/x", &v), Role::Lead(_)));
    }
}
