//! Prometheus metrics of a server, at `GET /-/metrics` (text exposition
//! format 0.0.4), on a path no OParl URL can take (see `api::probes`).
//!
//! Counted here, process-wide, with atomics and one short lock per request (a lock of the thread's own part):
//! requests by route and status with a latency histogram per route, the
//! caches' hits and misses, database work (runs on the blocking pool and
//! the time they waited for a connection), and freshness checks of the
//! database version. Gauges read at scrape time: the pool's connections and
//! the store's revision.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Requests {
    /// (route, status) -> count.
    by_status: BTreeMap<(&'static str, u16), u64>,
    /// route -> (bucket counts, sum of seconds, count).
    latency: BTreeMap<&'static str, ([u64; BUCKETS.len()], f64, u64)>,
}

/// How many parts the request counts are kept in: each thread counts into
/// one of its own (by a number it draws once), so that the runtime's
/// workers do not wait for each other's lock on every answer; a scrape adds
/// them up.
const PARTS: usize = 8;

/// The counters of this process.
#[derive(Default)]
pub struct Metrics {
    requests: [Mutex<Requests>; PARTS],
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub db_runs: AtomicU64,
    /// Microseconds spent waiting for a pooled connection.
    pub db_wait_micros: AtomicU64,
    pub db_unavailable: AtomicU64,
    pub version_checks: AtomicU64,
}

/// The process's metrics.
pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

impl Metrics {
    /// Count one answered request.
    pub fn request(&self, route: &'static str, status: u16, took: Duration) {
        thread_local! {
            static PART: usize = {
                static NEXT: AtomicU64 = AtomicU64::new(0);
                NEXT.fetch_add(1, Ordering::Relaxed) as usize % PARTS
            };
        }
        let secs = took.as_secs_f64();
        let part = PART.with(|p| *p);
        let mut r = self.requests[part]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *r.by_status.entry((route, status)).or_default() += 1;
        let (buckets, sum, count) = r.latency.entry(route).or_default();
        for (bound, n) in BUCKETS.iter().zip(buckets.iter_mut()) {
            if secs <= *bound {
                *n += 1;
            }
        }
        *sum += secs;
        *count += 1;
    }

    /// The exposition text, with the gauges given.
    pub fn render(&self, pool: (u32, u32), revision: Option<i64>) -> String {
        let mut out = String::with_capacity(4096);
        // The parts added up.
        let mut r = Requests::default();
        for part in &self.requests {
            let part = part.lock().unwrap_or_else(|e| e.into_inner());
            for (key, n) in &part.by_status {
                *r.by_status.entry(*key).or_default() += n;
            }
            for (route, (buckets, sum, count)) in &part.latency {
                let (all, total, counted) = r.latency.entry(route).or_default();
                for (a, b) in all.iter_mut().zip(buckets) {
                    *a += b;
                }
                *total += sum;
                *counted += count;
            }
        }
        out.push_str("# HELP oparl_requests_total Answered requests by route and status.\n");
        out.push_str("# TYPE oparl_requests_total counter\n");
        for ((route, status), n) in &r.by_status {
            let _ = writeln!(
                out,
                "oparl_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP oparl_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE oparl_request_duration_seconds histogram\n");
        for (route, (buckets, sum, count)) in &r.latency {
            for (bound, n) in BUCKETS.iter().zip(buckets) {
                let _ = writeln!(
                    out,
                    "oparl_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "oparl_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "oparl_request_duration_seconds_sum{{route=\"{route}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "oparl_request_duration_seconds_count{{route=\"{route}\"}} {count}"
            );
        }
        drop(r);
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            &mut out,
            "oparl_cache_hits_total",
            "Rendered objects and answers served from a cache.",
            load(&self.cache_hits),
        );
        counter(
            &mut out,
            "oparl_cache_misses_total",
            "Cache lookups that found nothing.",
            load(&self.cache_misses),
        );
        counter(
            &mut out,
            "oparl_db_runs_total",
            "Database work run on the blocking pool.",
            load(&self.db_runs),
        );
        let waited = load(&self.db_wait_micros) as f64 / 1e6;
        let _ = writeln!(
            out,
            "# HELP oparl_db_wait_seconds_total Time database work waited for a pooled connection.\n# TYPE oparl_db_wait_seconds_total counter\noparl_db_wait_seconds_total {waited}"
        );
        counter(
            &mut out,
            "oparl_db_unavailable_total",
            "Database work that found the database away (answered 503).",
            load(&self.db_unavailable),
        );
        counter(
            &mut out,
            "oparl_version_checks_total",
            "Freshness checks of the database version.",
            load(&self.version_checks),
        );
        let (connections, idle) = pool;
        let _ = writeln!(
            out,
            "# HELP oparl_db_pool_connections Pooled connections by state.\n# TYPE oparl_db_pool_connections gauge\n\
             oparl_db_pool_connections{{state=\"idle\"}} {idle}\noparl_db_pool_connections{{state=\"busy\"}} {}",
            connections.saturating_sub(idle)
        );
        if let Some(revision) = revision {
            let _ = writeln!(
                out,
                "# HELP oparl_store_revision The store's revision (see the change feed).\n# TYPE oparl_store_revision gauge\noparl_store_revision {revision}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_many_threads_add_up() {
        let m = Metrics::default();
        std::thread::scope(|s| {
            for _ in 0..PARTS + 3 {
                s.spawn(|| {
                    for _ in 0..10 {
                        m.request("list", 200, Duration::from_millis(2));
                    }
                });
            }
        });
        let text = m.render((1, 1), None);
        let all = 10 * (PARTS + 3);
        assert!(
            text.contains(&format!(
                "oparl_requests_total{{route=\"list\",status=\"200\"}} {all}\n"
            )),
            "{text}"
        );
        assert!(text.contains(&format!(
            "oparl_request_duration_seconds_count{{route=\"list\"}} {all}\n"
        )));
    }

    #[test]
    fn histograms_are_cumulative_and_counts_add_up() {
        let m = Metrics::default();
        m.request("object", 200, Duration::from_micros(700));
        m.request("object", 200, Duration::from_millis(30));
        m.request("object", 404, Duration::from_secs(9));
        let text = m.render((4, 3), Some(12));
        assert!(
            text.contains("oparl_requests_total{route=\"object\",status=\"200\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("oparl_requests_total{route=\"object\",status=\"404\"} 1\n"));
        assert!(text.contains("le=\"0.001\"} 1\n"));
        assert!(text.contains("le=\"0.05\"} 2\n"));
        assert!(text.contains("le=\"5\"} 2\n"));
        assert!(text.contains("le=\"+Inf\"} 3\n"));
        assert!(text.contains("oparl_request_duration_seconds_count{route=\"object\"} 3\n"));
        assert!(text.contains("oparl_db_pool_connections{state=\"busy\"} 1\n"));
        assert!(text.contains("oparl_store_revision 12\n"));
    }
}
