//! What the checker needs to know of OParl 1.1's structure: which attribute
//! embeds which type, which references which, the back-references, the
//! Body lists and the `omit_internal` attributes.

/// (owner, attribute, embedded type, is an array)
pub const EMBEDS: &[(&str, &str, &str, bool)] = &[
    ("Body", "location", "Location", false),
    ("Body", "legislativeTerm", "LegislativeTerm", true),
    ("Organization", "location", "Location", false),
    ("Person", "locationObject", "Location", false),
    ("Person", "membership", "Membership", true),
    ("Meeting", "location", "Location", false),
    ("Meeting", "invitation", "File", false),
    ("Meeting", "resultsProtocol", "File", false),
    ("Meeting", "verbatimProtocol", "File", false),
    ("Meeting", "auxiliaryFile", "File", true),
    ("Meeting", "agendaItem", "AgendaItem", true),
    ("AgendaItem", "resolutionFile", "File", false),
    ("AgendaItem", "auxiliaryFile", "File", true),
    ("Paper", "mainFile", "File", false),
    ("Paper", "auxiliaryFile", "File", true),
    ("Paper", "location", "Location", true),
    ("Paper", "consultation", "Consultation", true),
];

/// (owner, attribute, referenced type, is an array). References that may
/// point to other systems (Organization.externalBody,
/// Consultation.organization) are checked only when they are ours.
pub const REFS: &[(&str, &str, &str, bool)] = &[
    ("Body", "system", "System", false),
    ("LegislativeTerm", "body", "Body", false),
    ("Organization", "body", "Body", false),
    ("Organization", "subOrganizationOf", "Organization", false),
    ("Organization", "membership", "Membership", true),
    ("Person", "body", "Body", false),
    ("Person", "location", "Location", false),
    ("Membership", "person", "Person", false),
    ("Membership", "organization", "Organization", false),
    ("Membership", "onBehalfOf", "Organization", false),
    ("Meeting", "organization", "Organization", true),
    ("Meeting", "participant", "Person", true),
    ("AgendaItem", "meeting", "Meeting", false),
    ("AgendaItem", "consultation", "Consultation", false),
    ("Paper", "body", "Body", false),
    ("Paper", "relatedPaper", "Paper", true),
    ("Paper", "superordinatedPaper", "Paper", true),
    ("Paper", "subordinatedPaper", "Paper", true),
    ("Paper", "originatorPerson", "Person", true),
    ("Paper", "underDirectionOf", "Organization", true),
    ("Paper", "originatorOrganization", "Organization", true),
    ("Consultation", "paper", "Paper", false),
    ("Consultation", "agendaItem", "AgendaItem", false),
    ("Consultation", "meeting", "Meeting", false),
    ("Consultation", "organization", "Organization", true),
    ("File", "masterFile", "File", false),
    ("File", "derivativeFile", "File", true),
    ("File", "meeting", "Meeting", true),
    ("File", "agendaItem", "AgendaItem", true),
    ("File", "paper", "Paper", true),
    ("Location", "bodies", "Body", true),
    ("Location", "organizations", "Organization", true),
    ("Location", "persons", "Person", true),
    ("Location", "meetings", "Meeting", true),
    ("Location", "papers", "Paper", true),
];

/// Back-references: present when standalone (the single ones MUST be),
/// absent when embedded. (type, attribute)
pub const BACK_REFERENCES: &[(&str, &str)] = &[
    ("LegislativeTerm", "body"),
    ("Membership", "person"),
    ("AgendaItem", "meeting"),
    ("Consultation", "paper"),
    ("File", "meeting"),
    ("File", "agendaItem"),
    ("File", "paper"),
    ("Location", "bodies"),
    ("Location", "organizations"),
    ("Location", "persons"),
    ("Location", "meetings"),
    ("Location", "papers"),
];

/// The attributes `omit_internal=true` leaves out (spec §2.5, new in 1.1).
pub const OMIT_INTERNAL: &[(&str, &str)] = &[
    ("AgendaItem", "auxiliaryFile"),
    ("Meeting", "auxiliaryFile"),
    ("Paper", "auxiliaryFile"),
    ("Paper", "location"),
    ("Person", "membership"),
    ("Meeting", "agendaItem"),
    ("Body", "legislativeTerm"),
];

/// The Body lists: (attribute, type listed, new in 1.1).
pub const BODY_LISTS: &[(&str, &str, bool)] = &[
    ("organization", "Organization", false),
    ("person", "Person", false),
    ("meeting", "Meeting", false),
    ("paper", "Paper", false),
    ("agendaItem", "AgendaItem", true),
    ("consultation", "Consultation", true),
    ("file", "File", true),
    ("locationList", "Location", true),
    ("legislativeTermList", "LegislativeTerm", true),
    ("membership", "Membership", true),
];

pub fn is_back_reference(type_name: &str, attribute: &str) -> bool {
    BACK_REFERENCES.contains(&(type_name, attribute))
}

pub fn is_single_back_reference(type_name: &str, attribute: &str) -> bool {
    matches!(
        (type_name, attribute),
        ("LegislativeTerm", "body")
            | ("Membership", "person")
            | ("AgendaItem", "meeting")
            | ("Consultation", "paper")
    )
}
