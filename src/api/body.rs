//! The body of every answer: bytes held in memory (JSON, File bytes, the
//! catalogue), or a part of a file read in chunks as the connection takes
//! them (the dumps), so that a download of any size holds one chunk at a
//! time. Both state their exact length, which hyper sends as
//! `Content-Length`.

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{ready, Context, Poll};
use tokio::task::JoinHandle;

/// How much of a file is read at a time.
pub const CHUNK: usize = 256 * 1024;

/// An answer's body.
pub struct Body(Inner);

enum Inner {
    /// Sent in one frame; None once sent.
    Bytes(Option<Bytes>),
    File(FileChunks),
}

impl Body {
    /// These bytes.
    pub fn new(bytes: Bytes) -> Body {
        Body(Inner::Bytes(Some(bytes).filter(|b| !b.is_empty())))
    }

    /// `len` bytes of an open file from `start` on, read on the blocking
    /// pool one chunk at a time, the next one while the connection sends
    /// the last (so at most two chunks are held). The answer reads this
    /// handle, not the path: a file renamed over the path meanwhile does
    /// not mix in.
    pub fn file(file: std::fs::File, start: u64, len: u64) -> Body {
        Body(Inner::File(FileChunks {
            file: Some(file),
            position: start,
            remaining: len,
            reading: None,
        }))
    }
}

impl Default for Body {
    fn default() -> Body {
        Body(Inner::Bytes(None))
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body::new(bytes)
    }
}

/// A part of a file, read a chunk at a time; at most one read in flight.
struct FileChunks {
    /// None while a read has it.
    file: Option<std::fs::File>,
    /// Where the next read starts.
    position: u64,
    /// Bytes not handed out yet (the read in flight included).
    remaining: u64,
    reading: Option<JoinHandle<(std::fs::File, std::io::Result<Vec<u8>>)>>,
}

/// Chunk buffers the connections have sent, for the next reads: reading
/// into a fresh buffer every time (allocated, and mapped in by the kernel
/// page by page) took about a fifth of the server's time on a download.
static SPARE: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// How many buffers `SPARE` keeps at most (2 MiB).
const SPARE_BUFFERS: usize = 8;

fn spare_buffer() -> Vec<u8> {
    SPARE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pop()
        .unwrap_or_default()
}

/// A chunk's buffer while the connection holds it; back to `SPARE` after.
struct Lent(Vec<u8>);

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        let mut spare = SPARE.lock().unwrap_or_else(|e| e.into_inner());
        if spare.len() < SPARE_BUFFERS {
            spare.push(std::mem::take(&mut self.0));
        }
    }
}

impl FileChunks {
    /// Start reading the next chunk, if any is left and none is being read.
    fn read_ahead(&mut self) {
        if self.remaining == 0 || self.reading.is_some() {
            return;
        }
        let Some(mut file) = self.file.take() else {
            return;
        };
        let (position, want) = (self.position, self.remaining.min(CHUNK as u64) as usize);
        let buf = spare_buffer();
        self.reading = Some(tokio::task::spawn_blocking(move || {
            let read = read_chunk(&mut file, position, want, buf);
            (file, read)
        }));
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<std::io::Result<Bytes>>> {
        loop {
            if let Some(reading) = &mut self.reading {
                let done = ready!(Pin::new(reading).poll(cx));
                self.reading = None;
                let (file, read) = match done {
                    Ok(done) => done,
                    Err(e) => return Poll::Ready(Some(Err(std::io::Error::other(e)))),
                };
                self.file = Some(file);
                let chunk = match read {
                    Ok(chunk) => chunk,
                    Err(e) => return Poll::Ready(Some(Err(e))),
                };
                if chunk.is_empty() {
                    // The file ends before the length promised in the
                    // headers: the connection must not look complete.
                    self.remaining = 0;
                    return Poll::Ready(Some(Err(std::io::ErrorKind::UnexpectedEof.into())));
                }
                self.position += chunk.len() as u64;
                self.remaining -= chunk.len() as u64;
                // Reading overlaps sending.
                self.read_ahead();
                return Poll::Ready(Some(Ok(Bytes::from_owner(Lent(chunk)))));
            }
            if self.remaining == 0 || self.file.is_none() {
                return Poll::Ready(None);
            }
            self.read_ahead();
        }
    }
}

/// Up to `want` bytes from `position` on, into `buf`; fewer only at the end
/// of the file.
fn read_chunk(
    file: &mut std::fs::File,
    position: u64,
    want: usize,
    mut buf: Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(position))?;
    // What the buffer held before is read over or cut off below.
    buf.resize(want, 0);
    let mut filled = 0;
    while filled < want {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match &mut self.get_mut().0 {
            Inner::Bytes(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::File(chunks) => chunks
                .poll_chunk(cx)
                .map(|chunk| chunk.map(|c| c.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Inner::Bytes(bytes) => bytes.is_none(),
            Inner::File(chunks) => chunks.remaining == 0 && chunks.reading.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Inner::Bytes(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Inner::File(chunks) => SizeHint::with_exact(chunks.remaining),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::io::Write;

    fn temp_file(name: &str, bytes: &[u8]) -> (std::path::PathBuf, std::fs::File) {
        let path = std::env::temp_dir().join(format!("oparl-body-{}-{name}", std::process::id()));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        let file = std::fs::File::open(&path).unwrap();
        (path, file)
    }

    #[test]
    fn a_file_part_comes_in_chunks_of_at_most_chunk_bytes() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let bytes: Vec<u8> = (0..CHUNK * 2 + 1000).map(|i| (i % 251) as u8).collect();
        let (path, file) = temp_file("whole", &bytes);
        let (start, len) = (10u64, (CHUNK * 2 + 500) as u64);
        let mut body = Body::file(file, start, len);
        assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(len));
        let frames = runtime.block_on(async {
            let mut frames = Vec::new();
            while let Some(frame) = body.frame().await {
                frames.push(frame.unwrap().into_data().unwrap());
            }
            frames
        });
        assert_eq!(
            frames.iter().map(Bytes::len).collect::<Vec<_>>(),
            [CHUNK, CHUNK, 500]
        );
        assert_eq!(frames.concat(), &bytes[10..10 + len as usize]);
        assert!(hyper::body::Body::is_end_stream(&body));

        // A file shorter than promised ends in an error, not quietly.
        let (short_path, short) = temp_file("short", &bytes);
        let mut body = Body::file(short, bytes.len() as u64 - 5, 10);
        let last = runtime.block_on(async {
            let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
            assert_eq!(first.len(), 5);
            body.frame().await.unwrap()
        });
        assert!(last.is_err());
        std::fs::remove_file(path).ok();
        std::fs::remove_file(short_path).ok();
    }

    #[test]
    fn bytes_come_in_one_frame() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let body = Body::new(Bytes::from_static(b"{}"));
        assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(2));
        let collected = runtime.block_on(body.collect()).unwrap().to_bytes();
        assert_eq!(&collected[..], b"{}");
        assert!(hyper::body::Body::is_end_stream(&Body::default()));
    }
}
