//! File bytes (spec §2.7): accessUrl inline, downloadUrl as attachment with a
//! filename that survives umlauts, Content-Length/ETag/Last-Modified, 304,
//! 206 and 410, and `size`/`sha512Checksum` that match the bytes.

use crate::support::*;
use hyper::Method;
use oparl::store::write;
use serde_json::Value;
use sha2::{Digest, Sha512};

async fn some_files(app: &TestApp) -> Vec<Value> {
    let system = app.json(BASE).await;
    let body = app.json(system["body"].as_str().unwrap()).await["data"][0].clone();
    app.json(&format!("{}?limit=300", body["file"].as_str().unwrap()))
        .await["data"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn size_and_checksum_match_the_bytes_served() {
    each_backend(true, |app| async move {
        for file in some_files(&app).await {
            let access = app.get(file["accessUrl"].as_str().unwrap()).await;
            assert_eq!(access.status, 200);
            assert_eq!(access.body.len() as u64, file["size"].as_u64().unwrap());
            let sum: String = Sha512::digest(&access.body)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(sum, file["sha512Checksum"].as_str().unwrap());
            assert_eq!(access.header("content-type"), file["mimeType"].as_str());
            assert_eq!(
                access.header("content-length"),
                Some(access.body.len().to_string().as_str())
            );
            assert!(access.header("etag").is_some() && access.header("last-modified").is_some());
            assert!(
                !access
                    .header("content-disposition")
                    .unwrap_or("")
                    .contains("attachment"),
                "accessUrl is never an attachment"
            );
            let download = app.get(file["downloadUrl"].as_str().unwrap()).await;
            assert_eq!(download.body, access.body);
            let disposition = download.header("content-disposition").unwrap();
            assert!(disposition.starts_with("attachment;"), "{disposition}");
            assert!(disposition.contains("filename="));
        }
    });
}

#[test]
fn umlauts_survive_in_the_download_filename() {
    each_backend(false, |app| async move {
        let mut conn = app.conn();
        let fields = serde_json::json!({ "name": "Übersicht Straßenbäume", "fileName": "Übersicht Straßenbäume.pdf", "mimeType": "application/pdf" });
        let file = write::change(&mut conn, |c| {
            let body = c.create(oparl::model::Kind::Body, None, &Default::default(), 1_000)?;
            let file = c.create(
                oparl::model::Kind::File,
                Some(body),
                fields.as_object().unwrap(),
                1_000,
            )?;
            c.store_file_bytes(file, b"%PDF-1.4 test")?;
            Ok(file)
        })
        .unwrap();
        drop(conn);
        let answer = app.get(&format!("{BASE}/file/{file}/download")).await;
        assert_eq!(
            answer.header("content-disposition"),
            Some("attachment; filename=\"Uebersicht Strassenbaeume.pdf\"; filename*=UTF-8''%C3%9Cbersicht%20Stra%C3%9Fenb%C3%A4ume.pdf")
        );
    });
}

#[test]
fn conditional_and_range_requests() {
    each_backend(true, |app| async move {
        let file = some_files(&app).await.remove(0);
        let url = file["accessUrl"].as_str().unwrap();
        let full = app.get(url).await;
        let etag = full.header("etag").unwrap().to_string();
        let last_modified = full.header("last-modified").unwrap().to_string();

        let answer = app
            .request(Method::GET, url, &[("if-none-match", &etag)])
            .await;
        assert_eq!(answer.status, 304);
        assert!(answer.body.is_empty());
        let answer = app
            .request(Method::GET, url, &[("if-none-match", "\"other\"")])
            .await;
        assert_eq!(answer.status, 200);
        let answer = app
            .request(Method::GET, url, &[("if-modified-since", &last_modified)])
            .await;
        assert_eq!(answer.status, 304);
        let answer = app
            .request(
                Method::GET,
                url,
                &[("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT")],
            )
            .await;
        assert_eq!(answer.status, 200);

        let answer = app
            .request(Method::GET, url, &[("range", "bytes=0-9")])
            .await;
        assert_eq!(answer.status, 206);
        assert_eq!(answer.body, full.body.slice(0..10));
        assert_eq!(
            answer.header("content-range"),
            Some(format!("bytes 0-9/{}", full.body.len()).as_str())
        );
        let answer = app
            .request(Method::GET, url, &[("range", "bytes=-5")])
            .await;
        assert_eq!(answer.body, full.body.slice(full.body.len() - 5..));
        let answer = app
            .request(
                Method::GET,
                url,
                &[("range", &format!("bytes={}-", full.body.len()))],
            )
            .await;
        assert_eq!(answer.status, 416);
        // A stale If-Range sends the whole file.
        let answer = app
            .request(
                Method::GET,
                url,
                &[("range", "bytes=0-9"), ("if-range", "\"stale\"")],
            )
            .await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, full.body);
    });
}

#[test]
fn a_deleted_file_is_gone_but_its_object_is_a_tombstone() {
    each_backend(true, |app| async move {
        let file = some_files(&app).await.remove(3);
        write::change(&mut app.conn(), |c| {
            c.delete(pk_of(file["id"].as_str().unwrap()), oparl::time::now())
        })
        .unwrap();
        for key in ["accessUrl", "downloadUrl"] {
            let answer = app.get(file[key].as_str().unwrap()).await;
            assert_eq!(answer.status, 410, "{key}");
            assert_eq!(answer.json()["type"], "https://schema.oparl.org/1.1/Error");
        }
        assert_eq!(
            app.json(file["id"].as_str().unwrap()).await["deleted"],
            true
        );
    });
}
