//! The only place where URLs are minted. Every `id`, reference, list URL and
//! page link comes from [`Urls`], and `api::route` parses exactly these
//! forms back, so the two cannot drift apart (see the round-trip test there).

use crate::model::{Kind, ListKind};
use url::Url;

/// Builds canonical URLs under the public base URL.
#[derive(Debug, Clone)]
pub struct Urls {
    /// The base without a trailing slash, e.g. `http://127.0.0.1:8080/oparl/v1.1`.
    base: String,
    /// The path part of the base without a trailing slash ("" for the root).
    base_path: String,
    /// Whether this server builds the bulk dumps, so that the System and
    /// each Body advertise them (a URL that answers 404 is never shown).
    dumps: bool,
}

impl Urls {
    /// Accepts an absolute http(s) URL without query or fragment.
    pub fn new(base: &str) -> Result<Urls, String> {
        let url = Url::parse(base).map_err(|e| format!("`{base}` is not a URL: {e}"))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(format!("`{base}` must start with http:// or https://"));
        }
        if url.query().is_some() || url.fragment().is_some() || url.host_str().is_none() {
            return Err(format!(
                "`{base}` must have a host and no query or fragment"
            ));
        }
        let text = url.as_str().trim_end_matches('/').to_string();
        let base_path = url.path().trim_end_matches('/').to_string();
        Ok(Urls {
            base: text,
            base_path,
            dumps: false,
        })
    }

    /// The same URLs on a server that builds the bulk dumps.
    pub fn with_dumps(mut self) -> Urls {
        self.dumps = true;
        self
    }

    /// The dump of a Body (or the whole store) as the System or Body
    /// advertises it: only on a server that builds dumps.
    pub fn advertised_dump(&self, body: Option<i64>) -> Option<String> {
        self.dumps.then(|| self.dump(body))
    }

    /// The path under which the API lives ("" for the root).
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The System object's URL: the base URL itself.
    pub fn system(&self) -> String {
        if self.base_path.is_empty() {
            format!("{}/", self.base)
        } else {
            self.base.clone()
        }
    }

    /// The canonical URL of an object, e.g. `.../paper/12`.
    pub fn object(&self, kind: Kind, pk: i64) -> String {
        if kind == Kind::System {
            return self.system();
        }
        format!("{}/{}/{pk}", self.base, kind.segment())
    }

    /// The first-page URL of a list, without any query string, e.g.
    /// `.../body/1/paper` or `.../organization/4/meeting`: clients append
    /// their filters to the first page's URL (spec §2.5, filters), which
    /// only works on a URL without a query of its own.
    pub fn list(&self, list: ListKind, owner: i64) -> String {
        match list {
            ListKind::Bodies => format!("{}/body", self.base),
            ListKind::Body(kind) => format!("{}/body/{owner}/{}", self.base, kind.segment()),
            ListKind::OrganizationMeetings => format!("{}/organization/{owner}/meeting", self.base),
            ListKind::OrganizationConsultations => {
                format!("{}/organization/{owner}/consultation", self.base)
            }
        }
    }

    /// The change feed (this server's extension; see `api::changes`).
    pub fn changes(&self) -> String {
        format!("{}/changes", self.base)
    }

    /// The change feed of one Body, or with None of the whole store.
    pub fn changes_of(&self, body: Option<i64>) -> String {
        match body {
            Some(pk) => format!("{}/changes?body={pk}", self.base),
            None => self.changes(),
        }
    }

    /// The full-text search (this server's extension; see `api::search`).
    pub fn search(&self) -> String {
        format!("{}/search", self.base)
    }

    /// Where the search of one Body starts: its URL with `body` and no
    /// query (the client adds `q`).
    pub fn search_of(&self, body: Option<i64>) -> String {
        match body {
            Some(pk) => format!("{}/search?body={pk}", self.base),
            None => self.search(),
        }
    }

    /// The calendar of the meetings of a Body or an Organization
    /// (iCalendar; see `api::feeds`): their list of meetings as a calendar.
    pub fn calendar(&self, kind: Kind, owner: i64) -> String {
        let list = if kind == Kind::Body {
            ListKind::Body(Kind::Meeting)
        } else {
            ListKind::OrganizationMeetings
        };
        format!("{}?format=ics", self.list(list, owner))
    }

    /// The DCAT-AP.de catalogue (this server's extension; see `api::dcat`).
    pub fn dcat(&self) -> String {
        format!("{}/dcat", self.base)
    }

    /// Where the write API takes batches.
    pub fn batch(&self) -> String {
        format!("{}/batch", self.base)
    }

    /// The bulk dump of a Body, or with None of the whole store.
    pub fn dump(&self, body: Option<i64>) -> String {
        match body {
            Some(pk) => format!("{}/body/{pk}/dump", self.base),
            None => format!("{}/dump", self.base),
        }
    }

    /// Where a File's bytes are shown (no attachment disposition).
    pub fn file_access(&self, pk: i64) -> String {
        format!("{}/file/{pk}/access", self.base)
    }

    /// Where a File's bytes are downloaded (attachment disposition).
    pub fn file_download(&self, pk: i64) -> String {
        format!("{}/file/{pk}/download", self.base)
    }

    /// The path of one of our URLs (everything after scheme, host and port).
    pub fn path_of<'a>(&self, url: &'a str) -> &'a str {
        let origin = self.base.len() - self.base_path.len();
        url.get(origin..).unwrap_or("/")
    }

    /// Whether a URL is one of ours.
    pub fn is_ours(&self, url: &str) -> bool {
        url == self.system() || url.starts_with(&format!("{}/", self.base))
    }
}
