//! The import's progress: one self-updating line on a terminal (objects,
//! objects per second, what is being read), plain log lines every few
//! seconds otherwise, so cron mails and journald stay readable.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    terminal: bool,
    quiet: bool,
    started: Instant,
    last: Option<Instant>,
    drawn: bool,
}

impl Progress {
    /// `quiet` shows nothing (tests, benchmarks).
    pub fn new(quiet: bool) -> Progress {
        Progress {
            terminal: std::io::stderr().is_terminal(),
            quiet,
            started: Instant::now(),
            last: None,
            drawn: false,
        }
    }

    /// Report the count so far and the current list, file or URL; cheap to
    /// call for every object.
    pub fn tick(&mut self, objects: usize, current: &str) {
        if self.quiet {
            return;
        }
        let every = if self.terminal {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(5)
        };
        if self.last.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.last = Some(Instant::now());
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = objects as f64 / secs;
        if self.terminal {
            let mut line = format!("{objects} objects, {rate:.0}/s, {current}");
            line.truncate(line.floor_char_boundary(110));
            eprint!("\r\x1b[2K{line}");
            let _ = std::io::stderr().flush();
            self.drawn = true;
        } else {
            tracing::info!(
                objects,
                per_second = format!("{rate:.0}"),
                current,
                "importing"
            );
        }
    }

    /// Announce a phase (applying, downloading files) on its own line.
    pub fn phase(&mut self, message: &str) {
        if self.quiet {
            return;
        }
        self.clear();
        tracing::info!("{message}");
    }

    /// Take the progress line away before the summary is printed.
    pub fn clear(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[2K");
            self.drawn = false;
        }
    }
}
