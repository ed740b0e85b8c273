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
            // Not below `system()`, which ends in "/" for an API at the
            // host's root.
            Route::Batch => urls.batch(),
        }
    }
}

/// Parse a request path (without query) against the base URL's path.
pub fn resolve(urls: &Urls, path: &str) -> Resolved {
    match canonical_route(urls, path) {
        Some(route) => Resolved::Found(route),
        None => resolve_spelling(urls, path),
    }
}

/// The route of a path spelled as this server mints it (the base path as
/// configured, then lowercase segments, none empty, numbers without
/// leading zeros), found without copying the segments or minting the URL
/// to compare with: every answer passes here, most of them with a URL the
/// server gave out. None for anything else, which `resolve_spelling` sorts
/// out (redirects to the canonical spelling, or not found).
fn canonical_route(urls: &Urls, path: &str) -> Option<Route> {
    let base = urls.base_path();
    let rest = path.strip_prefix(base)?;
    if rest.is_empty() {
        return (!base.is_empty()).then_some(Route::System);
    }
    let rest = rest.strip_prefix('/')?;
    if rest.is_empty() {
        // The System of an API at the host's root is "/".
        return base.is_empty().then_some(Route::System);
    }
    if rest.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut segments = [""; 4];
    let mut n = 0;
    for segment in rest.split('/') {
        // No route has a segment that starts with 0 but a number with
        // leading zeros, which is redirected.
        if segment.is_empty() || segment.starts_with('0') || n == segments.len() {
            return None;
        }
        segments[n] = segment;
        n += 1;
    }
    parse_segments(&segments[..n])
}

/// [`resolve`] for any spelling: case-insensitive, with empty segments and
/// leading zeros, redirected to the canonical URL.
fn resolve_spelling(urls: &Urls, path: &str) -> Resolved {
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

    #[test]
    fn the_fast_path_agrees_with_the_full_parse() {
        for base in ["http://example.org/oparl/v1.1", "http://example.org"] {
            let urls = Urls::new(base).unwrap();
            let b = urls.base_path().to_string();
            let mut paths = vec![format!("{b}"), format!("{b}/"), "/".to_string()];
            for tail in [
                "body",
                "body/",
                "Body",
                "body//1",
                "body/1",
                "body/01",
                "body/1/paper",
                "body/1/PAPER",
                "body/1/dump",
                "dump",
                "changes",
                "search",
                "dcat",
                "batch",
                "paper/7",
                "paper/0",
                "paper/00",
                "agenda-item/3",
                "agendaitem/3",
                "system",
                "system/1",
                "file/5/access",
                "file/5/download",
                "file/5/content",
                "file/5/x",
                "organization/2/meeting",
                "organization/2/consultation",
                "organization/2/paper",
                "legislative-term/9",
                "paper/12345678901234567890",
                "paper/1/2/3/4",
                "a/b/c/d/e",
            ] {
                paths.push(format!("{b}/{tail}"));
                paths.push(format!("{}/{tail}", b.to_uppercase()));
            }
            for path in paths {
                let full = resolve_spelling(&urls, &path);
                match canonical_route(&urls, &path) {
                    Some(route) => assert_eq!(full, Resolved::Found(route), "{base} {path}"),
                    None => assert!(
                        !matches!(full, Resolved::Found(_)),
                        "{base} {path}: canonical, but the fast path missed it"
                    ),
                }
                assert_eq!(resolve(&urls, &path), full, "{base} {path}");
            }
        }
    }

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
