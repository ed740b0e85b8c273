//! The rules the checker applies, each with its number and level. The
//! numbers are this catalogue's own and stable (reports and tests name
//! them); gaps are requirements it does not check. Each rule's title says
//! which requirement of the OParl 1.1 spec it checks.

use serde::Serialize;

/// How binding a rule is: the RFC 2119 words the spec's German terms stand
/// for (spec §1.5: "muss" MUST, "sollte" SHOULD, "darf" MAY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Level {
    #[serde(rename = "MUST")]
    Must,
    #[serde(rename = "SHOULD")]
    Should,
    #[serde(rename = "MAY")]
    May,
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        })
    }
}

/// One checked rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// The rule's number in this catalogue.
    pub id: u32,
    pub level: Level,
    pub title: &'static str,
}

const fn r(id: u32, level: Level, title: &'static str) -> Rule {
    Rule { id, level, title }
}

use Level::*;

/// Every rule the checker knows, by number.
pub const RULES: &[Rule] = &[
    r(2, Must, "an object's id is the URL it is fetched from"),
    r(12, Must, "responses are valid JSON"),
    r(13, Must, "responses are UTF-8 without a byte-order mark"),
    r(14, Must, "no HTML or XML entity escaping in strings"),
    r(15, Must, "dates are yyyy-mm-dd"),
    r(16, Must, "date-times are yyyy-mm-ddThh:mm:ss±hh:mm"),
    r(17, Should, "no properties with the value null"),
    r(18, Should, "optional arrays are left out rather than empty; required arrays are present"),
    r(19, Should, "no empty strings, no strings padded with white space"),
    r(20, Must, "every attribute has the type and form the schema defines"),
    r(21, Must, "every object has an id and the exact type URI of its kind"),
    r(22, Must, "every object, embedded ones included, has created"),
    r(23, Must, "every object, embedded ones included, has modified"),
    r(28, Must, "every embedded object can be fetched at its id and agrees with its embedded copy"),
    r(29, Must, "standalone objects carry their back-references"),
    r(30, Should, "embedded objects leave out back-references"),
    r(31, Must, "deleted objects are never embedded"),
    r(32, Must, "list pages have data, pagination and links"),
    r(33, Must, "links.next is on every page but the last; following it visits every object once"),
    r(34, Must, "elementsPerPage is the same on every page but the last"),
    r(35, Must, "list order is stable"),
    r(36, Should, "lists of more than 100 objects are paginated"),
    r(38, Must, "the four date filters are supported and select exactly the matching objects, bounds inclusive"),
    r(39, Must, "the filters in force are kept in every link"),
    r(41, Must, "without modified_since, deleted objects are not listed"),
    r(43, Should, "omit_internal=true leaves out exactly the seven embedded lists"),
    r(44, Should, "an invalid request gets a 4xx status and the Error object"),
    r(45, Must, "objects are never hard-deleted: every referenced URL returns an object"),
    r(48, Must, "a deleted object keeps id, type, created and modified and has deleted: true"),
    r(53, Must, "every JSON response carries Access-Control-Allow-Origin: *"),
    r(54, Should, "Access-Control-Allow-Methods is not set, or includes GET"),
    r(55, Must, "every File's bytes can be fetched"),
    r(58, Should, "file responses carry Last-Modified, Content-Length and ETag"),
    r(59, Should, "a deleted File's bytes answer 410"),
    r(60, Must, "every File has accessUrl"),
    r(61, Must, "accessUrl is never sent as an attachment"),
    r(63, Must, "downloadUrl is sent with Content-Disposition: attachment and a filename"),
    r(64, Should, "files carry sha512Checksum, and checksums and size match the bytes"),
    r(65, Should, "File.name has no file extension"),
    r(66, Should, "an unknown URL answers 404 with the Error object"),
    r(68, Must, "an Error object comes with an error status"),
    r(71, Must, "System.oparlVersion is https://schema.oparl.org/1.1/"),
    r(74, Must, "Body has name, the four classic lists and the legislativeTerm array"),
    r(75, Must, "Body has the six lists of 1.1, and they hold every object of the body"),
    r(77, Must, "AgendaItem.order is its 0-based index in Meeting.agendaItem"),
    r(79, Must, "Location.geojson is a GeoJSON Feature with coordinates in longitude, latitude order"),
    r(80, Must, "Person.location names the same Location as Person.locationObject"),
    r(81, Should, "Person.gender is a lowercase English word"),
    r(84, Should, "Meeting.meetingState is terminiert, eingeladen or durchgeführt"),
    // Beyond the spec's list: what a harvester needs so that following a
    // reference never lands on a tombstone where an object is expected.
    r(88, Should, "live objects do not refer to deleted objects"),
];

/// The rule with this number.
pub fn rule(id: u32) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("rule {id} is not in the catalogue"))
}
