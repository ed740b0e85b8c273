//! File bytes: fetchable (55), headers (58), 410 when deleted (59),
//! accessUrl inline (61), downloadUrl as attachment (63), size and
//! checksums that match (64).

use crate::rules::Level;
use crate::Ctx;
use serde_json::Value;
use sha2::{Digest, Sha512};
use std::collections::BTreeMap;
use std::sync::Arc;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn check_files(ctx: &Arc<Ctx>) {
    let files: BTreeMap<String, (Value, String)> = {
        let c = ctx.collected.lock().unwrap();
        let mut files = BTreeMap::new();
        for (id, seen) in c.standalone.iter() {
            if seen.type_name == "File" {
                files.insert(id.clone(), (seen.value.clone(), seen.url.clone()));
            }
        }
        for (id, copies) in c.embedded.iter() {
            if copies[0].type_name == "File" && !files.contains_key(id) {
                files.insert(id.clone(), (copies[0].value.clone(), copies[0].url.clone()));
            }
        }
        files
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (id, (file, _)) in files.into_iter().take(ctx.opts.max_files) {
        let ctx = Arc::clone(ctx);
        tasks.spawn(async move { check_file(&ctx, &id, &file).await });
    }
    while let Some(done) = tasks.join_next().await {
        ctx.joined(done, "checking a file");
    }
}

async fn check_file(ctx: &Ctx, id: &str, file: &Value) {
    let deleted = file["deleted"] == Value::Bool(true);
    let Some(access) = file["accessUrl"].as_str() else {
        return;
    };
    let answer = match ctx.fetcher.get(access, &[]).await {
        Ok(a) => a,
        Err(e) => {
            ctx.add(55, id, "$.accessUrl", format!("no answer: {e}"));
            return;
        }
    };
    if deleted {
        if answer.status != 410 {
            ctx.add(
                59,
                access,
                "",
                format!("a deleted File's bytes answer {}", answer.status),
            );
        }
        return;
    }
    if answer.status != 200 {
        ctx.add(
            55,
            id,
            "$.accessUrl",
            format!("{access} answered {}", answer.status),
        );
        return;
    }
    if answer.header("content-disposition").is_some_and(|d| {
        d.trim_start()
            .to_ascii_lowercase()
            .starts_with("attachment")
    }) {
        ctx.add(61, access, "", "accessUrl is sent as an attachment");
    }
    for header in ["last-modified", "content-length", "etag"] {
        if answer.header(header).is_none() {
            ctx.add(58, access, "", format!("no {header} header"));
        }
    }
    if let Some(size) = file["size"].as_u64() {
        if size != answer.body.len() as u64 {
            ctx.add_at(
                64,
                Level::Must,
                id,
                "$.size",
                format!("size is {size} but {} bytes are served", answer.body.len()),
            );
        }
    }
    if let Some(sum) = file["sha512Checksum"].as_str() {
        if !sum.eq_ignore_ascii_case(&hex(&Sha512::digest(&answer.body))) {
            ctx.add_at(
                64,
                Level::Must,
                id,
                "$.sha512Checksum",
                "sha512Checksum does not match the bytes served",
            );
        }
    }
    if let Some(sum) = file["sha1Checksum"].as_str() {
        if !sum.eq_ignore_ascii_case(&hex(&sha1::Sha1::digest(&answer.body))) {
            ctx.add_at(
                64,
                Level::Must,
                id,
                "$.sha1Checksum",
                "sha1Checksum does not match the bytes served",
            );
        }
    }
    if let Some(download) = file["downloadUrl"].as_str() {
        match ctx.fetcher.get(download, &[]).await {
            Ok(d) if d.status == 200 => {
                let disposition = d.header("content-disposition").unwrap_or("");
                let lower = disposition.trim_start().to_ascii_lowercase();
                if !lower.starts_with("attachment") || !lower.contains("filename") {
                    ctx.add(
                        63,
                        download,
                        "",
                        format!("Content-Disposition is `{disposition}`"),
                    );
                }
            }
            Ok(d) => ctx.add(
                55,
                id,
                "$.downloadUrl",
                format!("{download} answered {}", d.status),
            ),
            Err(e) => ctx.add(55, id, "$.downloadUrl", format!("no answer: {e}")),
        }
    }
}
