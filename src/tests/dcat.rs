//! The DCAT-AP.de catalogue (`B/dcat`): one Dataset per live Body, the
//! licence mapping, the dump distributions' size and checksum, and every
//! URL of ours in it resolving.

use crate::support::*;
use hyper::Method;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// The nodes of the catalogue's graph of one type.
fn nodes<'a>(doc: &'a Value, ty: &str) -> Vec<&'a Value> {
    doc["@graph"]
        .as_array()
        .expect("@graph is an array")
        .iter()
        .filter(|n| n["@type"] == ty)
        .collect()
}

fn node<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["@id"] == id)
        .unwrap_or_else(|| panic!("no node {id}"))
}

/// Every string in the document that is a URL of this server.
fn our_urls(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) if s.starts_with(BASE) => {
            out.insert(s.split('#').next().unwrap().to_string());
        }
        Value::Array(a) => a.iter().for_each(|v| our_urls(v, out)),
        Value::Object(o) => o.values().for_each(|v| our_urls(v, out)),
        _ => {}
    }
}

/// The live Bodies' pks, as the API lists them.
async fn body_pks(app: &TestApp) -> BTreeSet<i64> {
    app.walk(&format!("{BASE}/body"))
        .await
        .iter()
        .map(|b| pk_of(b["id"].as_str().unwrap()))
        .collect()
}

#[test]
fn the_catalogue_has_a_dataset_per_body_dumps_with_their_checksums_and_only_urls_that_resolve() {
    each_backend(true, |app| async move {
        let label = app.label();
        let (state, dumps) = state_with_dumps(&app, "dcat");
        let urls = state.urls.clone();
        dumps.build(app.store.db(), &urls).unwrap();
        let app = TestApp {
            state,
            store: app.store,
        };

        let system = app.json(BASE).await;
        assert_eq!(system["server:dcat"], format!("{BASE}/dcat"), "[{label}]");
        let answer = app.get(&format!("{BASE}/dcat")).await;
        assert_eq!(answer.status, 200, "[{label}]");
        assert!(answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/ld+json")));
        let doc = answer.json();

        // One Dataset per live Body (plus the whole store's).
        let bodies = body_pks(&app).await;
        assert!(!bodies.is_empty());
        let datasets = nodes(&doc, "dcat:Dataset");
        let described: BTreeSet<i64> = datasets
            .iter()
            .filter_map(|d| d["dct:identifier"].as_str())
            .filter(|id| id.starts_with(&format!("{BASE}/body/")))
            .map(pk_of)
            .collect();
        assert_eq!(described, bodies, "[{label}]");
        assert_eq!(datasets.len(), bodies.len() + 1, "[{label}]");
        let catalog = &nodes(&doc, "dcat:Catalog")[0];
        assert_eq!(
            catalog["dcat:dataset"].as_array().unwrap().len(),
            datasets.len()
        );
        let service = &nodes(&doc, "dcat:DataService")[0];
        assert_eq!(service["dcat:endpointURL"]["@id"], BASE);
        assert_eq!(
            service["dct:conformsTo"]["@id"],
            "https://schema.oparl.org/1.1/"
        );

        // The demo city: geocoding from ags/rgs, contact, temporal coverage.
        let city = datasets
            .iter()
            .find(|d| d["dct:publisher"]["foaf:name"] == "Stadt Lindenbrück")
            .expect("the demo city's dataset");
        let geo: Vec<&str> = city["dcatde:politicalGeocodingURI"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["@id"].as_str().unwrap())
            .collect();
        assert_eq!(
            geo,
            [
                "http://dcat-ap.de/def/politicalGeocoding/regionalKey/059990120000",
                "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/05999012"
            ]
        );
        assert_eq!(
            city["dcat:contactPoint"]["vcard:hasEmail"]["@id"],
            "mailto:ratsbuero@lindenbrueck.example"
        );
        let start = city["dct:temporal"]["dcat:startDate"]["@value"]
            .as_str()
            .unwrap();
        let end = city["dct:temporal"]["dcat:endDate"]["@value"]
            .as_str()
            .unwrap();
        assert!(start.len() == 10 && start < end, "[{label}] {start}..{end}");

        // Each dump distribution states the file's size and SHA-256, and
        // downloading it gives exactly those bytes.
        let mut dump_distributions = 0;
        let distributions = datasets
            .iter()
            .flat_map(|d| d["dcat:distribution"].as_array().unwrap());
        for d in distributions {
            let Some(download) = d["dcat:downloadURL"]["@id"].as_str() else {
                continue;
            };
            dump_distributions += 1;
            assert_eq!(d["dcat:accessURL"]["@id"], download);
            let got = app.get(download).await;
            assert_eq!(got.status, 200, "[{label}] {download}");
            assert_eq!(
                d["dcat:byteSize"]["@value"],
                got.body.len() as u64,
                "[{label}] {download}"
            );
            let hex: String = Sha256::digest(&got.body)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(
                d["spdx:checksum"]["spdx:checksumValue"]["@value"], hex,
                "[{label}] {download}"
            );
            let body = download
                .strip_suffix("/dump")
                .and_then(|b| b.strip_prefix(&format!("{BASE}/body/")))
                .map(|n| n.parse::<i64>().unwrap());
            let file = dumps.get(body).unwrap();
            assert_eq!(hex, file.sha256);
        }
        assert_eq!(dump_distributions, bodies.len() + 1, "[{label}]");

        // Every URL of this server in the catalogue resolves.
        let mut ours = BTreeSet::new();
        our_urls(&doc, &mut ours);
        assert!(ours.len() > bodies.len() * 3, "[{label}] {ours:?}");
        for url in ours {
            assert_eq!(app.get(&url).await.status, 200, "[{label}] {url}");
        }
        std::fs::remove_dir_all(dumps.dir()).ok();
    });
}

/// Replace some plain values of an object through the write path.
fn set_fields(app: &TestApp, pk: i64, set: &[(&str, Option<&str>)]) {
    let mut conn = app.conn();
    let row = oparl::store::read::object(&mut conn, pk).unwrap().unwrap();
    let mut fields: Map<String, Value> = serde_json::from_str(&row.fields).unwrap();
    for (name, value) in set {
        match value {
            Some(v) => fields.insert(name.to_string(), Value::from(*v)),
            None => fields.remove(*name),
        };
    }
    let at = oparl::time::now();
    oparl::store::write::change(&mut conn, |c| c.update_fields(pk, &fields, at)).unwrap();
}

#[test]
fn licences_map_to_the_dcat_ap_de_vocabulary_with_attribution_where_demanded() {
    each_backend(true, |app| async move {
        let label = app.label();
        let city = app
            .walk(&format!("{BASE}/body"))
            .await
            .into_iter()
            .find(|b| b["name"] == "Stadt Lindenbrück")
            .unwrap();
        let pk = pk_of(city["id"].as_str().unwrap());
        let system_pk = {
            let mut conn = app.conn();
            oparl::store::read::system(&mut conn).unwrap().unwrap().pk
        };
        // (Body.license, System.license, expected licence, attribution)
        let cases = [
            (
                Some("https://creativecommons.org/licenses/by/4.0/"),
                None,
                "http://dcat-ap.de/def/licenses/cc-by/4.0",
                true,
            ),
            (
                Some("https://creativecommons.org/publicdomain/zero/1.0/"),
                None,
                "http://dcat-ap.de/def/licenses/cc-zero",
                false,
            ),
            (
                Some("https://www.govdata.de/dl-de/by-2-0"),
                None,
                "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
                true,
            ),
            // No licence on the Body: the System's holds.
            (
                None,
                Some("https://www.govdata.de/dl-de/zero-2-0"),
                "http://dcat-ap.de/def/licenses/dl-zero-de/2.0",
                false,
            ),
            (
                Some("https://ris.example/nutzungsbedingungen"),
                None,
                "http://dcat-ap.de/def/licenses/other-closed",
                false,
            ),
        ];
        for (body_licence, system_licence, expected, attribution) in cases {
            set_fields(&app, pk, &[("license", body_licence)]);
            if system_licence.is_some() {
                set_fields(&app, system_pk, &[("license", system_licence)]);
            }
            let doc = app.json(&format!("{BASE}/dcat")).await;
            let dataset = node(&doc, &format!("{BASE}/dcat#body-{pk}"));
            let distributions = dataset["dcat:distribution"].as_array().unwrap();
            assert!(!distributions.is_empty());
            for d in distributions {
                assert_eq!(
                    d["dct:license"]["@id"], expected,
                    "[{label}] {body_licence:?}"
                );
                let text = &d["dcatde:licenseAttributionByText"]["@value"];
                assert_eq!(text.is_string(), attribution, "[{label}] {body_licence:?}");
                if attribution {
                    assert!(text.as_str().unwrap().contains("Stadt Lindenbrück"));
                }
            }
        }
    });
}

#[test]
fn the_catalogue_is_negotiated_between_json_ld_and_turtle() {
    each_backend(true, |app| async move {
        let label = app.label();
        let url = format!("{BASE}/dcat");
        let pk = app
            .walk(&format!("{BASE}/body"))
            .await
            .into_iter()
            .find(|b| b["name"] == "Stadt Lindenbrück")
            .map(|b| pk_of(b["id"].as_str().unwrap()))
            .unwrap();
        // A name with every character Turtle must escape, and some it must not.
        let name = "Rat \"Nord\" \\ Süd\nzweite Zeile\tß";
        set_fields(&app, pk, &[("name", Some(name))]);

        let default = app.get(&url).await;
        assert_eq!(default.status, 200, "[{label}]");
        assert_eq!(
            default.header("content-type"),
            Some("application/ld+json; charset=utf-8")
        );
        assert_eq!(default.header("vary"), Some("Accept"), "[{label}]");
        let doc = default.json();
        let dataset = node(&doc, &format!("{BASE}/dcat#body-{pk}"));
        assert_eq!(
            dataset["dct:title"]["@value"],
            format!("Ratsinformationen: {name}")
        );

        let turtle = app
            .request(Method::GET, &url, &[("accept", "text/turtle")])
            .await;
        assert_eq!(turtle.status, 200, "[{label}]");
        assert_eq!(
            turtle.header("content-type"),
            Some("text/turtle; charset=utf-8")
        );
        assert_eq!(turtle.header("vary"), Some("Accept"), "[{label}]");
        let text = std::str::from_utf8(&turtle.body).expect("Turtle is UTF-8");
        assert!(text.starts_with("@prefix dcat: <http://www.w3.org/ns/dcat#> .\n"));
        assert!(
            text.contains(&format!(
                "<{BASE}/dcat#body-{pk}>\n    a dcat:Dataset ;\n    dct:title \
                 \"Ratsinformationen: Rat \\\"Nord\\\" \\\\ Süd\\nzweite Zeile\\tß\"@de ;\n"
            )),
            "[{label}] {text}"
        );
        // The same nodes as the JSON-LD: every node with an IRI is a
        // subject of a block of its own.
        let graph = doc["@graph"].as_array().unwrap();
        for n in graph {
            let id = n["@id"].as_str().unwrap();
            assert!(
                text.contains(&format!("\n<{id}>\n    a ")),
                "[{label}] {id}"
            );
        }
        let datasets = text.matches("    a dcat:Dataset ;").count();
        assert_eq!(datasets, nodes(&doc, "dcat:Dataset").len(), "[{label}]");

        // Preferences with qualities, and the browser's Accept.
        for (accept, expected) in [
            ("application/ld+json;q=0.5, text/turtle", "text/turtle"),
            ("text/turtle;q=0.5, application/json", "application/ld+json"),
            ("text/*", "text/turtle"),
            (
                "text/html,application/xhtml+xml,*/*;q=0.8",
                "application/ld+json",
            ),
        ] {
            let answer = app.request(Method::GET, &url, &[("accept", accept)]).await;
            assert_eq!(answer.status, 200, "[{label}] {accept}");
            assert!(
                answer.header("content-type").unwrap().starts_with(expected),
                "[{label}] {accept}"
            );
        }
        // HEAD: the headers of GET, no body.
        let head = app
            .request(Method::HEAD, &url, &[("accept", "text/turtle")])
            .await;
        assert_eq!(head.status, 200, "[{label}]");
        assert!(head.body.is_empty());
        assert_eq!(
            head.header("content-length"),
            Some(turtle.body.len().to_string().as_str())
        );

        // Nothing we can serve: 406 with the Error object.
        for accept in ["text/html", "application/rdf+xml", "text/turtle;q=0"] {
            let refused = app.request(Method::GET, &url, &[("accept", accept)]).await;
            assert_eq!(refused.status, 406, "[{label}] {accept}");
            let error = refused.json();
            assert_eq!(error["type"], "https://schema.oparl.org/1.1/Error");
            assert!(error["debug"].as_str().unwrap().contains(accept));
        }
    });
}

#[test]
fn the_catalogue_is_kept_under_an_etag_of_the_store_revision_the_dumps_and_the_representation() {
    each_backend(true, |app| async move {
        let label = app.label();
        let (state, dumps) = state_with_dumps(&app, "dcat-etag");
        let urls = state.urls.clone();
        dumps.build(app.store.db(), &urls).unwrap();
        let app = TestApp {
            state,
            store: app.store,
        };
        let url = format!("{BASE}/dcat");
        const TURTLE: &[(&str, &str)] = &[("accept", "text/turtle")];
        let get = |headers: &'static [(&'static str, &'static str)]| {
            let (app, url) = (&app, &url);
            async move { app.request(Method::GET, url, headers).await }
        };
        let etag_of = |a: &Answer| a.header("etag").expect("an ETag").to_string();

        let first = get(&[]).await;
        assert_eq!(first.status, 200, "[{label}]");
        assert_eq!(first.header("cache-control"), Some("no-cache"));
        let json_tag = etag_of(&first);
        let ttl = get(TURTLE).await;
        let ttl_tag = etag_of(&ttl);
        assert_ne!(
            json_tag, ttl_tag,
            "[{label}] each representation its own tag"
        );

        // Nothing changed: the same tag, the same bytes, and 304 when asked.
        let again = get(&[]).await;
        assert_eq!(etag_of(&again), json_tag, "[{label}]");
        assert_eq!(again.body, first.body, "[{label}]");
        assert_eq!(etag_of(&get(TURTLE).await), ttl_tag, "[{label}]");
        let revalidate = |tag: String, accept: &'static str| {
            let (app, url) = (&app, &url);
            async move {
                app.request(
                    Method::GET,
                    url,
                    &[("if-none-match", &tag), ("accept", accept)],
                )
                .await
            }
        };
        let fresh = revalidate(json_tag.clone(), "application/ld+json").await;
        assert_eq!(fresh.status, 304, "[{label}]");
        assert!(fresh.body.is_empty());
        assert_eq!(etag_of(&fresh), json_tag);
        assert_eq!(fresh.header("vary"), Some("Accept"));
        assert_eq!(fresh.header("cache-control"), Some("no-cache"));
        assert_eq!(
            revalidate(ttl_tag.clone(), "text/turtle").await.status,
            304,
            "[{label}]"
        );
        // The JSON-LD's tag does not validate the Turtle.
        assert_eq!(
            revalidate(json_tag.clone(), "text/turtle").await.status,
            200,
            "[{label}]"
        );

        // A write: new tags, and the catalogue shows it.
        let city = app
            .walk(&format!("{BASE}/body"))
            .await
            .into_iter()
            .find(|b| b["name"] == "Stadt Lindenbrück")
            .unwrap();
        let pk = pk_of(city["id"].as_str().unwrap());
        set_fields(&app, pk, &[("name", Some("Stadt Lindenbrück-Süd"))]);
        let written = revalidate(json_tag.clone(), "application/ld+json").await;
        assert_eq!(written.status, 200, "[{label}] a write changes the tag");
        let written_tag = etag_of(&written);
        assert_ne!(written_tag, json_tag);
        let doc = written.json();
        assert_eq!(
            node(&doc, &format!("{BASE}/dcat#body-{pk}"))["dct:title"]["@value"],
            "Ratsinformationen: Stadt Lindenbrück-Süd",
            "[{label}]"
        );
        let written_ttl = revalidate(ttl_tag.clone(), "text/turtle").await;
        assert_eq!(written_ttl.status, 200, "[{label}]");
        assert_ne!(etag_of(&written_ttl), ttl_tag);
        assert!(std::str::from_utf8(&written_ttl.body)
            .unwrap()
            .contains("Stadt Lindenbrück-Süd"));

        // A new dump (of the same store revision): new tags, and the
        // catalogue names the new file's checksum.
        assert_eq!(get(&[]).await.header("etag"), Some(written_tag.as_str()));
        let before = dumps.get(None).unwrap();
        dumps.build(app.store.db(), &urls).unwrap();
        let after = dumps.get(None).unwrap();
        assert_ne!(before.revision, after.revision, "[{label}]");
        let rebuilt = revalidate(written_tag.clone(), "application/ld+json").await;
        assert_eq!(rebuilt.status, 200, "[{label}] a new dump changes the tag");
        assert_ne!(etag_of(&rebuilt), written_tag);
        let doc = rebuilt.json();
        let all_dump = node(&doc, &format!("{BASE}/dcat#all"))["dcat:distribution"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["@id"] == format!("{BASE}/dcat#all-dump"))
            .unwrap();
        assert_eq!(
            all_dump["spdx:checksum"]["spdx:checksumValue"]["@value"], after.sha256,
            "[{label}]"
        );
        assert_eq!(
            revalidate(etag_of(&rebuilt), "application/ld+json")
                .await
                .status,
            304,
            "[{label}]"
        );
        std::fs::remove_dir_all(dumps.dir()).ok();
    });
}
