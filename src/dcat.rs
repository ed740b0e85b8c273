//! The DCAT-AP.de 3.0 catalogue of this server (`GET {base}/dcat`, see
//! `api::dcat`): one `dcat:Catalog` for the System, one `dcat:Dataset` per
//! live Body plus one for the whole store, a `dcat:DataService` for the
//! OParl API, and `dcat:Distribution`s for the API and the bulk dumps.
//!
//! The graph is built here without HTTP: [`load`] reads what the catalogue
//! needs (System, Bodies, the dates a Body's data covers), [`catalog`]
//! turns it into JSON-LD. Values come from the OParl objects (OParl 1.1,
//! Abschnitt "oparl:Body": name, ags, rgs, license, contact fields,
//! website, keyword); what the data cannot say comes from [`DcatSettings`].
//! [`turtle`] writes the same graph as Turtle.

pub mod turtle;

use crate::db::{AnyConnection, DbError};
use crate::dumps::DumpFile;
use crate::model::Kind;
use crate::store::read;
use crate::urls::Urls;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The dcat-ap.de licence vocabulary.
pub const LICENCE_PREFIX: &str = "http://dcat-ap.de/def/licenses/";
/// What a licence we cannot map is published as (see [`map_licence`]).
pub const UNKNOWN_LICENCE: &str = "http://dcat-ap.de/def/licenses/other-closed";
/// The OParl 1.1 schema the API conforms to.
pub const OPARL_SCHEMA: &str = "https://schema.oparl.org/1.1/";
const THEME_GOVE: &str = "http://publications.europa.eu/resource/authority/data-theme/GOVE";
const FREQUENCY_PREFIX: &str = "http://publications.europa.eu/resource/authority/frequency/";
const FILE_TYPE_JSON: &str = "http://publications.europa.eu/resource/authority/file-type/JSON";
const LANGUAGE_DEU: &str = "http://publications.europa.eu/resource/authority/language/DEU";
const IANA_GZIP: &str = "https://www.iana.org/assignments/media-types/application/gzip";
const IANA_JSON: &str = "https://www.iana.org/assignments/media-types/application/json";
const LEVEL_MUNICIPALITY: &str = "http://dcat-ap.de/def/politicalGeocodingLevel/municipality";
const GEO_MUNICIPALITY_KEY: &str = "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/";
const GEO_REGIONAL_KEY: &str = "http://dcat-ap.de/def/politicalGeocoding/regionalKey/";

/// Codes of the EU frequency vocabulary accepted for the accrual
/// periodicity setting.
pub const FREQUENCIES: &[&str] = &[
    "UPDATE_CONT",
    "CONT",
    "DAILY",
    "WEEKLY",
    "MONTHLY",
    "QUARTERLY",
    "ANNUAL",
    "IRREG",
    "OTHER",
    "UNKNOWN",
];

/// What the catalogue needs and the data cannot say; `oparl serve`
/// flags `--dcat-*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcatSettings {
    /// The URI of the catalogue's publisher (e.g. the operator's entry in
    /// a registry); without it the publisher is a blank node.
    pub publisher_uri: Option<String>,
    /// The name of the catalogue's publisher; default the System's name.
    pub publisher_name: Option<String>,
    /// `dcatde:contributorID` (a URI of GovData's contributor list).
    pub contributor_id: Option<String>,
    /// A code of the EU frequency vocabulary (see [`FREQUENCIES`]).
    pub accrual_periodicity: String,
}

impl Default for DcatSettings {
    fn default() -> Self {
        DcatSettings {
            publisher_uri: None,
            publisher_name: None,
            contributor_id: None,
            accrual_periodicity: "UPDATE_CONT".into(),
        }
    }
}

impl DcatSettings {
    /// Check the settings; the error names the flag.
    pub fn validate(&self) -> Result<(), String> {
        for (flag, value) in [
            (
                "--dcat-publisher-uri / OPARL_DCAT_PUBLISHER_URI",
                &self.publisher_uri,
            ),
            (
                "--dcat-contributor-id / OPARL_DCAT_CONTRIBUTOR_ID",
                &self.contributor_id,
            ),
        ] {
            if let Some(v) = value {
                match url::Url::parse(v) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                    _ => return Err(format!("{flag}: `{v}` is not an http(s) URI")),
                }
            }
        }
        if !FREQUENCIES.contains(&self.accrual_periodicity.as_str()) {
            return Err(format!(
                "--dcat-accrual-periodicity / OPARL_DCAT_ACCRUAL_PERIODICITY: `{}` is not one of {}",
                self.accrual_periodicity,
                FREQUENCIES.join(", ")
            ));
        }
        Ok(())
    }
}

/// A Body as the catalogue sees it.
#[derive(Debug, Clone)]
pub struct BodyInput {
    pub pk: i64,
    pub fields: Map<String, Value>,
    /// Earliest and latest day (YYYY-MM-DD) of its Meetings' `start` and
    /// its Papers' `date`.
    pub coverage: Option<(String, String)>,
    /// The latest `modified` of the Body and of its objects (deleted ones
    /// included: a deletion is a change), Unix seconds.
    pub modified: i64,
}

/// Everything the catalogue is built from.
#[derive(Debug, Clone, Default)]
pub struct CatalogInput {
    pub system: Map<String, Value>,
    /// The latest `modified` of the System and of the Bodies' data. The
    /// catalogue's dates come from the data, not from the clock, so that
    /// it is the same document whenever it is asked for in one state.
    pub modified: i64,
    pub bodies: Vec<BodyInput>,
    /// The finished dumps by Body pk (None: the whole store).
    pub dumps: HashMap<Option<i64>, DumpFile>,
}

/// A licence mapped to the dcat-ap.de vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Licence {
    pub uri: &'static str,
    /// Whether the licence demands naming the provider.
    pub attribution: bool,
}

/// Map an OParl `license` (a URL, OParl 1.1 Abschnitt "oparl:System"
/// `license`) to the dcat-ap.de licence vocabulary. Anything we cannot
/// identify, and no licence at all, is published as `other-closed`: the
/// catalogue must not claim an open licence that the data does not grant.
pub fn map_licence(license: Option<&str>) -> Licence {
    const TABLE: &[(&str, &str, bool)] = &[
        ("creativecommons.org/licenses/by/4.0", "cc-by/4.0", true),
        (
            "creativecommons.org/licenses/by-sa/4.0",
            "cc-by-sa/4.0",
            true,
        ),
        (
            "creativecommons.org/publicdomain/zero/1.0",
            "cc-zero",
            false,
        ),
        ("govdata.de/dl-de/by-2-0", "dl-by-de/2.0", true),
        ("govdata.de/dl-de/zero-2-0", "dl-zero-de/2.0", false),
    ];
    let Some(text) = license.map(str::trim).filter(|t| !t.is_empty()) else {
        return Licence {
            uri: UNKNOWN_LICENCE,
            attribution: false,
        };
    };
    let lower = text.to_ascii_lowercase();
    let bare = lower
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("www.")
        .trim_end_matches('/');
    for (pattern, code, attribution) in TABLE {
        let ours = format!("dcat-ap.de/def/licenses/{code}");
        let theirs = bare.strip_prefix(pattern).is_some_and(|rest| {
            // Language variants like `/deed.de` or `/legalcode` name the same licence.
            rest.is_empty() || rest.starts_with('/')
        });
        if theirs || bare == ours {
            return Licence {
                uri: match *code {
                    "cc-by/4.0" => "http://dcat-ap.de/def/licenses/cc-by/4.0",
                    "cc-by-sa/4.0" => "http://dcat-ap.de/def/licenses/cc-by-sa/4.0",
                    "cc-zero" => "http://dcat-ap.de/def/licenses/cc-zero",
                    "dl-by-de/2.0" => "http://dcat-ap.de/def/licenses/dl-by-de/2.0",
                    _ => "http://dcat-ap.de/def/licenses/dl-zero-de/2.0",
                },
                attribution: *attribution,
            };
        }
    }
    Licence {
        uri: UNKNOWN_LICENCE,
        attribution: false,
    }
}

/// Read what the catalogue is built from (dumps are the caller's).
pub fn load(conn: &mut AnyConnection) -> Result<CatalogInput, DbError> {
    let system = read::system(conn)?
        .map(|r| fields_of(&r.fields))
        .unwrap_or_default();
    let system_modified = read::system(conn)?.map_or(0, |r| r.modified);
    let pks = read::body_pks(conn)?;
    let mut bodies = Vec::new();
    for row in read::live_objects(conn, &pks)? {
        if row.kind() != Kind::Body {
            continue;
        }
        let coverage = coverage(conn, row.pk)?;
        let modified = last_modified(conn, row.pk)?.max(row.modified);
        bodies.push(BodyInput {
            pk: row.pk,
            fields: fields_of(&row.fields),
            coverage,
            modified,
        });
    }
    bodies.sort_by_key(|b| b.pk);
    let modified = bodies
        .iter()
        .map(|b| b.modified)
        .fold(system_modified, i64::max);
    Ok(CatalogInput {
        system,
        modified,
        bodies,
        dumps: HashMap::new(),
    })
}

/// The latest `modified` among a Body's objects: one `MAX` per kind over
/// the `object_modified` index (kind, body_pk, modified).
fn last_modified(conn: &mut AnyConnection, body: i64) -> Result<i64, DbError> {
    use crate::db::schema::object;
    use diesel::prelude::*;
    let mut latest = 0;
    for kind in Kind::ALL {
        let m: Option<i64> = object::table
            .filter(object::kind.eq(kind.code()))
            .filter(object::body_pk.eq(body))
            .select(diesel::dsl::max(object::modified))
            .first(conn)?;
        latest = latest.max(m.unwrap_or(0));
    }
    Ok(latest)
}

fn fields_of(text: &str) -> Map<String, Value> {
    serde_json::from_str(text).unwrap_or_default()
}

/// The first and last day of a Body's Meetings (`start`) and Papers
/// (`date`): one aggregate per kind over the `object_list` index range of
/// the Body, reading the day from the stored JSON text.
fn coverage(conn: &mut AnyConnection, body: i64) -> Result<Option<(String, String)>, DbError> {
    use diesel::sql_types::{BigInt, Nullable, SmallInt, Text};
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Range {
        #[diesel(sql_type = Nullable<Text>)]
        lo: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        hi: Option<String>,
    }
    let mut days: Vec<String> = Vec::new();
    for (kind, member) in [(Kind::Meeting, "start"), (Kind::Paper, "date")] {
        let range = match conn {
            AnyConnection::Sqlite(c) => diesel::sql_query(format!(
                "SELECT MIN(substr(json_extract(fields, '$.{member}'), 1, 10)) AS lo, \
                 MAX(substr(json_extract(fields, '$.{member}'), 1, 10)) AS hi \
                 FROM object WHERE kind = ? AND body_pk = ? AND deleted = 0"
            ))
            .bind::<SmallInt, _>(kind.code())
            .bind::<BigInt, _>(body)
            .get_result::<Range>(c)?,
            AnyConnection::Postgres(c) => diesel::sql_query(format!(
                "SELECT MIN(substr(fields::jsonb ->> '{member}', 1, 10)) AS lo, \
                 MAX(substr(fields::jsonb ->> '{member}', 1, 10)) AS hi \
                 FROM object WHERE kind = $1 AND body_pk = $2 AND deleted = false"
            ))
            .bind::<SmallInt, _>(kind.code())
            .bind::<BigInt, _>(body)
            .get_result::<Range>(c)?,
        };
        days.extend(range.lo.into_iter().chain(range.hi).filter(|d| is_day(d)));
    }
    let lo = days.iter().min().cloned();
    let hi = days.iter().max().cloned();
    Ok(lo.zip(hi))
}

/// `YYYY-MM-DD`, as xsd:date needs it.
fn is_day(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// A URL from the data or the settings as an `@id`: parsed and written
/// back, so that it is an absolute IRI in either representation (a space
/// and the like percent-encoded, no relative reference that JSON-LD and
/// Turtle would resolve against different bases); None for anything but an
/// http(s) URL.
fn web_uri(text: &str) -> Option<String> {
    url::Url::parse(text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(String::from)
}

/// A `mailto:` IRI for an e-mail address, or None for text that is none
/// (no `@`, or a character an IRI cannot hold).
fn mailto(email: &str) -> Option<String> {
    let address = email.strip_prefix("mailto:").unwrap_or(email);
    let plain = address
        .chars()
        .all(|c| c > ' ' && c != '\u{7f}' && !"<>\"{}|^`\\".contains(c));
    (plain && address.contains('@') && !address.starts_with('@'))
        .then(|| format!("mailto:{address}"))
}

fn text<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn de(value: &str) -> Value {
    json!({ "@value": value, "@language": "de" })
}

fn id(uri: &str) -> Value {
    json!({ "@id": uri })
}

fn typed(value: impl Into<Value>, datatype: &str) -> Value {
    json!({ "@value": value.into(), "@type": datatype })
}

fn date_time(unix: i64) -> Value {
    let text = chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    typed(text, "xsd:dateTime")
}

/// The JSON-LD context: prefixes only, so every value states its own type.
fn context() -> Value {
    json!({
        "dcat": "http://www.w3.org/ns/dcat#",
        "dct": "http://purl.org/dc/terms/",
        "dcatde": "http://dcat-ap.de/def/dcatde/",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "vcard": "http://www.w3.org/2006/vcard/ns#",
        "spdx": "http://spdx.org/rdf/terms#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
    })
}

/// A `vcard:Organization` from OParl contact fields (contactEmail,
/// contactName, website), or None without an e-mail address or web site:
/// DCAT-AP.de asks for one of the two.
fn contact(fields: &Map<String, Value>, fallback_name: &str) -> Option<Value> {
    let email = text(fields, "contactEmail").and_then(mailto);
    let website = text(fields, "website").and_then(web_uri);
    if email.is_none() && website.is_none() {
        return None;
    }
    let mut c = json!({
        "@type": "vcard:Organization",
        "vcard:fn": text(fields, "contactName").unwrap_or(fallback_name),
    });
    if let Some(mailto) = email {
        c["vcard:hasEmail"] = id(&mailto);
    }
    if let Some(website) = website {
        c["vcard:hasURL"] = id(&website);
    }
    Some(c)
}

/// The political geocoding of a Body from its `rgs` (12 digits) and `ags`
/// (8 digits, the Gemeindeschlüssel); malformed keys are left out.
fn geocoding(fields: &Map<String, Value>) -> Vec<Value> {
    let digits = |name: &str, len: usize| {
        text(fields, name).filter(|v| v.len() == len && v.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut out = Vec::new();
    if let Some(rgs) = digits("rgs", 12) {
        out.push(id(&format!("{GEO_REGIONAL_KEY}{rgs}")));
    }
    if let Some(ags) = digits("ags", 8) {
        out.push(id(&format!("{GEO_MUNICIPALITY_KEY}{ags}")));
    }
    out
}

/// Build the catalogue as a JSON-LD document.
pub fn catalog(urls: &Urls, settings: &DcatSettings, input: &CatalogInput) -> Value {
    let base = urls.dcat();
    let node = |name: &str| format!("{base}#{name}");
    let system_url = urls.system();
    let system_name = text(&input.system, "name").unwrap_or("OParl-Schnittstelle");
    let publisher_name = settings.publisher_name.as_deref().unwrap_or(system_name);
    let mut publisher = json!({
        "@type": "foaf:Agent",
        "foaf:name": publisher_name,
    });
    publisher["@id"] = match settings.publisher_uri.as_deref().and_then(web_uri) {
        Some(uri) => uri.into(),
        None => "_:publisher".into(),
    };
    let contributor = settings.contributor_id.as_deref().and_then(web_uri);
    let system_licence = map_licence(text(&input.system, "license"));
    let system_contact = contact(&input.system, system_name);
    let periodicity = id(&format!(
        "{FREQUENCY_PREFIX}{}",
        settings.accrual_periodicity
    ));
    let service_id = node("api");

    let mut graph: Vec<Value> = Vec::new();
    let mut datasets: Vec<Value> = Vec::new();

    // One Dataset per Body.
    for body in &input.bodies {
        let f = &body.fields;
        let body_url = urls.object(Kind::Body, body.pk);
        let name = text(f, "name").unwrap_or(system_name);
        let dataset_id = node(&format!("body-{}", body.pk));
        let licence_text = text(f, "license").or(text(&input.system, "license"));
        let licence = map_licence(licence_text);
        let body_publisher = json!({
            "@id": body_url,
            "@type": "foaf:Organization",
            "foaf:name": name,
        });
        let attribution = licence.attribution.then(|| {
            let site = text(f, "website")
                .map(str::to_string)
                .unwrap_or(body_url.clone());
            format!("{name} ({site})")
        });
        let mut distributions = Vec::new();
        let mut api = api_distribution(
            &node(&format!("body-{}-api", body.pk)),
            &format!("OParl-Schnittstelle: {name}"),
            &body_url,
            &service_id,
            licence,
            attribution.as_deref(),
        );
        api["dct:description"] = de("Die Körperschaft in der OParl-1.1-Schnittstelle; von ihr aus führen Listen zu allen Objekten.");
        distributions.push(api);
        if let Some(file) = input.dumps.get(&Some(body.pk)) {
            distributions.push(dump_distribution(
                &node(&format!("body-{}-dump", body.pk)),
                &urls.dump(Some(body.pk)),
                &format!("Gesamtabzug: {name}"),
                file,
                licence,
                attribution.as_deref(),
            ));
        }
        let mut keywords: Vec<Value> = vec![de("OParl"), de("Ratsinformationssystem")];
        if let Some(Value::Array(words)) = f.get("keyword") {
            for w in words.iter().filter_map(Value::as_str) {
                if !["oparl", "ratsinformationssystem"].contains(&w.to_lowercase().as_str()) {
                    keywords.push(de(w));
                }
            }
        }
        let mut dataset = json!({
            "@id": dataset_id,
            "@type": "dcat:Dataset",
            "dct:title": de(&format!("Ratsinformationen: {name}")),
            "dct:description": de(&format!(
                "Sitzungen, Tagesordnungen, Drucksachen, Beratungen, Gremien, Personen und Dateien \
                 der Körperschaft „{name}“ als offene Daten im Format OParl 1.1."
            )),
            "dct:identifier": body_url,
            "dct:publisher": body_publisher,
            "dcat:theme": id(THEME_GOVE),
            "dcat:keyword": keywords,
            "dct:accrualPeriodicity": periodicity.clone(),
            "dct:language": id(LANGUAGE_DEU),
            "dct:modified": date_time(
                input.dumps.get(&Some(body.pk)).map_or(body.modified, |d| d.built)
            ),
            "dcat:distribution": distributions,
        });
        if let Some(site) = text(f, "website").and_then(web_uri) {
            dataset["dcat:landingPage"] = id(&site);
        }
        if let Some(c) = contact(f, name).or_else(|| system_contact.clone()) {
            dataset["dcat:contactPoint"] = c;
        }
        let geo = geocoding(f);
        if !geo.is_empty() {
            dataset["dcatde:politicalGeocodingURI"] = Value::Array(geo);
            dataset["dcatde:politicalGeocodingLevelURI"] = id(LEVEL_MUNICIPALITY);
        }
        if let Some((start, end)) = &body.coverage {
            dataset["dct:temporal"] = json!({
                "@type": "dct:PeriodOfTime",
                "dcat:startDate": typed(start.as_str(), "xsd:date"),
                "dcat:endDate": typed(end.as_str(), "xsd:date"),
            });
        }
        if let Some(c) = &contributor {
            dataset["dcatde:contributorID"] = id(c);
        }
        datasets.push(id(&dataset_id));
        graph.push(dataset);
    }

    // The whole store, with its own dump.
    let all_id = node("all");
    let mut all = json!({
        "@id": all_id,
        "@type": "dcat:Dataset",
        "dct:title": de(&format!("Ratsinformationen: {system_name}, alle Körperschaften")),
        "dct:description": de("Alle Körperschaften dieser OParl-1.1-Schnittstelle zusammen."),
        "dct:identifier": system_url,
        "dct:publisher": publisher.clone(),
        "dcat:theme": id(THEME_GOVE),
        "dcat:keyword": [de("OParl"), de("Ratsinformationssystem")],
        "dct:accrualPeriodicity": periodicity,
        "dct:language": id(LANGUAGE_DEU),
        "dct:hasPart": datasets.clone(),
        "dct:modified": date_time(input.dumps.get(&None).map_or(input.modified, |d| d.built)),
    });
    let attribution = system_licence
        .attribution
        .then(|| format!("{publisher_name} ({system_url})"));
    let mut all_distributions = vec![api_distribution(
        &node("all-api"),
        "OParl-Schnittstelle",
        &system_url,
        &service_id,
        system_licence,
        attribution.as_deref(),
    )];
    if let Some(file) = input.dumps.get(&None) {
        all_distributions.push(dump_distribution(
            &node("all-dump"),
            &urls.dump(None),
            "Gesamtabzug aller Körperschaften",
            file,
            system_licence,
            attribution.as_deref(),
        ));
    }
    all["dcat:distribution"] = Value::Array(all_distributions);
    if let Some(c) = &system_contact {
        all["dcat:contactPoint"] = c.clone();
    }
    if let Some(c) = &contributor {
        all["dcatde:contributorID"] = id(c);
    }
    datasets.push(id(&all_id));
    graph.push(all);

    // The API as a service.
    let mut service = json!({
        "@id": service_id,
        "@type": "dcat:DataService",
        "dct:title": de(&format!("OParl-1.1-Schnittstelle: {system_name}")),
        "dct:description": de("Die OParl-1.1-Schnittstelle dieses Servers, mit Änderungsfeed und Gesamtabzügen."),
        "dcat:endpointURL": id(&system_url),
        "dct:conformsTo": id(OPARL_SCHEMA),
        "dct:publisher": publisher.clone(),
        "dct:license": id(system_licence.uri),
        "dcat:servesDataset": datasets.clone(),
    });
    if let Some(c) = &system_contact {
        service["dcat:contactPoint"] = c.clone();
    }
    graph.push(service);

    // The catalogue.
    let mut catalog = json!({
        "@id": node("catalog"),
        "@type": "dcat:Catalog",
        "dct:title": de(&format!("Datenkatalog: {system_name}")),
        "dct:description": de("Die offenen Ratsdaten dieser OParl-Schnittstelle, beschrieben nach DCAT-AP.de 3.0."),
        "dct:publisher": publisher,
        "dct:language": id(LANGUAGE_DEU),
        "dct:license": id(system_licence.uri),
        "dct:modified": date_time(
            input.dumps.values().map(|d| d.built).fold(input.modified, i64::max)
        ),
        "dcat:dataset": datasets,
        "dcat:service": [id(&service_id)],
    });
    if let Some(site) = text(&input.system, "website").and_then(web_uri) {
        catalog["foaf:homepage"] = id(&site);
    }
    if let Some(c) = &contributor {
        catalog["dcatde:contributorID"] = id(c);
    }
    graph.insert(0, catalog);
    json!({ "@context": context(), "@graph": graph })
}

/// A dump as a direct download: the same URL as access and download URL,
/// gzip-compressed JSON Lines, with size, SHA-256 and build time.
/// The OParl API as a Distribution of a Dataset, reached at `url`.
fn api_distribution(
    node: &str,
    title: &str,
    url: &str,
    service_id: &str,
    licence: Licence,
    attribution: Option<&str>,
) -> Value {
    let mut d = json!({
        "@id": node,
        "@type": "dcat:Distribution",
        "dct:title": de(title),
        "dcat:accessURL": id(url),
        "dcat:accessService": id(service_id),
        "dct:format": id(FILE_TYPE_JSON),
        "dcat:mediaType": id(IANA_JSON),
        "dct:conformsTo": id(OPARL_SCHEMA),
        "dct:license": id(licence.uri),
    });
    if let Some(a) = attribution {
        d["dcatde:licenseAttributionByText"] = de(a);
    }
    d
}

fn dump_distribution(
    node: &str,
    url: &str,
    title: &str,
    file: &DumpFile,
    licence: Licence,
    attribution: Option<&str>,
) -> Value {
    let mut d = json!({
        "@id": node,
        "@type": "dcat:Distribution",
        "dct:title": de(title),
        "dct:description": de(&format!(
            "Jedes Objekt (auch gelöschte) als JSON Lines, gzip-komprimiert, Stand Revision {}; \
             danach weiter mit dem Änderungsfeed.", file.revision
        )),
        "dcat:accessURL": id(url),
        "dcat:downloadURL": id(url),
        "dct:format": id(FILE_TYPE_JSON),
        "dcat:mediaType": id(IANA_GZIP),
        "dcat:compressFormat": id(IANA_GZIP),
        "dcat:byteSize": typed(file.size, "xsd:nonNegativeInteger"),
        "spdx:checksum": {
            "@type": "spdx:Checksum",
            "spdx:algorithm": id("http://spdx.org/rdf/terms#checksumAlgorithm_sha256"),
            "spdx:checksumValue": typed(file.sha256.as_str(), "xsd:hexBinary"),
        },
        "dct:modified": date_time(file.built),
        "dct:license": id(licence.uri),
    });
    if let Some(a) = attribution {
        d["dcatde:licenseAttributionByText"] = de(a);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licences_map_to_the_vocabulary() {
        let cases = [
            (
                Some("https://creativecommons.org/licenses/by/4.0/"),
                "cc-by/4.0",
                true,
            ),
            (
                Some("http://creativecommons.org/licenses/by/4.0/deed.de"),
                "cc-by/4.0",
                true,
            ),
            (
                Some("https://creativecommons.org/publicdomain/zero/1.0/"),
                "cc-zero",
                false,
            ),
            (
                Some("https://www.govdata.de/dl-de/by-2-0"),
                "dl-by-de/2.0",
                true,
            ),
            (
                Some("https://www.govdata.de/dl-de/zero-2-0"),
                "dl-zero-de/2.0",
                false,
            ),
            (
                Some("http://dcat-ap.de/def/licenses/dl-zero-de/2.0"),
                "dl-zero-de/2.0",
                false,
            ),
            (Some("https://example.org/our-terms"), "other-closed", false),
            (
                Some("https://creativecommons.org/licenses/by/4.0-fake"),
                "other-closed",
                false,
            ),
            (Some(""), "other-closed", false),
            (None, "other-closed", false),
        ];
        for (given, code, attribution) in cases {
            let l = map_licence(given);
            assert_eq!(l.uri, format!("{LICENCE_PREFIX}{code}"), "{given:?}");
            assert_eq!(l.attribution, attribution, "{given:?}");
        }
    }

    #[test]
    fn uris_from_the_data_are_absolute_and_clean() {
        assert_eq!(web_uri("www.stadt.example"), None);
        assert_eq!(web_uri("ftp://stadt.example/"), None);
        assert_eq!(
            web_uri("https://stadt.example/rat haus").as_deref(),
            Some("https://stadt.example/rat%20haus")
        );
        assert_eq!(
            mailto("mailto:rat@stadt.example").as_deref(),
            Some("mailto:rat@stadt.example")
        );
        assert_eq!(
            mailto("rat@stadt.example").as_deref(),
            Some("mailto:rat@stadt.example")
        );
        for bad in [
            "rat at stadt",
            "rat @stadt.example",
            "<rat@stadt.example>",
            "@stadt",
        ] {
            assert_eq!(mailto(bad), None, "{bad}");
        }
    }

    #[test]
    fn days_and_settings_are_checked() {
        assert!(is_day("2024-01-31"));
        assert!(!is_day("2024-1-31"));
        assert!(!is_day("2024-01-3x"));
        assert!(DcatSettings::default().validate().is_ok());
        let bad = DcatSettings {
            publisher_uri: Some("not a uri".into()),
            ..DcatSettings::default()
        };
        assert!(bad.validate().unwrap_err().contains("--dcat-publisher-uri"));
        let bad = DcatSettings {
            accrual_periodicity: "SOMETIMES".into(),
            ..DcatSettings::default()
        };
        assert!(bad.validate().is_err());
    }
}
