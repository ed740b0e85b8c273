//! `oparl export`: the store, or one Body of it, in the format of the bulk
//! dumps (`crate::dumps`): a header line with the revision and the change
//! feed to continue with, then every object in its standalone form with
//! its revision, tombstones included, all from one snapshot. `oparl import`
//! reads it back, and later follows the feed it names.

use crate::db::AnyConnection;
use crate::dumps::{self, DumpError, Lines};
use crate::urls::Urls;
use std::io::Write;
use std::path::Path;

/// Write the dump of the whole store (or of one Body) to `out`; `name`
/// is what errors call it. Returns (revision, objects).
pub fn export(
    conn: &mut AnyConnection,
    urls: &Urls,
    body: Option<i64>,
    out: &mut dyn Write,
    name: &Path,
) -> Result<(i64, u64), DumpError> {
    let built = crate::time::now();
    let mut outs = [Lines::new(body, out, name)];
    let revision = dumps::snapshot(conn, |conn| {
        dumps::write_dumps(conn, urls, built, &mut outs)
    })?;
    Ok((revision, outs[0].objects))
}

/// The whole store as an uncompressed dump in memory-or-anywhere `out`
/// (tests and the benchmark use it); returns the number of objects.
pub fn export_jsonl(
    conn: &mut AnyConnection,
    urls: &Urls,
    out: &mut dyn Write,
) -> Result<u64, DumpError> {
    export(conn, urls, None, out, Path::new("-")).map(|(_, n)| n)
}
