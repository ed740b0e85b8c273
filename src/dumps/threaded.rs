//! A writer that hands what it is given to a thread of its own, which
//! writes it on. The dumps use one per file, so that compressing the dump
//! of the whole store and of each Body runs beside reading and rendering
//! the objects instead of after it on the same thread.

use std::io::{self, Write};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// Bytes gathered before they are handed over.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight before a writer waits for its thread.
const QUEUE: usize = 8;

pub struct Threaded<W: Write + Send + 'static> {
    buf: Vec<u8>,
    tx: Option<mpsc::SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<(W, io::Result<()>)>>,
}

impl<W: Write + Send + 'static> Threaded<W> {
    pub fn new(mut inner: W) -> Threaded<W> {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(QUEUE);
        let thread = std::thread::spawn(move || {
            // After a failed write the rest is drained unwritten, and the
            // error comes back from `finish`.
            let mut result = Ok(());
            for chunk in rx {
                if result.is_ok() {
                    result = inner.write_all(&chunk);
                }
            }
            (inner, result)
        });
        Threaded {
            buf: Vec::with_capacity(CHUNK),
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    fn hand_over(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .as_ref()
            .ok_or_else(|| io::Error::other("written after finish"))?
            .send(chunk)
            .map_err(|_| io::Error::other("the writing thread ended early"))
    }

    /// Hand over the rest, wait until everything is written, and return
    /// the inner writer (or the first error of the thread).
    pub fn finish(mut self) -> io::Result<W> {
        self.hand_over()?;
        drop(self.tx.take());
        let thread = self.thread.take().expect("joined only here or on drop");
        let (inner, result) = thread
            .join()
            .map_err(|payload| io::Error::other(crate::text::panic_message(payload.as_ref())))?;
        result.map(|()| inner)
    }
}

impl<W: Write + Send + 'static> Write for Threaded<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.hand_over()?;
        }
        Ok(bytes.len())
    }

    /// Hands over what is gathered; the inner writer is flushed by its
    /// owner after `finish`.
    fn flush(&mut self) -> io::Result<()> {
        self.hand_over()
    }
}

impl<W: Write + Send + 'static> Drop for Threaded<W> {
    /// A writer given up on (an error elsewhere) still ends its thread
    /// before the caller removes or reuses the file behind it.
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_arrives_in_order() {
        let mut w = Threaded::new(Vec::new());
        let mut expected = Vec::new();
        for i in 0..100_000u32 {
            let line = format!("{i}\n");
            w.write_all(line.as_bytes()).unwrap();
            expected.extend_from_slice(line.as_bytes());
        }
        w.flush().unwrap();
        assert_eq!(w.finish().unwrap(), expected);
    }

    /// Fails every write.
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_threads_error_comes_back_from_finish() {
        let mut w = Threaded::new(Broken);
        w.write_all(&vec![b'x'; CHUNK * 3]).unwrap();
        let err = w.finish().err().expect("the write failed");
        assert_eq!(err.to_string(), "disk full");
    }
}
