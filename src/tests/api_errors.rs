//! HTTP behaviour around the data: methods, HEAD and OPTIONS, 301 to the
//! canonical URL, and bad input that must never produce a 5xx.

use crate::support::*;
use hyper::Method;

#[test]
fn head_options_and_other_methods() {
    each_backend(true, |app| async move {
        let get = app.get(BASE).await;
        let head = app.request(Method::HEAD, BASE, &[]).await;
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        assert_eq!(
            head.header("content-length"),
            Some(get.body.len().to_string().as_str())
        );
        assert_eq!(head.header("content-type"), get.header("content-type"));
        let options = app
            .request(Method::OPTIONS, &format!("{BASE}/body"), &[])
            .await;
        assert_eq!(options.status, 204);
        assert_eq!(options.header("access-control-allow-origin"), Some("*"));
        assert!(options.header("allow").unwrap().contains("GET"));
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let answer = app.request(method.clone(), BASE, &[]).await;
            assert_eq!(answer.status, 405, "{method}");
            assert_eq!(answer.json()["type"], "https://schema.oparl.org/1.1/Error");
            assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
        }
    });
}

#[test]
fn non_canonical_urls_redirect_permanently() {
    each_backend(true, |app| async move {
        let system = app.json(BASE).await;
        let body = system["body"].as_str().unwrap();
        let papers = app.json(body).await["data"][0]["paper"]
            .as_str()
            .unwrap()
            .to_string();
        let paper = app.json(&papers).await["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let pk = pk_of(&paper);
        for (wrong, right) in [
            (format!("{BASE}/"), BASE.to_string()),
            (format!("{BASE}/paper/00{pk}"), paper.clone()),
            (format!("{BASE}/Paper/{pk}"), paper.clone()),
            (format!("{BASE}/paper/{pk}/"), paper.clone()),
            (format!("{BASE}//paper//{pk}"), paper.clone()),
            (format!("{papers}/?limit=5"), format!("{papers}?limit=5")),
        ] {
            let answer = app.get(&wrong).await;
            assert_eq!(answer.status, 301, "{wrong}");
            assert_eq!(answer.header("location"), Some(right.as_str()), "{wrong}");
        }
    });
}

#[test]
fn bad_input_never_yields_a_server_error() {
    each_backend(true, |app| async move {
        let system = app.json(BASE).await;
        let bodies = system["body"].as_str().unwrap().to_string();
        let papers = app.json(&bodies).await["data"][0]["paper"]
            .as_str()
            .unwrap()
            .to_string();
        let sql = [
            "'",
            "%27%20OR%20%271%27%3D%271",
            "1;DROP%20TABLE%20object",
            "%22%3B--",
            "1%20UNION%20SELECT%201",
        ];
        let mut urls = vec![
            format!("{BASE}/paper/abc"),
            format!("{BASE}/paper/%ZZ"),
            format!("{BASE}/paper/%FF%FE"),
            format!("{BASE}/body/1/nothing"),
            format!("{BASE}/{}", "a/".repeat(3000)),
            format!("{papers}?after=99999999999999999999999"),
            format!("{papers}?after=%ZZ"),
            format!("{papers}?modified_since=%E2%82%AC"),
            format!("{papers}?modified_since=9999999-01-01T00:00:00Z"),
            format!("{papers}?created_since=%"),
            format!("{BASE}/file/1/access?x=%"),
            // Longer than any request target we answer.
            format!("{papers}?{}", "a=b&".repeat(oparl::api::MAX_URI_LENGTH / 4)),
        ];
        for s in sql {
            for param in [
                "created_since",
                "created_until",
                "modified_since",
                "modified_until",
                "limit",
                "after",
                "omit_internal",
            ] {
                urls.push(format!("{papers}?{param}={s}"));
            }
            urls.push(format!("{BASE}/paper/{s}"));
            urls.push(format!("{BASE}/body/{s}/paper"));
        }
        for url in urls {
            let answer = app.get(&url).await;
            assert!(
                answer.status.is_client_error(),
                "[{}] {url}: {}",
                app.label(),
                answer.status
            );
            assert_eq!(
                answer.json()["type"],
                "https://schema.oparl.org/1.1/Error",
                "{url}"
            );
        }
        // The store is intact afterwards.
        assert_eq!(app.get(&papers).await.status, 200);
    });
}
