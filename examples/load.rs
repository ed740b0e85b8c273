//! A small HTTP/1.1 load generator, run by `examples/bench.rs` in a process
//! of its own so it never shares a runtime with the server it measures.
//!
//! `cargo run --release --example load -- URL CONNECTIONS SECONDS [HEADER...]`
//! keeps CONNECTIONS keep-alive connections busy for SECONDS and prints one
//! JSON line: requests, errors, requests per second, latency percentiles.
//! Every URL is fetched with GET; a HEADER is `Name: value`.

use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: load URL CONNECTIONS SECONDS [HEADER...]");
        std::process::exit(2);
    }
    let url = url::Url::parse(&args[0]).expect("URL");
    let connections: usize = args[1].parse().expect("CONNECTIONS");
    let seconds: f64 = args[2].parse().expect("SECONDS");
    let headers: Vec<String> = args[3..].to_vec();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = runtime.block_on(run(
        url,
        connections,
        Duration::from_secs_f64(seconds),
        headers,
    ));
    println!("{result}");
}

async fn run(
    url: url::Url,
    connections: usize,
    duration: Duration,
    headers: Vec<String>,
) -> serde_json::Value {
    let addr = format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap()
    );
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for h in &headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (addr, request) = (addr.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            connection(&addr, request.as_bytes(), deadline).await
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0u64;
    let mut not_ok = std::collections::BTreeMap::new();
    for t in tasks {
        let (l, e, statuses) = t.await.unwrap();
        latencies.extend(l);
        errors += e;
        for (s, n) in statuses {
            *not_ok.entry(s).or_insert(0u64) += n;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i] as f64 / 1000.0
    };
    serde_json::json!({
        "requests": latencies.len(),
        "errors": errors,
        "statuses": not_ok,
        "rps": latencies.len() as f64 / elapsed,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
    })
}

/// One keep-alive connection; returns latencies in microseconds, transport
/// errors, and counts of statuses per code.
async fn connection(
    addr: &str,
    request: &[u8],
    deadline: Instant,
) -> (Vec<u64>, u64, Vec<(u16, u64)>) {
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut statuses: std::collections::BTreeMap<u16, u64> = std::collections::BTreeMap::new();
    let mut stream: Option<BufReader<TcpStream>> = None;
    while Instant::now() < deadline {
        if stream.is_none() {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    stream = Some(BufReader::new(s));
                }
                Err(_) => {
                    errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let s = stream.as_mut().unwrap();
        let start = Instant::now();
        match exchange(s, request).await {
            Ok(status) => {
                latencies.push(start.elapsed().as_micros() as u64);
                *statuses.entry(status).or_insert(0) += 1;
            }
            Err(_) => {
                errors += 1;
                stream = None;
            }
        }
    }
    (latencies, errors, statuses.into_iter().collect())
}

async fn exchange(s: &mut BufReader<TcpStream>, request: &[u8]) -> std::io::Result<u16> {
    s.get_mut().write_all(request).await?;
    let mut line = String::new();
    s.read_line(&mut line).await?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let mut length = 0usize;
    loop {
        line.clear();
        if s.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((name, value)) = l.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    s.read_exact(&mut body).await?;
    Ok(status)
}
