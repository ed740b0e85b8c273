//! The German words of the pages: names of kinds and fields, and dates,
//! times, sizes and yes/no as a German reader expects them.

use crate::model::Kind;

/// A kind's name, singular.
pub fn kind(kind: Kind) -> &'static str {
    match kind {
        Kind::System => "System",
        Kind::Body => "Körperschaft",
        Kind::LegislativeTerm => "Wahlperiode",
        Kind::Organization => "Gremium",
        Kind::Person => "Person",
        Kind::Membership => "Mitgliedschaft",
        Kind::Meeting => "Sitzung",
        Kind::AgendaItem => "Tagesordnungspunkt",
        Kind::Paper => "Drucksache",
        Kind::Consultation => "Beratung",
        Kind::File => "Datei",
        Kind::Location => "Ort",
    }
}

/// A kind's name, plural (the title of its lists).
pub fn kinds(kind: Kind) -> &'static str {
    match kind {
        Kind::System => "Systeme",
        Kind::Body => "Körperschaften",
        Kind::LegislativeTerm => "Wahlperioden",
        Kind::Organization => "Gremien",
        Kind::Person => "Personen",
        Kind::Membership => "Mitgliedschaften",
        Kind::Meeting => "Sitzungen",
        Kind::AgendaItem => "Tagesordnungspunkte",
        Kind::Paper => "Drucksachen",
        Kind::Consultation => "Beratungen",
        Kind::File => "Dateien",
        Kind::Location => "Orte",
    }
}

/// The German label of an OParl field; the field's own name for one this
/// table lacks (vendor properties and the like).
pub fn field(name: &str) -> &str {
    match name {
        "name" => "Name",
        "shortName" => "Kurzname",
        "website" => "Website",
        "license" => "Lizenz",
        "licenseValidSince" => "Lizenz gültig seit",
        "oparlSince" => "OParl seit",
        "ags" => "Gemeindeschlüssel (AGS)",
        "rgs" => "Regionalschlüssel (RGS)",
        "equivalent" => "Entsprechungen",
        "contactEmail" => "Kontakt (E-Mail)",
        "contactName" => "Kontakt",
        "classification" => "Klassifizierung",
        "location" => "Ort",
        "legislativeTerm" => "Wahlperioden",
        "startDate" => "Beginn",
        "endDate" => "Ende",
        "familyName" => "Familienname",
        "givenName" => "Vorname",
        "formOfAddress" => "Anrede",
        "affix" => "Namenszusatz",
        "title" => "Titel",
        "gender" => "Geschlecht",
        "phone" => "Telefon",
        "email" => "E-Mail",
        "status" => "Status",
        "life" => "Lebenslauf",
        "lifeSource" => "Quelle des Lebenslaufs",
        "role" => "Rolle",
        "votingRight" => "Stimmberechtigt",
        "onBehalfOf" => "Für",
        "organizationType" => "Art",
        "post" => "Positionen",
        "subOrganizationOf" => "Teil von",
        "meetingState" => "Status",
        "cancelled" => "Abgesagt",
        "start" => "Beginn",
        "end" => "Ende",
        "organization" => "Gremien",
        "participant" => "Teilnehmende",
        "invitation" => "Einladung",
        "resultsProtocol" => "Ergebnisprotokoll",
        "verbatimProtocol" => "Wortprotokoll",
        "auxiliaryFile" => "Weitere Dateien",
        "agendaItem" => "Tagesordnung",
        "number" => "Nummer",
        "order" => "Reihenfolge",
        "public" => "Öffentlich",
        "result" => "Ergebnis",
        "resolutionText" => "Beschlusstext",
        "resolutionFile" => "Beschluss",
        "reference" => "Aktenzeichen",
        "date" => "Datum",
        "paperType" => "Art",
        "relatedPaper" => "Verwandte Drucksachen",
        "superordinatedPaper" => "Übergeordnete Drucksachen",
        "subordinatedPaper" => "Untergeordnete Drucksachen",
        "mainFile" => "Hauptdokument",
        "originatorPerson" => "Urheber (Personen)",
        "underDirectionOf" => "Federführung",
        "originatorOrganization" => "Urheber (Gremien)",
        "consultation" => "Beratungen",
        "authoritative" => "Beschließend",
        "paper" => "Drucksache",
        "meeting" => "Sitzung",
        "fileName" => "Dateiname",
        "mimeType" => "Dateityp",
        "size" => "Größe",
        "sha1Checksum" | "sha512Checksum" => "Prüfsumme",
        "text" => "Text",
        "accessUrl" => "Ansehen",
        "downloadUrl" => "Herunterladen",
        "externalServiceUrl" => "Externer Dienst",
        "masterFile" => "Ursprungsdatei",
        "derivativeFile" => "Abgeleitete Dateien",
        "fileLicense" => "Lizenz der Datei",
        "description" => "Beschreibung",
        "streetAddress" => "Straße",
        "room" => "Raum",
        "postalCode" => "Postleitzahl",
        "subLocality" => "Ortsteil",
        "locality" => "Ort",
        "bodies" => "Körperschaften",
        "organizations" => "Gremien",
        "persons" => "Personen",
        "meetings" => "Sitzungen",
        "papers" => "Drucksachen",
        "geojson" => "Koordinaten",
        "keyword" => "Schlagworte",
        "created" => "Angelegt",
        "modified" => "Geändert",
        "web" => "Webseite",
        "body" => "Körperschaft",
        "person" => "Person",
        "membership" => "Mitgliedschaften",
        "system" => "System",
        "vendor" => "Hersteller",
        "product" => "Produkt",
        "contact" => "Kontakt",
        other => other,
    }
}

/// `2026-11-15` or the date part of a date-time as `15.11.2026`; anything
/// else as it is.
pub fn date(value: &str) -> String {
    let day = value.get(..10).unwrap_or(value);
    match chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d") {
        Ok(d) => d.format("%d.%m.%Y").to_string(),
        Err(_) => value.to_string(),
    }
}

/// A date-time as `15.11.2026, 17:00 Uhr` in the time zone it was given
/// in (the source's local time); a date alone as [`date`].
pub fn date_time(value: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(value) {
        Ok(t) => t.format("%d.%m.%Y, %H:%M Uhr").to_string(),
        Err(_) => date(value),
    }
}

/// A size in bytes as a reader takes it in: `12,3 KB`.
pub fn size(bytes: u64) -> String {
    let (value, unit) = match bytes {
        b if b < 1000 => return format!("{b} Bytes"),
        b if b < 1_000_000 => (b as f64 / 1e3, "KB"),
        b if b < 1_000_000_000 => (b as f64 / 1e6, "MB"),
        b => (b as f64 / 1e9, "GB"),
    };
    format!("{value:.1} {unit}").replace('.', ",")
}

/// `Person.gender` in German (the spec's values are English words).
pub fn gender(value: &str) -> &str {
    match value {
        "male" => "männlich",
        "female" => "weiblich",
        "other" => "divers",
        other => other,
    }
}

pub fn yes_no(value: bool) -> &'static str {
    if value {
        "ja"
    } else {
        "nein"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_sizes_read_the_german_way() {
        assert_eq!(date("2026-11-05"), "05.11.2026");
        assert_eq!(
            date_time("2026-11-05T17:30:00+01:00"),
            "05.11.2026, 17:30 Uhr"
        );
        assert_eq!(date_time("2026-11-05"), "05.11.2026");
        assert_eq!(date("kein Datum"), "kein Datum");
        assert_eq!(size(999), "999 Bytes");
        assert_eq!(size(12_345), "12,3 KB");
        assert_eq!(size(4_500_000), "4,5 MB");
    }
}
