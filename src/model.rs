//! The OParl 1.1 object model as data: the twelve kinds and every relation
//! between them (references, embedded children, back-references, lists).
//!
//! The store keeps each object's own plain values as a JSON document and every
//! relation to another object as a row of the `link` table, tagged with a
//! [`Rel`] code from [`RELS`]. Rendering, deletion and the list queries are all
//! driven by this table, so a rule of the spec that concerns relations is
//! written once, here, instead of twelve times. The codes are stored in the
//! database: never renumber them, only append.

/// The twelve object types of OParl 1.1 (spec §3 Schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    System = 0,
    Body = 1,
    LegislativeTerm = 2,
    Organization = 3,
    Person = 4,
    Membership = 5,
    Meeting = 6,
    AgendaItem = 7,
    Paper = 8,
    Consultation = 9,
    File = 10,
    Location = 11,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::System,
        Kind::Body,
        Kind::LegislativeTerm,
        Kind::Organization,
        Kind::Person,
        Kind::Membership,
        Kind::Meeting,
        Kind::AgendaItem,
        Kind::Paper,
        Kind::Consultation,
        Kind::File,
        Kind::Location,
    ];

    /// The code stored in `object.kind`.
    pub fn code(self) -> i16 {
        self as i16
    }

    pub fn from_code(code: i16) -> Option<Kind> {
        Kind::ALL.get(usize::try_from(code).ok()?).copied()
    }

    /// The type name as the spec writes it, e.g. `AgendaItem`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::System => "System",
            Kind::Body => "Body",
            Kind::LegislativeTerm => "LegislativeTerm",
            Kind::Organization => "Organization",
            Kind::Person => "Person",
            Kind::Membership => "Membership",
            Kind::Meeting => "Meeting",
            Kind::AgendaItem => "AgendaItem",
            Kind::Paper => "Paper",
            Kind::Consultation => "Consultation",
            Kind::File => "File",
            Kind::Location => "Location",
        }
    }

    /// The exact `type` URI: `https://schema.oparl.org/1.1/` and the type
    /// name (spec §3.1, the properties every object has).
    pub fn type_uri(self) -> String {
        format!("{TYPE_PREFIX}{}", self.name())
    }

    /// The kind whose `type` URI this is (OParl 1.1's, not 1.0's).
    pub fn from_type_uri(uri: &str) -> Option<Kind> {
        let name = uri.strip_prefix(TYPE_PREFIX)?;
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The path segment of this kind in our URLs: lowercase, words joined by
    /// a hyphen, so that one canonical spelling exists (spec §2.3 URLs).
    pub fn segment(self) -> &'static str {
        match self {
            Kind::System => "system",
            Kind::Body => "body",
            Kind::LegislativeTerm => "legislative-term",
            Kind::Organization => "organization",
            Kind::Person => "person",
            Kind::Membership => "membership",
            Kind::Meeting => "meeting",
            Kind::AgendaItem => "agenda-item",
            Kind::Paper => "paper",
            Kind::Consultation => "consultation",
            Kind::File => "file",
            Kind::Location => "location",
        }
    }

    pub fn from_segment(segment: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.segment() == segment)
    }

    /// Whether objects of this kind carry a `body` reference. For
    /// LegislativeTerm it is a back-reference (required when fetched on its
    /// own); for the others a plain reference. Meeting has none in the spec's
    /// schema (spec §3, Meeting): its Body is known from its list or its
    /// organizations, and we invent no such field.
    pub fn has_body_field(self) -> bool {
        matches!(
            self,
            Kind::LegislativeTerm | Kind::Organization | Kind::Person | Kind::Paper
        )
    }
}

/// Prefix of every `type` URI.
pub const TYPE_PREFIX: &str = "https://schema.oparl.org/1.1/";
/// The value of `System.oparlVersion`.
pub const OPARL_VERSION: &str = "https://schema.oparl.org/1.1/";
/// The prefix of the properties this server adds to OParl objects and
/// pages, e.g. `server:revision` (OParl 1.1 §3 allows vendor-specific
/// properties with a vendor prefix). A source's properties with this prefix
/// are this server's own and never stored.
pub const VENDOR_PREFIX: &str = "server:";
/// `server:changes`: on the System and each Body, the URL of the change feed.
pub const CHANGES_PROPERTY: &str = "server:changes";
/// `server:search`: on the System and each Body, the URL of the full-text
/// search (see `api::search`).
pub const SEARCH_PROPERTY: &str = "server:search";
/// `server:body`: on each entry of the change feed and each line of a dump,
/// the Body the object belongs to.
pub const BODY_PROPERTY: &str = "server:body";
/// `server:dump`: on the System and each Body (when the server builds
/// them), the URL of the bulk dump.
pub const DUMP_PROPERTY: &str = "server:dump";
/// `server:calendar`: on each Body and Organization, the URL of the
/// calendar of its meetings (iCalendar, see `api::feeds`).
pub const CALENDAR_PROPERTY: &str = "server:calendar";
/// `server:dcat`: on the System, the URL of the DCAT-AP.de catalogue.
pub const DCAT_PROPERTY: &str = "server:dcat";
/// `server:revision`: on each feed entry its revision, on a feed page the
/// store's revision the page was read at.
pub const REVISION_PROPERTY: &str = "server:revision";

/// The `type` of the Error object.
pub const ERROR_TYPE: &str = "https://schema.oparl.org/1.1/Error";

/// How a relation appears in the JSON of its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One URL.
    Ref,
    /// An array of URLs, in stored order.
    Refs,
    /// One embedded object.
    Embed,
    /// An array of embedded objects, in stored order.
    Embeds,
}

impl Shape {
    pub fn is_embedding(self) -> bool {
        matches!(self, Shape::Embed | Shape::Embeds)
    }
}

/// One relation field of one kind.
#[derive(Debug)]
pub struct RelDef {
    /// Stored in `link.field`.
    pub code: i16,
    pub owner: Kind,
    pub name: &'static str,
    pub target: Kind,
    pub shape: Shape,
    /// Left out with `omit_internal=true` (spec §2.5, new in 1.1).
    pub omit_internal: bool,
    /// The name of the back-reference this relation produces on the target
    /// when the target is fetched on its own (spec §3 Schema: left out when
    /// embedded), and whether it is a single URL (true) or an array of URLs.
    pub back: Option<(&'static str, bool)>,
}

const fn def(
    code: i16,
    owner: Kind,
    name: &'static str,
    shape: Shape,
    target: Kind,
    omit_internal: bool,
    back: Option<(&'static str, bool)>,
) -> RelDef {
    RelDef {
        code,
        owner,
        name,
        target,
        shape,
        omit_internal,
        back,
    }
}

use Kind::*;
use Shape::*;
/// Not omitted by `omit_internal`.
const KEEP: bool = false;
/// Omitted by `omit_internal`.
const OMIT: bool = true;
/// Back-reference arrays and single back-references on the target.
const fn many(name: &'static str) -> Option<(&'static str, bool)> {
    Some((name, false))
}
const fn one(name: &'static str) -> Option<(&'static str, bool)> {
    Some((name, true))
}

/// Every relation of OParl 1.1 that points at another object of the same
/// server, indexed by its code (`RELS[code].code == code`).
pub static RELS: [RelDef; 35] = [
    def(0, Body, "location", Embed, Location, KEEP, many("bodies")),
    def(
        1,
        Body,
        "legislativeTerm",
        Embeds,
        LegislativeTerm,
        OMIT,
        None,
    ),
    def(
        2,
        Organization,
        "subOrganizationOf",
        Ref,
        Organization,
        KEEP,
        None,
    ),
    def(
        3,
        Organization,
        "location",
        Embed,
        Location,
        KEEP,
        many("organizations"),
    ),
    // Person.location (a URL) is rendered from the same link as the embedded
    // locationObject, so the two can never disagree (spec §3, Person; rule 80
    // of `oparl check`).
    def(
        4,
        Person,
        "locationObject",
        Embed,
        Location,
        KEEP,
        many("persons"),
    ),
    def(
        5,
        Person,
        "membership",
        Embeds,
        Membership,
        OMIT,
        one("person"),
    ),
    def(6, Membership, "organization", Ref, Organization, KEEP, None),
    def(7, Membership, "onBehalfOf", Ref, Organization, KEEP, None),
    def(
        8,
        Meeting,
        "location",
        Embed,
        Location,
        KEEP,
        many("meetings"),
    ),
    def(9, Meeting, "organization", Refs, Organization, KEEP, None),
    def(10, Meeting, "participant", Refs, Person, KEEP, None),
    def(
        11,
        Meeting,
        "invitation",
        Embed,
        File,
        KEEP,
        many("meeting"),
    ),
    def(
        12,
        Meeting,
        "resultsProtocol",
        Embed,
        File,
        KEEP,
        many("meeting"),
    ),
    def(
        13,
        Meeting,
        "verbatimProtocol",
        Embed,
        File,
        KEEP,
        many("meeting"),
    ),
    def(
        14,
        Meeting,
        "auxiliaryFile",
        Embeds,
        File,
        OMIT,
        many("meeting"),
    ),
    def(
        15,
        Meeting,
        "agendaItem",
        Embeds,
        AgendaItem,
        OMIT,
        one("meeting"),
    ),
    def(
        16,
        AgendaItem,
        "consultation",
        Ref,
        Consultation,
        KEEP,
        None,
    ),
    def(
        17,
        AgendaItem,
        "resolutionFile",
        Embed,
        File,
        KEEP,
        many("agendaItem"),
    ),
    def(
        18,
        AgendaItem,
        "auxiliaryFile",
        Embeds,
        File,
        OMIT,
        many("agendaItem"),
    ),
    def(19, Paper, "relatedPaper", Refs, Paper, KEEP, None),
    def(20, Paper, "superordinatedPaper", Refs, Paper, KEEP, None),
    def(21, Paper, "subordinatedPaper", Refs, Paper, KEEP, None),
    def(22, Paper, "mainFile", Embed, File, KEEP, many("paper")),
    def(
        23,
        Paper,
        "auxiliaryFile",
        Embeds,
        File,
        OMIT,
        many("paper"),
    ),
    def(
        24,
        Paper,
        "location",
        Embeds,
        Location,
        OMIT,
        many("papers"),
    ),
    def(25, Paper, "originatorPerson", Refs, Person, KEEP, None),
    def(
        26,
        Paper,
        "underDirectionOf",
        Refs,
        Organization,
        KEEP,
        None,
    ),
    def(
        27,
        Paper,
        "originatorOrganization",
        Refs,
        Organization,
        KEEP,
        None,
    ),
    def(
        28,
        Paper,
        "consultation",
        Embeds,
        Consultation,
        KEEP,
        one("paper"),
    ),
    def(29, Consultation, "agendaItem", Ref, AgendaItem, KEEP, None),
    def(30, Consultation, "meeting", Ref, Meeting, KEEP, None),
    def(
        31,
        Consultation,
        "organization",
        Refs,
        Organization,
        KEEP,
        None,
    ),
    def(32, File, "masterFile", Ref, File, KEEP, None),
    def(33, File, "derivativeFile", Refs, File, KEEP, None),
    // Organization.membership lists the memberships in the group by URL; it is
    // the inverse of Membership.organization and rendered from that link.
    def(34, Organization, "membership", Refs, Membership, KEEP, None),
];

/// Look a relation up by owner and field name.
pub fn rel(owner: Kind, name: &str) -> &'static RelDef {
    RELS.iter()
        .find(|r| r.owner == owner && r.name == name)
        .unwrap_or_else(|| panic!("no relation {}.{name}", owner.name()))
}

pub fn rel_by_code(code: i16) -> Option<&'static RelDef> {
    RELS.get(usize::try_from(code).ok()?)
}

/// Code of the relation `Membership.organization`, whose inverse is
/// `Organization.membership`.
pub const MEMBERSHIP_ORGANIZATION: i16 = 6;
/// Code of `Organization.membership`: never stored, derived from
/// [`MEMBERSHIP_ORGANIZATION`].
pub const ORGANIZATION_MEMBERSHIP: i16 = 34;
/// Code of `Meeting.agendaItem`; its position is `AgendaItem.order`.
pub const MEETING_AGENDA_ITEM: i16 = 15;
/// Code of `Meeting.organization`, the relation behind `Organization.meeting`.
pub const MEETING_ORGANIZATION: i16 = 9;
/// Code of `Consultation.organization`, behind `Organization.consultation`.
pub const CONSULTATION_ORGANIZATION: i16 = 31;

/// Code of `Person.membership`, the relation behind `Membership.person`.
pub const PERSON_MEMBERSHIP: i16 = 5;
/// Code of `Paper.consultation`, the relation behind `Consultation.paper`.
pub const PAPER_CONSULTATION: i16 = 28;

/// A reference that OParl 1.1 requires of an object served at its id: the
/// member's name, and the relation the store derives it from. When the
/// relation belongs to another kind, the member is a back-reference to the
/// parent that embeds the object (`Consultation.paper` from
/// `Paper.consultation`); otherwise it is the object's own reference.
///
/// The back-references are required by the spec's field tables ("MUST be
/// present when fetched on its own"); `Consultation.agendaItem` and
/// `Consultation.meeting` are required by their descriptions, where the
/// consultation has one. `LegislativeTerm.body` is left out: the store
/// derives it from the Body every object belongs to, so it is always there.
///
/// An importer whose source names a target it never serves keeps such a
/// reference pointing at the source, stored under the member's name in the
/// object's own values (see `import::apply`).
#[derive(Debug, Clone, Copy)]
pub struct RequiredRef {
    pub kind: Kind,
    pub name: &'static str,
    pub rel: i16,
}

impl RequiredRef {
    /// Whether the member is a back-reference to the embedding parent.
    pub fn is_back_reference(&self) -> bool {
        RELS[self.rel as usize].owner != self.kind
    }
}

pub const REQUIRED_REFS: [RequiredRef; 5] = [
    RequiredRef {
        kind: Kind::AgendaItem,
        name: "meeting",
        rel: MEETING_AGENDA_ITEM,
    },
    RequiredRef {
        kind: Kind::Membership,
        name: "person",
        rel: PERSON_MEMBERSHIP,
    },
    RequiredRef {
        kind: Kind::Consultation,
        name: "paper",
        rel: PAPER_CONSULTATION,
    },
    RequiredRef {
        kind: Kind::Consultation,
        name: "agendaItem",
        rel: 29,
    },
    RequiredRef {
        kind: Kind::Consultation,
        name: "meeting",
        rel: 30,
    },
];

/// The required references of a kind.
pub fn required_refs(kind: Kind) -> impl Iterator<Item = &'static RequiredRef> {
    REQUIRED_REFS.iter().filter(move |r| r.kind == kind)
}

/// Kinds that exist only inside one parent: deleting the parent deletes them.
pub fn owned_by_parent(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::LegislativeTerm | Kind::Membership | Kind::AgendaItem | Kind::Consultation
    )
}

/// The external lists (spec §2.5 object lists and pagination). The owner is
/// either the System, a Body or an Organization; the field name is what the
/// owner's JSON calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// `System.body`
    Bodies,
    /// One of the ten lists of a Body, of objects of this kind.
    Body(Kind),
    /// `Organization.meeting`
    OrganizationMeetings,
    /// `Organization.consultation`
    OrganizationConsultations,
}

/// The ten lists of a Body: (field name in the Body, kind listed).
pub const BODY_LISTS: [(&str, Kind); 10] = [
    ("organization", Kind::Organization),
    ("person", Kind::Person),
    ("meeting", Kind::Meeting),
    ("paper", Kind::Paper),
    ("agendaItem", Kind::AgendaItem),
    ("consultation", Kind::Consultation),
    ("file", Kind::File),
    ("locationList", Kind::Location),
    ("legislativeTermList", Kind::LegislativeTerm),
    ("membership", Kind::Membership),
];

impl ListKind {
    /// The kind of the objects in the list.
    pub fn item_kind(self) -> Kind {
        match self {
            ListKind::Bodies => Kind::Body,
            ListKind::Body(kind) => kind,
            ListKind::OrganizationMeetings => Kind::Meeting,
            ListKind::OrganizationConsultations => Kind::Consultation,
        }
    }
}

/// Attributes with a date value (`yyyy-mm-dd`), by field name. Used by the
/// importer's repairs and the tests of the JSON format.
pub const DATE_FIELDS: [&str; 3] = ["startDate", "endDate", "date"];
/// Attributes with a date-time value besides created/modified.
pub const DATE_TIME_FIELDS: [&str; 4] = ["start", "end", "licenseValidSince", "oparlSince"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_indexes() {
        for (i, r) in RELS.iter().enumerate() {
            assert_eq!(r.code as usize, i, "{}.{}", r.owner.name(), r.name);
        }
        for k in Kind::ALL {
            assert_eq!(Kind::from_code(k.code()), Some(k));
            assert_eq!(Kind::from_segment(k.segment()), Some(k));
        }
    }

    #[test]
    fn required_references_name_their_relations() {
        for r in &REQUIRED_REFS {
            let rel = &RELS[r.rel as usize];
            if r.is_back_reference() {
                assert_eq!(rel.target, r.kind, "{}.{}", r.kind.name(), r.name);
                assert_eq!(
                    rel.back,
                    Some((r.name, true)),
                    "{}.{}",
                    r.kind.name(),
                    r.name
                );
            } else {
                assert_eq!((rel.owner, rel.name), (r.kind, r.name));
            }
        }
    }

    #[test]
    fn relation_names_are_unique_per_owner() {
        for a in &RELS {
            let same = RELS
                .iter()
                .filter(|b| b.owner == a.owner && b.name == a.name)
                .count();
            assert_eq!(same, 1, "{}.{}", a.owner.name(), a.name);
        }
    }
}
