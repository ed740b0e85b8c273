//! For general search engines: `/robots.txt` and sitemaps (sitemaps.org
//! protocol 0.9) at the root of the base URL's host, listing the page of
//! every live object with its last modification.
//!
//! The protocol allows 50,000 URLs per sitemap, so `/sitemap.xml` is a
//! sitemap index naming one sitemap per block of 50,000 primary keys
//! (`/sitemap-N.xml` holds the objects with `N * 50000 <= pk < (N + 1) *
//! 50000`): a block can never hold more, each is read by a range of the
//! primary key, and only blocks with a live object are named.

use super::error::ApiError;
use super::AppState;
use crate::db::AnyConnection;
use crate::model::Kind;
use crate::search::sql::{self, Bind};
use diesel::sql_types::BigInt;
use diesel::QueryableByName;

/// URLs per sitemap (sitemaps.org: at most 50,000).
pub const PER_SITEMAP: i64 = 50_000;

/// The index: the path of each sitemap.
pub const INDEX_PATH: &str = "/sitemap.xml";

/// The sitemap number of a path `/sitemap-N.xml`.
pub fn part_of(path: &str) -> Option<i64> {
    let n = path.strip_prefix("/sitemap-")?.strip_suffix(".xml")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || (n.len() > 1 && n.starts_with('0'))
    {
        return None;
    }
    n.parse().ok()
}

/// `/robots.txt`: everything may be crawled but the machine interfaces
/// (the change feed, dumps, the write and operations paths), and search
/// results (endless combinations of queries); the sitemap is named.
pub fn robots(state: &AppState) -> String {
    let base = state.urls.base_path();
    format!(
        "User-agent: *\n\
         Disallow: {base}/changes\n\
         Disallow: {base}/dump\n\
         Disallow: {base}/search\n\
         Disallow: {base}/batch\n\
         Disallow: /-/\n\
         Allow: /\n\n\
         Sitemap: {}{INDEX_PATH}\n",
        origin(state)
    )
}

/// The scheme, host and port of the base URL.
fn origin(state: &AppState) -> String {
    let system = state.urls.system();
    let path = state.urls.path_of(&system);
    system[..system.len() - path.len()].to_string()
}

#[derive(QueryableByName)]
struct Part {
    #[diesel(sql_type = BigInt)]
    part: i64,
    #[diesel(sql_type = BigInt)]
    modified: i64,
}

#[derive(QueryableByName)]
struct Entry {
    #[diesel(sql_type = BigInt)]
    pk: i64,
    #[diesel(sql_type = BigInt)]
    kind: i64,
    #[diesel(sql_type = BigInt)]
    modified: i64,
}

/// The sitemap index.
pub fn index(conn: &mut AnyConnection, state: &AppState) -> Result<String, ApiError> {
    // The block size is written into the statement: PostgreSQL groups by
    // an expression only when the select list has the very same one, and
    // two placeholders are two expressions to it.
    let parts: Vec<Part> = sql::load(
        conn,
        &format!(
            "SELECT pk / {PER_SITEMAP} AS part, MAX(modified) AS modified FROM object \
             WHERE deleted = false GROUP BY pk / {PER_SITEMAP} ORDER BY 1"
        ),
        Vec::new(),
    )?;
    let origin = origin(state);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for p in parts {
        out.push_str(&format!(
            "<sitemap><loc>{origin}/sitemap-{}.xml</loc><lastmod>{}</lastmod></sitemap>\n",
            p.part,
            crate::time::format_datetime(p.modified)
        ));
    }
    out.push_str("</sitemapindex>\n");
    Ok(out)
}

/// One sitemap: the pages of the live objects of its block of keys, or
/// None when it holds none (so a number not in the index is a 404).
pub fn part(
    conn: &mut AnyConnection,
    state: &AppState,
    n: i64,
) -> Result<Option<String>, ApiError> {
    let entries: Vec<Entry> = sql::load(
        conn,
        "SELECT pk, CAST(kind AS BIGINT) AS kind, modified FROM object \
         WHERE deleted = false AND pk >= ? AND pk < ? ORDER BY pk",
        vec![
            Bind::Int(n.saturating_mul(PER_SITEMAP)),
            Bind::Int(n.saturating_add(1).saturating_mul(PER_SITEMAP)),
        ],
    )?;
    if entries.is_empty() {
        return Ok(None);
    }
    let mut out = String::with_capacity(entries.len() * 120 + 200);
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for e in entries {
        // Objects of kinds this version does not know have no page.
        let Some(kind) = i16::try_from(e.kind).ok().and_then(Kind::from_code) else {
            continue;
        };
        out.push_str(&format!(
            "<url><loc>{}</loc><lastmod>{}</lastmod></url>\n",
            state.urls.object(kind, e.pk),
            crate::time::format_datetime(e.modified)
        ));
    }
    out.push_str("</urlset>\n");
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::part_of;

    #[test]
    fn sitemap_paths_have_one_spelling() {
        assert_eq!(part_of("/sitemap-0.xml"), Some(0));
        assert_eq!(part_of("/sitemap-23.xml"), Some(23));
        for bad in [
            "/sitemap-.xml",
            "/sitemap-01.xml",
            "/sitemap-x.xml",
            "/sitemap-1.xm",
        ] {
            assert_eq!(part_of(bad), None, "{bad}");
        }
    }
}
