//! The demo city: a deterministic, realistic, fictional German council
//! ("Stadt Lindenbrück") and a municipal enterprise as a second Body.
//!
//! Everything is derived from a fixed seed and a fixed calendar, so two runs
//! with the same options write the same store. `scale` multiplies the yearly
//! volume (meetings, papers and what hangs off them) and `years` the history;
//! together they reach from a one-year demo to millions of objects.
//!
//! The objects are built in memory and bulk-inserted in one transaction; the
//! few deletions at the end go through `store::write` like any other change.

mod names;
pub mod pdf;

use crate::db::{AnyConnection, DbError};
use crate::model::{self, Kind};
use crate::store::write::{self, NewObject};
use crate::store::{read, LinkRow};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use names::*;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha512};
use std::collections::{BTreeMap, HashMap};

/// How big a city to generate.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Years of meetings and papers, ending with [`LAST_YEAR`].
    pub years: u32,
    /// Multiplier of the yearly volume (1 = about 280 meetings and 1,000 papers a year).
    pub scale: u32,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { years: 1, scale: 1 }
    }
}

/// The last calendar year of the demo.
pub const LAST_YEAR: i32 = 2026;
/// The demo's "today": meetings before it have taken place, later ones are
/// planned. Fixed so the demo is the same whenever it is generated.
pub fn present() -> i64 {
    Utc.with_ymd_and_hms(2026, 11, 15, 12, 0, 0)
        .unwrap()
        .timestamp()
}

/// Write the demo into an empty store. Refuses a store that holds a Body.
pub fn generate(conn: &mut AnyConnection, opts: DemoOptions) -> Result<(), DbError> {
    generate_in_transaction(conn, opts)?;
    // Fresh statistics, so both query planners pick the indexes that fit.
    write::analyze(conn)
}

fn generate_in_transaction(conn: &mut AnyConnection, opts: DemoOptions) -> Result<(), DbError> {
    write::change(conn, |change| {
        if !store_is_empty(change.conn()?)? {
            return Err(DbError::Migration(
                "the store already holds data; generate the demo into an empty database".into(),
            ));
        }
        // The interface went online with the first legislative term of the demo.
        let online = local(ymd(2014, 1, 2), 8, 0);
        let system = change.ensure_system(&system_fields(), online)?;
        change.update_fields(system, &system_fields(), online)?;
        // The city is numbered from the pk after the System while it is
        // built, then moved to the block of pks the change reserves for it
        // (the same block in an empty store).
        let mut b = Builder::new(system + 1);
        let mut city = City::build(&mut b, opts);
        enterprise(&mut b, opts);
        let offset = change.reserve_pks(b.objects.len() as i64)? - (system + 1);
        b.stamp_parents();
        b.shift(offset);
        for (pk, _) in &mut city.deletions {
            *pk += offset;
        }
        change.insert_objects(&b.objects)?;
        change.insert_links(&b.links)?;
        change.insert_file_contents(&b.contents)?;
        for (pk, at) in city.deletions {
            change.delete(pk, at)?;
        }
        Ok(())
    })
}

/// Whether the store holds no Body yet (then `serve --demo` generates).
pub fn store_is_empty(conn: &mut AnyConnection) -> Result<bool, DbError> {
    Ok(read::list_page(
        conn,
        model::ListKind::Bodies,
        None,
        &Default::default(),
        None,
        1,
    )?
    .is_empty())
}

fn system_fields() -> Map<String, Value> {
    obj(json!({
        "name": "OParl-Schnittstelle der Stadt Lindenbrück (Demo)",
        "contactEmail": "oparl@lindenbrueck.example",
        "contactName": "Amt für Digitalisierung, Ratsinformationssystem",
        "license": "https://creativecommons.org/licenses/by/4.0/",
    }))
}

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        _ => Map::new(),
    }
}

/// A small deterministic generator (SplitMix64): no dependency, same numbers
/// on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Objects, links and file bytes collected before the bulk insert.
struct Builder {
    first: i64,
    objects: Vec<NewObject>,
    links: Vec<LinkRow>,
    positions: HashMap<(i64, i16), i32>,
    contents: Vec<(i64, Vec<u8>)>,
    rng: Rng,
}

impl Builder {
    fn new(first: i64) -> Builder {
        Builder {
            first,
            objects: Vec::new(),
            links: Vec::new(),
            positions: HashMap::new(),
            contents: Vec::new(),
            rng: Rng(0x0DA7_A5E7_2026),
        }
    }

    fn add(&mut self, kind: Kind, body: Option<i64>, created: i64, fields: Value) -> i64 {
        // Nothing is stamped after the demo's "today".
        let created = created.min(present());
        let pk = self.first + self.objects.len() as i64;
        self.objects.push(NewObject {
            pk,
            kind: kind.code(),
            body_pk: if kind == Kind::Body { Some(pk) } else { body },
            created,
            modified: created,
            deleted: false,
            fields: write::Fields::new(kind, &obj(fields)),
        });
        pk
    }

    /// Move every pk by `offset` (to the block the store reserved).
    fn shift(&mut self, offset: i64) {
        self.first += offset;
        for o in &mut self.objects {
            o.pk += offset;
            o.body_pk = o.body_pk.map(|b| b + offset);
        }
        for l in &mut self.links {
            l.from_pk += offset;
            l.to_pk += offset;
        }
        for (pk, _) in &mut self.contents {
            *pk += offset;
        }
        self.positions.clear();
    }

    fn row(&mut self, pk: i64) -> &mut NewObject {
        &mut self.objects[(pk - self.first) as usize]
    }

    fn kind(&self, pk: i64) -> Kind {
        Kind::from_code(self.objects[(pk - self.first) as usize].kind).expect("own code")
    }

    /// A later change of the object (never moves `modified` back).
    fn touch(&mut self, pk: i64, at: i64) {
        let at = at.min(present());
        let row = self.row(pk);
        row.modified = row.modified.max(at);
    }

    fn link(&mut self, from: i64, name: &str, to: i64) {
        let code = model::rel(self.kind(from), name).code;
        let slot = self.positions.entry((from, code)).or_insert(0);
        self.links.push(LinkRow {
            from_pk: from,
            field: code,
            position: *slot,
            to_pk: to,
        });
        *slot += 1;
    }

    /// A File with a one-page PDF (or plain text) of its own.
    fn file(
        &mut self,
        body: i64,
        created: i64,
        name: &str,
        file_name: &str,
        lines: &[String],
    ) -> i64 {
        let direct = format!("{name}\n{}", lines.join("\n"));
        let (bytes, mime, text) = if file_name.ends_with(".txt") {
            (
                format!("{name}\n\n{}\n", lines.join("\n")).into_bytes(),
                "text/plain",
                direct,
            )
        } else {
            // The text is what an import of this PDF would read from it
            // (the same extractor), so the demo shows what real data gives.
            let bytes = pdf::document(name, lines);
            let text = crate::text_extract::extract("application/pdf", &bytes)
                .into_text()
                .unwrap_or(direct);
            (bytes, "application/pdf", text)
        };
        let fields = json!({
            "name": name,
            "fileName": file_name,
            "mimeType": mime,
            "date": date_of(created),
            "size": bytes.len(),
            "sha512Checksum": hex(&Sha512::digest(&bytes)),
            "text": text,
        });
        let pk = self.add(Kind::File, Some(body), created, fields);
        self.contents.push((pk, bytes));
        pk
    }

    fn location(
        &mut self,
        body: i64,
        created: i64,
        description: &str,
        street: &str,
        district: &str,
    ) -> i64 {
        let (lon, lat) = (
            8.1120 + self.rng.below(400) as f64 / 10_000.0,
            51.4050 + self.rng.below(300) as f64 / 10_000.0,
        );
        let postal = 48_150 + DISTRICTS.iter().position(|d| *d == district).unwrap_or(0) * 7;
        self.add(
            Kind::Location,
            Some(body),
            created,
            json!({
                "description": description,
                "streetAddress": street,
                "postalCode": postal.to_string(),
                "subLocality": district,
                "locality": CITY,
                "geojson": {
                    "type": "Feature",
                    "geometry": { "type": "Point", "coordinates": [round6(lon), round6(lat)] },
                    "properties": { "name": description },
                },
            }),
        )
    }

    /// A parent's JSON shows its embedded children, so its `modified` is at
    /// least theirs. Two passes cover the deepest nesting (Meeting >
    /// AgendaItem > File).
    fn stamp_parents(&mut self) {
        for _ in 0..2 {
            for i in 0..self.links.len() {
                let l = self.links[i];
                if model::RELS[l.field as usize].shape.is_embedding() {
                    let child = self.row(l.to_pk).modified;
                    self.touch(l.from_pk, child);
                }
            }
        }
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn hex(bytes: &[u8]) -> String {
    crate::text::hex(bytes)
}

/// Berlin time: +02:00 from the last Sunday of March to the last Sunday of
/// October, else +01:00.
fn berlin_offset_hours(date: NaiveDate) -> i64 {
    let last_sunday = |month: u32| {
        let mut d = NaiveDate::from_ymd_opt(date.year(), month, 31).unwrap();
        while d.weekday() != Weekday::Sun {
            d -= Duration::days(1);
        }
        d
    };
    if date >= last_sunday(3) && date < last_sunday(10) {
        2
    } else {
        1
    }
}

/// Seconds of a local Berlin wall-clock time.
fn local(date: NaiveDate, hour: u32, minute: u32) -> i64 {
    let naive: NaiveDateTime = date.and_hms_opt(hour, minute, 0).unwrap();
    naive.and_utc().timestamp() - berlin_offset_hours(date) * 3600
}

/// A stored time written in Berlin time with its offset, as a meeting's
/// `start` would be.
fn local_string(secs: i64) -> String {
    let utc = chrono::DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
    let hours = berlin_offset_hours(utc.date_naive());
    let offset = chrono::FixedOffset::east_opt((hours * 3600) as i32).unwrap();
    utc.with_timezone(&offset)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn date_of(secs: i64) -> String {
    chrono::DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A legislative term's dates.
struct Term {
    start: NaiveDate,
    end: NaiveDate,
}

/// A meeting as the paper schedule sees it.
#[derive(Clone, Copy)]
struct MeetingSlot {
    pk: i64,
    start: i64,
    held: bool,
    /// Agenda published (invitation sent or meeting held).
    agenda: bool,
}

/// One agenda entry waiting for its AgendaItem.
struct AgendaEntry {
    paper_name: String,
    consultation: i64,
    decision: bool,
}

/// The city body and what the second body and the deletions need from it.
struct City {
    deletions: Vec<(i64, i64)>,
}

/// How a paper travels: which organizations consult it, in order.
struct Route {
    steps: Vec<(i64, &'static str)>,
}

impl City {
    fn build(b: &mut Builder, opts: DemoOptions) -> City {
        let first_year = LAST_YEAR - opts.years as i32 + 1;
        let t0 = local(ymd(first_year.min(2014), 1, 2), 9, 0);
        let rathaus_loc = b.location(
            0,
            t0,
            "Rathaus Lindenbrück, Marktplatz 1",
            "Marktplatz 1",
            "Mitte",
        );
        let body = b.add(
            Kind::Body,
            None,
            t0,
            json!({
                "shortName": CITY,
                "name": "Stadt Lindenbrück",
                "classification": "Kreisfreie Stadt",
                "ags": "05999012",
                "rgs": "059990120000",
                "license": "https://creativecommons.org/licenses/by/4.0/",
                "licenseValidSince": "2014-01-01T00:00:00+01:00",
                "oparlSince": "2019-03-01T00:00:00+01:00",
                "contactEmail": "ratsbuero@lindenbrueck.example",
                "contactName": "Ratsbüro der Stadt Lindenbrück",
                "keyword": ["Stadt", "Ratsinformationssystem"],
            }),
        );
        b.row(rathaus_loc).body_pk = Some(body);
        b.link(body, "location", rathaus_loc);
        let terms = terms(b, body, first_year);

        // Organizations.
        let council = b.add(
            Kind::Organization,
            Some(body),
            t0,
            json!({
                "name": "Rat der Stadt Lindenbrück", "shortName": "Stadtrat",
                "organizationType": "Gremium", "classification": "Parlament",
                "post": ["Oberbürgermeisterin", "Erster Bürgermeister", "Ratsmitglied"],
                "startDate": "1975-01-01",
            }),
        );
        b.link(council, "location", rathaus_loc);
        let committees: Vec<i64> = COMMITTEES
            .iter()
            .map(|(name, short, class)| {
                b.add(Kind::Organization, Some(body), t0, json!({
                    "name": name, "shortName": short, "organizationType": "Gremium",
                    "classification": class, "post": ["Vorsitz", "Stellvertretender Vorsitz", "Mitglied"],
                }))
            })
            .collect();
        let mut groups = Vec::new();
        for (i, (fraktion, short, party)) in GROUPS.iter().enumerate() {
            let party_pk = b.add(Kind::Organization, Some(body), t0, json!({
                "name": party, "shortName": short, "organizationType": "Partei", "classification": "Partei",
            }));
            let group = b.add(
                Kind::Organization,
                Some(body),
                t0,
                json!({
                    "name": fraktion, "shortName": short, "organizationType": "Fraktion",
                    "classification": "Fraktion", "post": ["Fraktionsvorsitz", "Mitglied"],
                }),
            );
            let office = b.location(
                body,
                t0,
                &format!("Fraktionsbüro {short}, Rathaus Raum 2.{:02}", i + 1),
                "Marktplatz 1",
                "Mitte",
            );
            b.link(group, "location", office);
            groups.push((group, party_pk));
        }
        let departments: Vec<i64> = DEPARTMENTS
            .iter()
            .map(|name| {
                b.add(Kind::Organization, Some(body), t0, json!({
                    "name": name, "organizationType": "Verwaltungsbereich", "classification": "Dezernat",
                }))
            })
            .collect();
        let districts: Vec<(i64, i64)> =
            DISTRICTS
                .iter()
                .map(|d| {
                    let org = b.add(Kind::Organization, Some(body), t0, json!({
                    "name": format!("Bezirksvertretung {d}"), "shortName": format!("BV {d}"),
                    "organizationType": "Gremium", "classification": "Bezirksvertretung",
                }));
                    b.link(org, "subOrganizationOf", council);
                    let street = format!("{} 12", b.rng.pick(&STREETS));
                    let loc = b.location(
                        body,
                        t0,
                        &format!("Bezirksrathaus {d}, Sitzungssaal"),
                        &street,
                        d,
                    );
                    (org, loc)
                })
                .collect();

        let people = people(b, body, council, &committees, &groups, &terms);

        // Meetings.
        let rooms: Vec<i64> = (1..=3)
            .map(|n| {
                b.location(
                    body,
                    t0,
                    &format!("Rathaus Lindenbrück, Sitzungsraum {n}"),
                    "Marktplatz 1",
                    "Mitte",
                )
            })
            .collect();
        let ratssaal = b.location(
            body,
            t0,
            "Rathaus Lindenbrück, Ratssaal",
            "Marktplatz 1",
            "Mitte",
        );
        let mut hosts: Vec<(i64, u32, i64, u32)> = vec![(council, 10, ratssaal, 15)];
        for (i, c) in committees.iter().enumerate() {
            let per_year = match i {
                0 => 10,
                10 => 4,
                13 | 14 => 6,
                _ => 12,
            };
            hosts.push((*c, per_year, rooms[i % 3], 17));
        }
        for (org, loc) in &districts {
            hosts.push((*org, 10, *loc, 18));
        }
        let total: u32 = hosts.iter().map(|h| h.1).sum();
        let mut schedule: BTreeMap<i64, Vec<MeetingSlot>> = BTreeMap::new();
        for (index, (org, weight, loc, hour)) in hosts.iter().enumerate() {
            let per_year = (weight * 280 * opts.scale).div_ceil(total) as usize;
            for year in first_year..=LAST_YEAR {
                for n in 0..per_year {
                    let day = (n * 365 / per_year + index * 3 + 10) % 362;
                    let date = workday(ymd(year, 1, 1) + Duration::days(day as i64));
                    let members = people.members_at(*org, date);
                    let slot = meeting(b, body, *org, *loc, date, *hour, n + 1, &members);
                    schedule.entry(*org).or_default().push(slot);
                }
            }
        }
        for slots in schedule.values_mut() {
            slots.sort_by_key(|s| s.start);
        }

        // Papers and their consultations.
        let mut agendas: BTreeMap<i64, Vec<AgendaEntry>> = BTreeMap::new();
        let per_year = 1000 * opts.scale as usize;
        let councillors = people.councillors.clone();
        for year in first_year..=LAST_YEAR {
            for n in 0..per_year {
                let date = workday(ymd(year, 1, 1) + Duration::days((n * 358 / per_year) as i64));
                if local(date, 9, 30) > present() {
                    // Papers are not written ahead of time.
                    break;
                }
                let topic = *b.rng.pick(&TOPICS);
                let street = *b.rng.pick(&STREETS);
                let d = b.rng.below(districts.len());
                let route = Route::for_topic(b, topic.1, &committees, council, districts[d].0, n);
                let ctx = PaperContext {
                    body,
                    date,
                    year,
                    seq: n + 1,
                    topic,
                    street,
                    district: DISTRICTS[d],
                    departments: &departments,
                    groups: &groups,
                    councillors: &councillors,
                };
                paper(b, &ctx, &route, &schedule, &mut agendas);
            }
        }
        for slots in schedule.values() {
            for slot in slots.iter().filter(|s| s.agenda) {
                let entries = agendas.remove(&slot.pk).unwrap_or_default();
                agenda(b, body, *slot, entries);
            }
        }

        let deletions = pick_deletions(b, body);
        City { deletions }
    }
}

/// Legislative terms: the three of the demo plus earlier ones for a long history.
fn terms(b: &mut Builder, body: i64, first_year: i32) -> Vec<Term> {
    let mut spans = vec![
        (ymd(2014, 6, 1), ymd(2020, 10, 31)),
        (ymd(2020, 11, 1), ymd(2025, 10, 31)),
        (ymd(2025, 11, 1), ymd(2030, 10, 31)),
    ];
    while spans[0].0.year() > first_year {
        let start = spans[0].0;
        spans.insert(
            0,
            (
                ymd(start.year() - 5, start.month(), 1),
                start - Duration::days(1),
            ),
        );
    }
    spans
        .into_iter()
        .map(|(start, end)| {
            let created = local(start - Duration::days(30), 10, 0);
            let pk = b.add(
                Kind::LegislativeTerm,
                Some(body),
                created,
                json!({
                    "name": format!("Wahlperiode {}–{}", start.year(), end.year()),
                    "startDate": start.to_string(), "endDate": end.to_string(),
                }),
            );
            b.link(body, "legislativeTerm", pk);
            Term { start, end }
        })
        .collect()
}

/// The people of the council and who is a member of what, when.
struct People {
    /// (organization, person, start, end)
    memberships: Vec<(i64, i64, NaiveDate, NaiveDate)>,
    /// (person, group) of the councillors of the newest term.
    councillors: Vec<(i64, i64)>,
}

impl People {
    fn members_at(&self, org: i64, date: NaiveDate) -> Vec<i64> {
        self.memberships
            .iter()
            .filter(|(o, _, s, e)| *o == org && *s <= date && date <= *e)
            .map(|(_, p, _, _)| *p)
            .collect()
    }
}

/// Seats per group in each term (48 in all).
const SEATS: [usize; 8] = [13, 12, 10, 4, 3, 2, 2, 2];

fn people(
    b: &mut Builder,
    body: i64,
    council: i64,
    committees: &[i64],
    groups: &[(i64, i64)],
    terms: &[Term],
) -> People {
    let mut out = People {
        memberships: Vec::new(),
        councillors: Vec::new(),
    };
    let t0 = local(terms[0].start - Duration::days(20), 10, 0);
    let seat_group: Vec<usize> = SEATS
        .iter()
        .enumerate()
        .flat_map(|(g, n)| std::iter::repeat_n(g, *n))
        .collect();
    // 60 councillors (48 seats, turnover of 6 per term), the mayor, and 9
    // advisory members of committees: 70 people.
    let mut persons = Vec::new();
    for i in 0..70 {
        let female = b.rng.chance(45);
        let given = if female {
            *b.rng.pick(&GIVEN_FEMALE)
        } else {
            *b.rng.pick(&GIVEN_MALE)
        };
        let family = *b.rng.pick(&FAMILY);
        let title = if b.rng.chance(12) {
            Some(*b.rng.pick(&TITLES))
        } else {
            None
        };
        let name = match title {
            Some(t) => format!("{t} {given} {family}"),
            None => format!("{given} {family}"),
        };
        let (address, status) = match i {
            60 => (
                if female {
                    "Oberbürgermeisterin"
                } else {
                    "Oberbürgermeister"
                },
                vec!["Oberbürgermeister/in"],
            ),
            61.. => ("Sachkundige Bürgerin / Sachkundiger Bürger", vec![]),
            _ => (if female { "Ratsfrau" } else { "Ratsherr" }, vec![]),
        };
        let person = b.add(Kind::Person, Some(body), t0, json!({
            "name": name, "familyName": family, "givenName": given,
            "formOfAddress": address,
            "title": title.map(|t| vec![t]),
            "gender": if female { "female" } else { "male" },
            "email": [format!("{}.{}@rat.lindenbrueck.example", ascii(given), ascii(family))],
            "status": status,
            "life": if i % 4 == 0 { Some(format!("Jahrgang {}, wohnt in Lindenbrück-{}.", 1950 + (i * 7) % 50, DISTRICTS[i % 5])) } else { None },
            "lifeSource": if i % 4 == 0 { Some("Angaben der Person") } else { None },
        }));
        if i % 5 == 0 {
            let street = format!("{} {}", b.rng.pick(&STREETS), 1 + b.rng.below(80));
            let loc = b.location(
                body,
                t0,
                &format!("Kontaktadresse {name}"),
                &street,
                DISTRICTS[i % 5],
            );
            b.link(person, "locationObject", loc);
        }
        persons.push(person);
    }
    for (t, term) in terms.iter().enumerate() {
        let offset = (t * 6) % 18;
        for (seat, group) in seat_group.iter().enumerate() {
            let person = persons[(seat + offset) % 60];
            let (fraktion, party) = groups[*group];
            let role = if seat == 0 || seat_group[seat - 1] != *group {
                "Fraktionsvorsitz"
            } else {
                "Mitglied"
            };
            membership(
                b,
                &mut out,
                person,
                council,
                term,
                "Ratsmitglied",
                true,
                Some(fraktion),
            );
            membership(b, &mut out, person, fraktion, term, role, true, None);
            membership(b, &mut out, person, party, term, "Mitglied", true, None);
            for k in 0..2 {
                let committee = committees[(seat * 2 + k + t) % committees.len()];
                let role = if k == 0 {
                    "Mitglied"
                } else {
                    "Stellvertretendes Mitglied"
                };
                membership(
                    b,
                    &mut out,
                    person,
                    committee,
                    term,
                    role,
                    k == 0,
                    Some(fraktion),
                );
            }
            if t + 1 == terms.len() {
                out.councillors.push((person, fraktion));
            }
        }
        membership(
            b,
            &mut out,
            persons[60],
            council,
            term,
            "Vorsitz",
            true,
            None,
        );
        for (k, person) in persons[61..].iter().enumerate() {
            let committee = committees[(k * 3 + t) % committees.len()];
            let (fraktion, _) = groups[k % groups.len()];
            membership(
                b,
                &mut out,
                *person,
                committee,
                term,
                "Sachkundige/r Bürger/in",
                k % 3 != 0,
                Some(fraktion),
            );
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn membership(
    b: &mut Builder,
    people: &mut People,
    person: i64,
    org: i64,
    term: &Term,
    role: &str,
    voting: bool,
    on_behalf_of: Option<i64>,
) {
    let created = local(term.start, 9, 0);
    let body = b.row(person).body_pk;
    let pk = b.add(
        Kind::Membership,
        body,
        created,
        json!({
            "role": role, "votingRight": voting,
            "startDate": term.start.to_string(), "endDate": term.end.to_string(),
        }),
    );
    b.link(person, "membership", pk);
    b.link(pk, "organization", org);
    if let Some(group) = on_behalf_of {
        b.link(pk, "onBehalfOf", group);
    }
    b.touch(person, created);
    people.memberships.push((org, person, term.start, term.end));
}

/// A name as it could appear in an email address.
fn ascii(name: &str) -> String {
    crate::text::ascii_fallback(name)
        .to_lowercase()
        .replace([' ', '.'], "")
}

/// Move a weekend to the next Monday.
fn workday(date: NaiveDate) -> NaiveDate {
    match date.weekday() {
        Weekday::Sat => date + Duration::days(2),
        Weekday::Sun => date + Duration::days(1),
        _ => date,
    }
}

#[allow(clippy::too_many_arguments)]
fn meeting(
    b: &mut Builder,
    body: i64,
    org: i64,
    loc: i64,
    date: NaiveDate,
    hour: u32,
    n: usize,
    members: &[i64],
) -> MeetingSlot {
    let start = local(date, hour, 0);
    let end = start + 3600 * (2 + (n % 3) as i64);
    let now = present();
    let held = start < now;
    let invited = start < now + 21 * 86_400;
    let cancelled = held && n.is_multiple_of(37);
    let org_name = serde_json::from_str::<Value>(b.row(org).fields.as_str()).unwrap()["shortName"]
        .as_str()
        .unwrap_or("Gremium")
        .to_string();
    let created = start - 60 * 86_400;
    let pk = b.add(Kind::Meeting, Some(body), created, json!({
        "name": format!("{org_name} – {n}. Sitzung {}", date.year()),
        "meetingState": if held { "durchgeführt" } else if invited { "eingeladen" } else { "terminiert" },
        "cancelled": if cancelled { Some(true) } else { None },
        "start": local_string(start),
        "end": local_string(end),
        "keyword": if n == 1 { Some(vec!["konstituierende Sitzung"]) } else { None },
    }));
    b.link(pk, "location", loc);
    b.link(pk, "organization", org);
    if invited {
        let at = start - 14 * 86_400;
        let file = b.file(
            body,
            at,
            &format!("Einladung {org_name} {}", date.format("%d.%m.%Y")),
            &format!("Einladung-{}.pdf", date.format("%Y-%m-%d")),
            &[format!(
                "Einladung zur {n}. Sitzung am {} um {hour}:00 Uhr.",
                date.format("%d.%m.%Y")
            )],
        );
        b.link(pk, "invitation", file);
    }
    if held && !cancelled {
        for person in members {
            b.link(pk, "participant", *person);
        }
        let at = (start + 10 * 86_400).min(now - 3600);
        let protocol = b.file(
            body,
            at,
            &format!("Ergebnisprotokoll {org_name} {}", date.format("%d.%m.%Y")),
            &format!("Ergebnisprotokoll-{}.pdf", date.format("%Y-%m-%d")),
            &[format!("Niederschrift über die {n}. Sitzung.")],
        );
        b.link(pk, "resultsProtocol", protocol);
        if hour == 15 {
            let verbatim = b.file(
                body,
                at,
                &format!("Wortprotokoll Stadtrat {}", date.format("%d.%m.%Y")),
                &format!("Wortprotokoll-{}.pdf", date.format("%Y-%m-%d")),
                &["Wörtliche Niederschrift der Ratssitzung.".to_string()],
            );
            b.link(pk, "verbatimProtocol", verbatim);
        }
        if n.is_multiple_of(4) {
            let aux = b.file(
                body,
                at,
                &format!("Präsentation zur Sitzung {}", date.format("%d.%m.%Y")),
                "Praesentation.pdf",
                &["Folien der Verwaltung.".to_string()],
            );
            b.link(pk, "auxiliaryFile", aux);
        }
        b.touch(pk, at);
    }
    MeetingSlot {
        pk,
        start,
        held: held && !cancelled,
        agenda: invited,
    }
}

impl Route {
    fn for_topic(
        b: &mut Builder,
        lead: usize,
        committees: &[i64],
        council: i64,
        district: i64,
        n: usize,
    ) -> Route {
        let lead = committees[lead];
        let steps = match n % 6 {
            0 => vec![
                (lead, "Vorberatung"),
                (committees[0], "Vorberatung"),
                (council, "Entscheidung"),
            ],
            1 | 2 => vec![(lead, "Entscheidung")],
            3 => vec![(district, "Anhörung"), (lead, "Entscheidung")],
            4 => vec![(lead, "Vorberatung"), (council, "Entscheidung")],
            _ => vec![(
                lead,
                if b.rng.chance(50) {
                    "Kenntnisnahme"
                } else {
                    "Entscheidung"
                },
            )],
        };
        Route { steps }
    }
}

struct PaperContext<'a> {
    body: i64,
    date: NaiveDate,
    year: i32,
    seq: usize,
    topic: (&'static str, usize, bool),
    street: &'static str,
    district: &'static str,
    departments: &'a [i64],
    groups: &'a [(i64, i64)],
    councillors: &'a [(i64, i64)],
}

fn paper(
    b: &mut Builder,
    c: &PaperContext,
    route: &Route,
    schedule: &BTreeMap<i64, Vec<MeetingSlot>>,
    agendas: &mut BTreeMap<i64, Vec<AgendaEntry>>,
) {
    let subject = c.topic.0.replace("{}", c.street);
    let reference = format!("{:04}/{}", c.seq, c.year);
    let created = local(c.date, 9, 30);
    let (paper_type, name) = match c.seq % 10 {
        0 | 5 if !c.groups.is_empty() => ("Antrag", format!("Antrag der Fraktion: {subject}")),
        3 if !c.councillors.is_empty() => ("Anfrage", format!("Anfrage zu: {subject}")),
        7 | 8 => ("Mitteilungsvorlage", format!("Mitteilung: {subject}")),
        _ => ("Beschlussvorlage", subject.clone()),
    };
    let pk = b.add(Kind::Paper, Some(c.body), created, json!({
        "name": name, "reference": reference, "date": c.date.to_string(), "paperType": paper_type,
        "keyword": if c.topic.2 { Some(vec![c.street]) } else { None },
    }));
    match paper_type {
        "Antrag" => {
            let (group, _) = c.groups[c.seq % c.groups.len()];
            b.link(pk, "originatorOrganization", group);
        }
        "Anfrage" => {
            let (person, _) = c.councillors[c.seq % c.councillors.len()];
            b.link(pk, "originatorPerson", person);
        }
        _ => {
            let dept = c.departments[c.topic.1 % c.departments.len()];
            b.link(pk, "underDirectionOf", dept);
        }
    }
    let main = b.file(
        c.body,
        created,
        &format!("Vorlage {reference}"),
        &format!("Vorlage-{}-{}.pdf", c.seq, c.year),
        &[
            subject.clone(),
            format!("Drucksache {reference} vom {}", c.date.format("%d.%m.%Y")),
        ],
    );
    b.link(pk, "mainFile", main);
    if c.seq.is_multiple_of(25) {
        let master = b.file(
            c.body,
            created,
            &format!("Textfassung {reference}"),
            &format!("Vorlage-{}-{}.txt", c.seq, c.year),
            std::slice::from_ref(&subject),
        );
        b.link(main, "masterFile", master);
        b.link(master, "derivativeFile", main);
    }
    for k in 0..(c.seq % 3) {
        let title = ["Anlage 1 – Lageplan", "Anlage 2 – Kostenschätzung"][k];
        let aux = b.file(
            c.body,
            created + 60,
            &format!("{title} zu {reference}"),
            &format!("Anlage-{}-{}-{}.pdf", k + 1, c.seq, c.year),
            std::slice::from_ref(&subject),
        );
        b.link(pk, "auxiliaryFile", aux);
    }
    if c.topic.2 && c.seq.is_multiple_of(2) {
        let loc = b.location(
            c.body,
            created,
            &format!("{}, {CITY}", c.street),
            &format!("{} {}", c.street, 1 + c.seq % 90),
            c.district,
        );
        b.link(pk, "location", loc);
    }
    // The consultations follow the route through the next meetings.
    let mut after = created + 7 * 86_400;
    let last = route.steps.len() - 1;
    for (i, (org, role)) in route.steps.iter().enumerate() {
        let slot = schedule.get(org).and_then(|slots| {
            let at = slots.partition_point(|s| s.start < after);
            slots.get(at).copied()
        });
        let consultation = b.add(
            Kind::Consultation,
            Some(c.body),
            created,
            json!({
                "role": role, "authoritative": i == last && *role == "Entscheidung",
            }),
        );
        b.link(pk, "consultation", consultation);
        b.link(consultation, "organization", *org);
        if let Some(slot) = slot {
            b.link(consultation, "meeting", slot.pk);
            after = slot.start + 86_400;
            if slot.agenda {
                agendas.entry(slot.pk).or_default().push(AgendaEntry {
                    paper_name: name.clone(),
                    consultation,
                    decision: i == last && *role == "Entscheidung",
                });
            }
        }
    }
}

/// The agenda of one meeting: opening items, the papers, closing items.
fn agenda(b: &mut Builder, body: i64, slot: MeetingSlot, entries: Vec<AgendaEntry>) {
    let published = slot.start - 14 * 86_400;
    let mut items: Vec<(String, bool, Option<&AgendaEntry>)> = vec![
        (
            "Eröffnung der Sitzung und Feststellung der Beschlussfähigkeit".into(),
            true,
            None,
        ),
        (
            "Genehmigung der Niederschrift der letzten Sitzung".into(),
            true,
            None,
        ),
    ];
    items.extend(
        entries
            .iter()
            .map(|e| (e.paper_name.clone(), true, Some(e))),
    );
    items.push(("Mitteilungen der Verwaltung".into(), true, None));
    items.push(("Anfragen aus der Mitte des Gremiums".into(), true, None));
    items.push(("Grundstücksangelegenheiten".into(), false, None));
    for (i, (name, public, entry)) in items.into_iter().enumerate() {
        let result = match (slot.held, entry) {
            (true, Some(e)) if e.decision => Some(if i % 5 == 0 {
                "Geändert beschlossen"
            } else {
                "Unverändert beschlossen"
            }),
            (true, Some(_)) => Some("Zur Kenntnis genommen"),
            _ => None,
        };
        let item = b.add(
            Kind::AgendaItem,
            Some(body),
            published,
            json!({
                "number": (i + 1).to_string(), "name": name, "public": public, "result": result,
            }),
        );
        b.link(slot.pk, "agendaItem", item);
        if let Some(e) = entry {
            b.link(item, "consultation", e.consultation);
            b.link(e.consultation, "agendaItem", item);
        }
        if slot.held && result.is_some() {
            let at = (slot.start + 86_400).min(present() - 3600);
            b.touch(item, at);
            if i % 3 == 0 {
                let file = b.file(
                    body,
                    at,
                    &format!("Beschluss zu TOP {}", i + 1),
                    &format!("Beschluss-TOP-{}.pdf", i + 1),
                    std::slice::from_ref(&name),
                );
                b.link(item, "resolutionFile", file);
            }
            if i % 7 == 3 {
                let file = b.file(
                    body,
                    at,
                    &format!("Tischvorlage zu TOP {}", i + 1),
                    &format!("Tischvorlage-TOP-{}.pdf", i + 1),
                    std::slice::from_ref(&name),
                );
                b.link(item, "auxiliaryFile", file);
            }
        }
    }
}

/// A handful of deletions of several kinds, late in the demo year, so that
/// tombstones, re-stamped parents and renumbered agendas are in every demo.
fn pick_deletions(b: &mut Builder, body: i64) -> Vec<(i64, i64)> {
    let at = present() - 3 * 86_400;
    let of_kind = |kind: Kind, nth: usize| {
        b.objects
            .iter()
            .filter(|o| o.kind == kind.code() && o.body_pk == Some(body))
            .nth(nth)
            .map(|o| o.pk)
    };
    let mut out = Vec::new();
    for (kind, nth) in [
        (Kind::Paper, 3),
        (Kind::Paper, 11),
        (Kind::Meeting, 5),
        (Kind::AgendaItem, 4),
        (Kind::Consultation, 17),
        (Kind::File, 9),
        (Kind::Location, 40),
        (Kind::Membership, 12),
        (Kind::Person, 65),
    ] {
        if let Some(pk) = of_kind(kind, nth) {
            out.push((pk, at + out.len() as i64 * 60));
        }
    }
    out
}

/// The second Body: a municipal enterprise with its board.
fn enterprise(b: &mut Builder, opts: DemoOptions) {
    let first_year = LAST_YEAR - opts.years as i32 + 1;
    let t0 = local(ymd(first_year.min(2020), 1, 2), 9, 0);
    let body = b.add(
        Kind::Body,
        None,
        t0,
        json!({
            "shortName": "SEL", "name": "Stadtentwässerung Lindenbrück AöR",
            "classification": "Anstalt des öffentlichen Rechts",
            "license": "https://creativecommons.org/licenses/by/4.0/",
            "contactEmail": "vorstand@sel.lindenbrueck.example", "contactName": "Vorstand der SEL",
        }),
    );
    let seat = b.location(
        body,
        t0,
        "Betriebshof der SEL, Am Klärwerk 4",
        "Am Klärwerk 4",
        "Mühlental",
    );
    b.link(body, "location", seat);
    let terms = terms(b, body, first_year.max(2015));
    let board = b.add(Kind::Organization, Some(body), t0, json!({
        "name": "Verwaltungsrat der Stadtentwässerung Lindenbrück AöR", "shortName": "Verwaltungsrat",
        "organizationType": "Gremium", "classification": "Verwaltungsrat",
    }));
    let mut people = People {
        memberships: Vec::new(),
        councillors: Vec::new(),
    };
    for i in 0..9 {
        let given = *b.rng.pick(&GIVEN_FEMALE);
        let family = *b.rng.pick(&FAMILY);
        let person = b.add(Kind::Person, Some(body), t0, json!({
            "name": format!("{given} {family}"), "givenName": given, "familyName": family, "gender": "female",
        }));
        for term in &terms {
            membership(
                b,
                &mut people,
                person,
                board,
                term,
                if i == 0 { "Vorsitz" } else { "Mitglied" },
                true,
                None,
            );
        }
    }
    let mut schedule = BTreeMap::new();
    let mut slots = Vec::new();
    for year in first_year..=LAST_YEAR {
        for n in 0..(4 * opts.scale as usize) {
            let date = workday(
                ymd(year, 2, 1) + Duration::days((n * 300 / (4 * opts.scale as usize)) as i64),
            );
            let members = people.members_at(board, date);
            slots.push(meeting(b, body, board, seat, date, 16, n + 1, &members));
        }
    }
    schedule.insert(board, slots.clone());
    let mut agendas = BTreeMap::new();
    let route = Route {
        steps: vec![(board, "Entscheidung")],
    };
    for year in first_year..=LAST_YEAR {
        for n in 0..(20 * opts.scale as usize) {
            let date = workday(
                ymd(year, 1, 15) + Duration::days((n * 320 / (20 * opts.scale as usize)) as i64),
            );
            if local(date, 9, 30) > present() {
                break;
            }
            let topic = ("Wirtschaftsplan und Gebührenbedarfsberechnung", 1, false);
            let ctx = PaperContext {
                body,
                date,
                year,
                seq: n + 1,
                topic,
                street: "Am Klärwerk",
                district: "Mühlental",
                departments: &[board],
                groups: &[],
                councillors: &[],
            };
            paper(b, &ctx, &route, &schedule, &mut agendas);
        }
    }
    for slot in slots.iter().filter(|s| s.agenda) {
        let entries = agendas.remove(&slot.pk).unwrap_or_default();
        agenda(b, body, *slot, entries);
    }
}
