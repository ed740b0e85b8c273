//! The URL space of the API, parsed from a request path. Every URL that
//! `urls::Urls` mints parses back to its route; any other spelling of the
//! same route (case, doubled or trailing slashes, leading zeros) is
//! recognised and answered with a 301 to the canonical URL (spec §2.3 URLs).

use crate::model::{Kind, ListKind, BODY_LISTS};
use crate::urls::Urls;

/// What a request path addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    System,
    Object(Kind, i64),
    /// A list and its owner (a Body or Organization pk; 0 for `System.body`).
    List(ListKind, i64),
    /// The bytes of a File.
    FileContent(i64, Disposition),
    /// The change feed.
    Changes,
    /// The full-text search.
    Search,
    /// The bulk dump of a Body, or of the whole store.
    Dump(Option<i64>),
    /// The DCAT-AP.de catalogue.
    Dcat,
    /// Where the write API takes a File's bytes (`PUT`).
    FileUpload(i64),
    /// Where the write API takes batches (`POST`).
    Batch,
}

/// How a File's bytes are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// `accessUrl`: shown inline.
    Access,
    /// `downloadUrl`: `Content-Disposition: attachment`.
    Download,
}

/// The outcome of parsing a path.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    Found(Route),
    /// The path names a route in a non-canonical spelling; this is the
    /// canonical URL.
    Redirect(String),
    NotFound,
}

/// The name of the route a path takes, for metrics: a handful of names,
/// never anything of the path itself.
pub fn label(urls: &Urls, path: &str) -> &'static str {
    match path {
        super::probes::HEALTH | super::probes::READY => return "probe",
        super::probes::METRICS => return "metrics",
        _ => {}
    }
    match resolve(urls, path) {
        Resolved::Found(route) => match route {
            Route::System => "system",
            Route::Object(..) => "object",
            Route::List(..) => "list",
            Route::FileContent(..) => "file",
            Route::Changes => "changes",
            Route::Search => "search",
            Route::Dump(_) => "dump",
            Route::Dcat => "dcat",
            Route::FileUpload(_) => "file_content",
            Route::Batch => "batch",
        },
        Resolved::Redirect(_) => "redirect",
        Resolved::NotFound => "unknown",
    }
}

impl Route {
    /// The canonical URL of this route.
    pub fn url(&self, urls: &Urls) -> String {
        match *self {
            Route::System => urls.system(),
            Route::Object(kind, pk) => urls.object(kind, pk),
            Route::List(list, owner) => urls.list(list, owner),
            Route::FileContent(pk, Disposition::Access) => urls.file_access(pk),
            Route::FileContent(pk, Disposition::Download) => urls.file_download(pk),
            Route::Changes => urls.changes(),
            Route::Search => urls.search(),
            Route::Dump(body) => urls.dump(body),
            Route::Dcat => urls.dcat(),
            Route::FileUpload(pk) => format!("{}/content", urls.object(Kind::File, pk)),
            Route::Batch => format!("{}/batch", urls.system()),
        }
    }
}

/// Parse a request path (without query) against the base URL's path.
pub fn resolve(urls: &Urls, path: &str) -> Resolved {
    let base = urls.base_path();
    let Some(rest) = strip_prefix_ignore_case(path, base) else {
        return Resolved::NotFound;
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return Resolved::NotFound;
    }
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let Some(route) = parse_segments(&segments) else {
        return Resolved::NotFound;
    };
    let canonical = route.url(urls);
    if urls.path_of(&canonical) == path {
        Resolved::Found(route)
    } else {
        Resolved::Redirect(canonical)
    }
}

fn parse_segments(segments: &[&str]) -> Option<Route> {
    let route = match *segments {
        [] => Route::System,
        ["body"] => Route::List(ListKind::Bodies, 0),
        ["changes"] => Route::Changes,
        ["search"] => Route::Search,
        ["dump"] => Route::Dump(None),
        ["dcat"] => Route::Dcat,
        ["batch"] => Route::Batch,
        ["file", id, "content"] => Route::FileUpload(number(id)?),
        ["body", id, "dump"] => Route::Dump(Some(number(id)?)),
        [kind, id] => {
            let kind = Kind::from_segment(kind).filter(|k| *k != Kind::System)?;
            Route::Object(kind, number(id)?)
        }
        ["body", id, list] => {
            let kind = Kind::from_segment(list)?;
            BODY_LISTS.iter().find(|(_, k)| *k == kind)?;
            Route::List(ListKind::Body(kind), number(id)?)
        }
        ["organization", id, "meeting"] => Route::List(ListKind::OrganizationMeetings, number(id)?),
        ["organization", id, "consultation"] => {
            Route::List(ListKind::OrganizationConsultations, number(id)?)
        }
        ["file", id, "access"] => Route::FileContent(number(id)?, Disposition::Access),
        ["file", id, "download"] => Route::FileContent(number(id)?, Disposition::Download),
        _ => return None,
    };
    Some(route)
}

/// A positive decimal number; leading zeros are accepted (and redirected).
fn number(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 30 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = text.trim_start_matches('0');
    if trimmed.is_empty() || trimmed.len() > 18 {
        return None;
    }
    trimmed.parse().ok()
}

fn strip_prefix_ignore_case<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let head = path.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &path[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> Urls {
        Urls::new("http://example.org/oparl/v1.1").unwrap()
    }

    #[test]
    fn every_minted_url_parses_back() {
        let urls = urls();
        let mut routes = vec![Route::System, Route::List(ListKind::Bodies, 0)];
        for kind in Kind::ALL.into_iter().filter(|k| *k != Kind::System) {
            routes.push(Route::Object(kind, 42));
        }
        for (_, kind) in BODY_LISTS {
            routes.push(Route::List(ListKind::Body(kind), 7));
        }
        routes.push(Route::List(ListKind::OrganizationMeetings, 3));
        routes.push(Route::List(ListKind::OrganizationConsultations, 3));
        routes.push(Route::FileContent(9, Disposition::Access));
        routes.push(Route::FileContent(9, Disposition::Download));
        routes.push(Route::Changes);
        routes.push(Route::Search);
        routes.push(Route::Dump(None));
        routes.push(Route::Dump(Some(4)));
        routes.push(Route::Dcat);
        routes.push(Route::FileUpload(9));
        routes.push(Route::Batch);
        for route in routes {
            let url = route.url(&urls);
            assert_eq!(
                resolve(&urls, urls.path_of(&url)),
                Resolved::Found(route),
                "{url}"
            );
        }
    }

    #[test]
    fn other_spellings_redirect() {
        let urls = urls();
        let canonical = "http://example.org/oparl/v1.1/paper/12".to_string();
        for path in [
            "/oparl/v1.1/paper/012",
            "/oparl/v1.1/Paper/12",
            "/oparl/v1.1/paper/12/",
            "/oparl/v1.1//paper/12",
            "/OPARL/v1.1/paper/12",
        ] {
            assert_eq!(
                resolve(&urls, path),
                Resolved::Redirect(canonical.clone()),
                "{path}"
            );
        }
        assert_eq!(
            resolve(&urls, "/oparl/v1.1/"),
            Resolved::Redirect("http://example.org/oparl/v1.1".into())
        );
    }

    #[test]
    fn unknown_paths_are_not_found() {
        let urls = urls();
        for path in [
            "/",
            "/oparl/v1.10",
            "/oparl/v1.1/paper",
            "/oparl/v1.1/paper/0",
            "/oparl/v1.1/paper/-1",
            "/oparl/v1.1/paper/1e3",
            "/oparl/v1.1/paper/99999999999999999999999",
            "/oparl/v1.1/system/1",
            "/oparl/v1.1/body/1/system",
            "/oparl/v1.1/body/1/body",
            "/oparl/v1.1/paper/1/meeting",
            "/oparl/v1.1/paper/%31",
        ] {
            assert_eq!(resolve(&urls, path), Resolved::NotFound, "{path}");
        }
    }
}
