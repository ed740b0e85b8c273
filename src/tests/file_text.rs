//! `File.text` read from PDF bytes on import (`--with-files`): a PDF with
//! a text layer fills it and is found by the search, with its Paper; a
//! source's own text is kept; a PDF that only shows an image and bytes that
//! are no PDF at all give no text and are counted in the report, and the
//! import completes.

use crate::fixtures::{as_vendor, serve_api};
use crate::import::{import, options};
use crate::support::*;
use oparl::import::Outcome;
use oparl::model::{self, Kind};
use oparl::store::write;
use serde_json::{json, Value};
use std::sync::Arc;

const AT: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// A PDF of one page whose content only paints a 2×2 grey image: a scan
/// as far as a text extractor can tell.
fn image_only_pdf() -> Vec<u8> {
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        stream(b"", b"q 400 0 0 400 100 300 cm /Im1 Do Q"),
        stream(
            b"/Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8 ",
            &[0x00, 0xff, 0xff, 0x00],
        ),
    ];
    oparl::demo::pdf::assemble(&objects)
}

fn stream(dict: &[u8], data: &[u8]) -> Vec<u8> {
    [
        b"<< ".as_slice(),
        dict,
        format!("/Length {} >>\nstream\n", data.len()).as_bytes(),
        data,
        b"\nendstream",
    ]
    .concat()
}

fn create(app: &TestApp, kind: Kind, body: Option<i64>, fields: Value) -> i64 {
    let fields = fields.as_object().unwrap().clone();
    write::change(&mut app.conn(), |c| c.create(kind, body, &fields, AT)).unwrap()
}

/// The source: a Body with a Paper whose four Files are PDFs (one with a
/// text layer and no text given, one with text given by the source, one
/// image only, one garbage), none with a `text` of its own but the second.
fn source(kind: BackendKind) -> TestApp {
    let app = TestApp::new(TestStore::new(kind), false);
    let body = create(&app, Kind::Body, None, json!({"name": "Quellstadt"}));
    let paper = create(
        &app,
        Kind::Paper,
        Some(body),
        json!({"name": "Bebauungsplan Nord", "reference": "0042/2026"}),
    );
    let files: [(&str, Value, Vec<u8>); 4] = [
        (
            "Begründung",
            json!({}),
            oparl::demo::pdf::document(
                "Begründung zum Bebauungsplan",
                &[
                    "Die Grünfläche an der Mühlenstraße bleibt erhalten.".into(),
                    "Der Gemeinderat prüft die Lärmschutzwände.".into(),
                ],
            ),
        ),
        (
            "Lageplan",
            json!({"text": "Lageplan laut Quelle"}),
            oparl::demo::pdf::document("Lageplan", &["Flurstück Ölmühle".into()]),
        ),
        ("Scan", json!({}), image_only_pdf()),
        (
            "Kaputt",
            json!({}),
            b"%PDF-1.7\n\x00\xff garbage, no objects, no xref".to_vec(),
        ),
    ];
    for (name, extra, bytes) in files {
        let mut fields =
            json!({"name": name, "fileName": format!("{name}.pdf"), "mimeType": "application/pdf"});
        fields
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let file = create(&app, Kind::File, Some(body), fields);
        let code = model::rel(Kind::Paper, "auxiliaryFile").code;
        write::change(&mut app.conn(), |c| {
            c.add_link(paper, code, file, AT)?;
            c.store_file_bytes(file, &bytes)
        })
        .unwrap();
    }
    app
}

/// The Files of a store by name, as served.
async fn files_by_name(app: &TestApp) -> std::collections::BTreeMap<String, Value> {
    let bodies = app.json(&format!("{BASE}/body")).await;
    let body = bodies["data"][0]["id"].as_str().unwrap().to_string();
    let list = app.json(&body).await["paper"].clone();
    let papers = app.walk(list.as_str().unwrap()).await;
    papers
        .iter()
        .flat_map(|p| p["auxiliaryFile"].as_array().cloned().unwrap_or_default())
        .map(|f| (f["name"].as_str().unwrap().to_string(), f))
        .collect()
}

async fn search_names(app: &TestApp, q: &str) -> Vec<String> {
    let page = app.json(&format!("{BASE}/search?q={}", enc(q))).await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn an_imported_pdf_gets_its_text_and_is_found_with_its_paper() {
    for kind in backends() {
        let rt = multi_thread_runtime();
        let a = source(kind);
        let b = a.empty_sibling();
        let label = b.label();
        rt.block_on(async {
            let a_base = serve_api(&a.state, Some(as_vendor(Arc::new(|_, _, _| {})))).await;
            // First without the bytes: no text to read.
            let (outcome, report) = import(&b, options(&a_base)).await.unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            assert_eq!(report.file_texts, 0, "[{label}]");
            let files = files_by_name(&b).await;
            assert!(files["Begründung"].get("text").is_none(), "[{label}]");
            assert!(
                search_names(&b, "Mühlenstraße").await.is_empty(),
                "[{label}]"
            );

            // Then with them, reading everything again: the Files are
            // unchanged, and the one without text gets its PDF's.
            let mut opts = options(&a_base);
            opts.with_files = true;
            opts.full = true;
            let (outcome, report) = import(&b, opts).await.unwrap();
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            assert_eq!(report.files_stored, 4, "[{label}] {}", report.summary());
            // The Lageplan's text came from the source; only one is read.
            assert_eq!(report.file_texts, 1, "[{label}] {}", report.summary());
            let files = files_by_name(&b).await;
            let text = files["Begründung"]["text"].as_str().unwrap_or_default();
            for words in [
                "Begründung zum Bebauungsplan",
                "Die Grünfläche an der Mühlenstraße bleibt erhalten.",
                "Der Gemeinderat prüft die Lärmschutzwände.",
            ] {
                assert!(text.contains(words), "[{label}] {words:?} in {text:?}");
            }
            assert_eq!(
                files["Lageplan"]["text"], "Lageplan laut Quelle",
                "[{label}]"
            );
            // Found by a word of the PDF (stemmed and folded as any text):
            // the File, and the Paper that holds it.
            let mut found = search_names(&b, "Lärmschutzwand").await;
            found.sort();
            assert_eq!(found, ["Bebauungsplan Nord", "Begründung"], "[{label}]");
            let found = search_names(&b, "MUHLENSTRASSE").await;
            assert!(
                found.contains(&"Begründung".to_string()),
                "[{label}] {found:?}"
            );
        });
    }
}

#[test]
fn pdfs_without_text_are_counted_and_the_import_completes() {
    for kind in backends() {
        let rt = multi_thread_runtime();
        let a = source(kind);
        let b = a.empty_sibling();
        let label = b.label();
        let report_file = temp_dir("file-text-report", label).with_extension("json");
        rt.block_on(async {
            let a_base = serve_api(&a.state, Some(as_vendor(Arc::new(|_, _, _| {})))).await;
            let mut opts = options(&a_base);
            opts.with_files = true;
            opts.report_file = Some(report_file.clone());
            let (outcome, report) = import(&b, opts).await.unwrap();
            // Neither is a skip: the Files and their bytes are stored.
            assert_eq!(outcome, Outcome::Complete, "[{label}] {}", report.summary());
            assert_eq!(report.skips(), 0, "[{label}]");
            assert_eq!(report.files_stored, 4, "[{label}]");
            assert_eq!(report.pdf_without_text, 1, "[{label}] {}", report.summary());
            assert_eq!(report.pdf_unreadable, 1, "[{label}] {}", report.summary());
            let summary = report.summary();
            assert!(
                summary.contains("PDF files without a text layer: 1\n"),
                "[{label}] {summary}"
            );
            assert!(
                summary.contains("unreadable PDF files: 1\n"),
                "[{label}] {summary}"
            );
            let written: Value =
                serde_json::from_slice(&std::fs::read(&report_file).unwrap()).unwrap();
            assert_eq!(
                written["fileText"],
                json!({"read": 1, "pdfWithoutTextLayer": 1, "pdfUnreadable": 1}),
                "[{label}]"
            );
            let noted: Vec<&str> = written["entries"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "fileText")
                .map(|e| e["what"].as_str().unwrap())
                .collect();
            assert_eq!(noted.len(), 2, "[{label}] {written}");
            assert!(noted.contains(&"PDF without a text layer"), "[{label}]");
            assert!(noted.contains(&"unreadable PDF"), "[{label}]");

            let files = files_by_name(&b).await;
            for name in ["Scan", "Kaputt"] {
                let file = &files[name];
                assert!(file.get("text").is_none(), "[{label}] {name}: {file}");
                // The bytes are ours all the same.
                let served = b.get(file["accessUrl"].as_str().unwrap()).await;
                assert_eq!(served.status, 200, "[{label}] {name}");
                assert!(served.body.starts_with(b"%PDF-1."), "[{label}] {name}");
            }
        });
        let _ = std::fs::remove_file(&report_file);
    }
}
