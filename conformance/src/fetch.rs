//! HTTP for the checker: bounded concurrency, timeouts, retries with backoff
//! (honouring Retry-After) for failures that are not the server's answer,
//! and the checks every JSON response gets (JSON, UTF-8, CORS).

use crate::report::Findings;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Semaphore;

/// One answer.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL asked for.
    pub url: String,
    /// The URL answered, after redirects.
    pub final_url: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Fetched {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Settings of the HTTP side.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub concurrency: usize,
    pub timeout: Duration,
    pub retries: u32,
    /// Answers larger than this are refused (an error, not retried).
    pub max_body_bytes: u64,
    /// Retry every 5xx, not only 502-504. The checker leaves this off, so a
    /// spurious 500 is seen; the importer turns it on.
    pub retry_server_errors: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            concurrency: 8,
            timeout: Duration::from_secs(30),
            retries: 3,
            max_body_bytes: 256 << 20,
            retry_server_errors: false,
        }
    }
}

enum BodyError {
    TooLarge,
    Transport(String),
}

pub struct Fetcher {
    client: reqwest::Client,
    gate: Semaphore,
    retries: u32,
    max_body_bytes: u64,
    retry_server_errors: bool,
    pub requests: AtomicU64,
    /// Findings about HTTP exchanges (CORS, JSON validity), made wherever a
    /// response arrives.
    pub findings: Mutex<Findings>,
}

impl Fetcher {
    pub fn new(opts: &FetchOptions) -> Result<Fetcher, String> {
        let client = reqwest::Client::builder()
            .timeout(opts.timeout)
            .user_agent(concat!("oparl-check/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Fetcher {
            client,
            gate: Semaphore::new(opts.concurrency.max(1)),
            retries: opts.retries,
            max_body_bytes: opts.max_body_bytes,
            retry_server_errors: opts.retry_server_errors,
            requests: AtomicU64::new(0),
            findings: Mutex::new(Findings::default()),
        })
    }

    /// GET with extra request headers. Transport errors, 429 and 502-504 (or
    /// every 5xx with `retry_server_errors`) are retried with exponential
    /// backoff, waiting as long as a Retry-After asks (up to a minute);
    /// everything else is the answer. An answer over `max_body_bytes` is an
    /// error.
    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<Fetched, String> {
        let _permit = self.gate.acquire().await.expect("the gate is never closed");
        let mut delay = Duration::from_millis(250);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let mut request = self.client.get(url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let outcome: Result<(), (String, Option<Duration>)> = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    let retry = matches!(status, 429 | 502 | 503 | 504)
                        || (self.retry_server_errors && status >= 500);
                    if retry && attempt <= self.retries {
                        Err((
                            format!("status {status}"),
                            retry_after.map(Duration::from_secs),
                        ))
                    } else {
                        let final_url = response.url().to_string();
                        let headers = response.headers().clone();
                        match self.read_body(response).await {
                            Ok(body) => {
                                return Ok(Fetched {
                                    url: url.to_string(),
                                    final_url,
                                    status,
                                    headers,
                                    body,
                                })
                            }
                            Err(BodyError::TooLarge) => {
                                return Err(format!(
                                    "{url}: the answer is larger than {} MB",
                                    self.max_body_bytes >> 20
                                ))
                            }
                            Err(BodyError::Transport(e)) => Err((e, None)),
                        }
                    }
                }
                Err(e) => Err((e.to_string(), None)),
            };
            let (error, wait) = outcome.unwrap_err();
            if attempt > self.retries {
                return Err(format!("{url}: {error}"));
            }
            tokio::time::sleep(wait.unwrap_or(delay).min(Duration::from_secs(60))).await;
            delay *= 2;
        }
    }

    /// Read a body chunk by chunk, stopping as soon as it passes the limit.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
        if response
            .content_length()
            .is_some_and(|n| n > self.max_body_bytes)
        {
            return Err(BodyError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| BodyError::Transport(e.to_string()))?
        {
            if (body.len() + chunk.len()) as u64 > self.max_body_bytes {
                return Err(BodyError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// GET a JSON resource expected to answer 200. Returns the parsed value,
    /// or None after recording why not.
    pub async fn json(&self, url: &str) -> Option<Value> {
        self.json_with(url, 200).await.map(|(_, v)| v)
    }

    /// GET a JSON resource and check what every JSON answer must have.
    pub async fn json_with(&self, url: &str, expected_status: u16) -> Option<(Fetched, Value)> {
        let fetched = match self.get(url, &[]).await {
            Ok(f) => f,
            Err(e) => {
                self.finding(45, url, format!("no answer: {e}"));
                return None;
            }
        };
        let value = self.check_json_answer(&fetched)?;
        if fetched.status != expected_status {
            let id = if fetched.status == 404 || fetched.status == 410 {
                45
            } else {
                20
            };
            self.finding(
                id,
                url,
                format!(
                    "answered {} where {expected_status} was expected",
                    fetched.status
                ),
            );
            return None;
        }
        Some((fetched, value))
    }

    /// The checks of a JSON answer: valid UTF-8 JSON without BOM, and the
    /// CORS header. Returns the value if it is JSON.
    pub fn check_json_answer(&self, f: &Fetched) -> Option<Value> {
        if f.body.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.finding(13, &f.url, "the body starts with a byte-order mark");
        }
        let value: Value = match serde_json::from_slice(
            f.body
                .strip_prefix(&[0xEF, 0xBB, 0xBF][..])
                .unwrap_or(&f.body),
        ) {
            Ok(v) => v,
            Err(e) => {
                let start =
                    String::from_utf8_lossy(&f.body[..f.body.len().min(60)]).replace('\n', " ");
                self.finding(
                    12,
                    &f.url,
                    format!("status {}, not JSON ({e}); starts with `{start}`", f.status),
                );
                return None;
            }
        };
        match f.header("content-type") {
            Some(t) if t.to_ascii_lowercase().starts_with("application/json") => {}
            other => self.finding_at(
                12,
                crate::rules::Level::Should,
                &f.url,
                format!("JSON sent with Content-Type {other:?}"),
            ),
        }
        match f.header("access-control-allow-origin") {
            Some("*") => {}
            other => self.finding(
                53,
                &f.url,
                format!("Access-Control-Allow-Origin is {other:?}"),
            ),
        }
        if let Some(methods) = f.header("access-control-allow-methods") {
            if !methods.to_ascii_uppercase().contains("GET") {
                self.finding_at(
                    54,
                    crate::rules::Level::Must,
                    &f.url,
                    format!("Access-Control-Allow-Methods `{methods}` lacks GET"),
                );
            } else {
                self.finding(54, &f.url, "Access-Control-Allow-Methods is set");
            }
        }
        if crate::schema::is_error_object(&value) && f.status < 400 {
            self.finding(
                68,
                &f.url,
                format!("an Error object with status {}", f.status),
            );
        }
        Some(value)
    }

    pub fn finding(&self, rule: u32, url: &str, message: impl Into<String>) {
        self.findings.lock().unwrap().add(rule, url, "", message);
    }

    pub fn finding_at(
        &self,
        rule: u32,
        level: crate::rules::Level,
        url: &str,
        message: impl Into<String>,
    ) {
        self.findings
            .lock()
            .unwrap()
            .add_at(rule, level, url, "", message);
    }
}
