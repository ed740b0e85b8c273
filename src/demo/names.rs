//! Word lists for the fictional city of Lindenbrück: people, committees,
//! places and the topics of its papers. All invented; umlauts on purpose.

pub const CITY: &str = "Lindenbrück";

pub const GIVEN_FEMALE: [&str; 24] = [
    "Anna", "Birgit", "Claudia", "Dörte", "Elke", "Franziska", "Gülay", "Hannah", "Ines", "Jördis",
    "Katharina", "Lena", "Marlene", "Nadine", "Özlem", "Petra", "Renate", "Sabine", "Tanja", "Ursula",
    "Vanessa", "Wiebke", "Zoë", "Käthe",
];
pub const GIVEN_MALE: [&str; 24] = [
    "Andreas", "Björn", "Christian", "Dieter", "Emre", "Frank", "Günter", "Heiko", "Jürgen", "Klaus",
    "Lars", "Michael", "Nils", "Ömer", "Peter", "Rüdiger", "Sören", "Thomas", "Uwe", "Volker",
    "Wolfgang", "Jörg", "Hans-Jürgen", "Matthias",
];
pub const FAMILY: [&str; 40] = [
    "Müller", "Schäfer", "Köhler", "Krüger", "Böhm", "Jäger", "Günther", "Möller", "Schröder", "Bäcker",
    "Hüsken", "Lütke", "Weiß", "Groß", "Schmitz", "Wagner", "Becker", "Hoffmann", "Schulz", "Koch",
    "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun", "Hofmann", "Krämer", "Lange",
    "Yılmaz", "Kowalski", "Pöhlmann", "Dönges", "Sommerfeld", "Vöhringer", "Özdemir", "Büscher", "Fröhlich", "Kühn",
];
pub const TITLES: [&str; 3] = ["Dr.", "Prof. Dr.", "Dipl.-Ing."];

/// Parliamentary groups: (Fraktion name, short name, party name).
pub const GROUPS: [(&str, &str, &str); 8] = [
    ("CDU-Fraktion im Rat der Stadt Lindenbrück", "CDU", "Christlich Demokratische Union, Stadtverband Lindenbrück"),
    ("SPD-Fraktion im Rat der Stadt Lindenbrück", "SPD", "Sozialdemokratische Partei Deutschlands, Ortsverein Lindenbrück"),
    ("Fraktion Bündnis 90/Die Grünen", "GRÜNE", "Bündnis 90/Die Grünen, Ortsverband Lindenbrück"),
    ("FDP-Fraktion", "FDP", "Freie Demokratische Partei, Ortsverband Lindenbrück"),
    ("Fraktion Die Linke", "LINKE", "Die Linke, Kreisverband Lindenbrück"),
    ("Fraktion Freie Wähler Lindenbrück", "FWL", "Freie Wähler Lindenbrück e. V."),
    ("Gruppe Volt", "Volt", "Volt Deutschland, Team Lindenbrück"),
    ("Fraktion Bürgerliste Lindenbrück", "BLL", "Bürgerliste Lindenbrück e. V."),
];

/// Committees and advisory boards: (name, short name, classification, topics).
pub const COMMITTEES: [(&str, &str, &str); 15] = [
    ("Hauptausschuss", "HA", "Ausschuss"),
    ("Ausschuss für Finanzen und Beteiligungen", "FinA", "Ausschuss"),
    ("Ausschuss für Stadtentwicklung und Bauen", "StEA", "Ausschuss"),
    ("Ausschuss für Umwelt, Klima und Grünflächen", "UKA", "Ausschuss"),
    ("Ausschuss für Mobilität und Verkehr", "MVA", "Ausschuss"),
    ("Schulausschuss", "SchA", "Ausschuss"),
    ("Jugendhilfeausschuss", "JHA", "Ausschuss"),
    ("Ausschuss für Soziales, Gesundheit und Senioren", "SGA", "Ausschuss"),
    ("Ausschuss für Kultur und Städtepartnerschaften", "KuA", "Ausschuss"),
    ("Sport- und Bäderausschuss", "SpA", "Ausschuss"),
    ("Rechnungsprüfungsausschuss", "RPA", "Ausschuss"),
    ("Ausschuss für Wirtschaft, Digitalisierung und Tourismus", "WiDA", "Ausschuss"),
    ("Ausschuss für Bürgerbeteiligung und Gleichstellung", "BüGA", "Ausschuss"),
    ("Integrationsrat", "IR", "Beirat"),
    ("Seniorenbeirat", "SBR", "Beirat"),
];

pub const DISTRICTS: [&str; 5] = ["Mitte", "Nordstadt", "Oberlinden", "Brückenau", "Mühlental"];

pub const DEPARTMENTS: [&str; 5] = [
    "Dezernat I – Verwaltungsführung, Personal und Recht",
    "Dezernat II – Finanzen, Beteiligungen und Ordnung",
    "Dezernat III – Bildung, Jugend, Soziales und Kultur",
    "Dezernat IV – Stadtentwicklung, Bauen und Umwelt",
    "Dezernat V – Mobilität, Wirtschaft und Digitales",
];

pub const STREETS: [&str; 24] = [
    "Mühlenstraße", "Brückenstraße", "Lindenallee", "Marktplatz", "Kirchgasse", "Schützenweg",
    "Am Hüttenwerk", "Gartenstraße", "Bahnhofstraße", "Schloßberg", "Wiesengrund", "Fährweg",
    "Königsstraße", "Am Lindenhof", "Grünstraße", "Töpferweg", "Rosenhöhe", "Ulmenweg",
    "Zechenstraße", "Lärchenweg", "Hügelstraße", "Am Mühlbach", "Weberstraße", "Düppelstraße",
];

/// Topics for papers: (title template with `{}` for a street, the committee
/// index in COMMITTEES that leads, whether it concerns a place).
pub const TOPICS: [(&str, usize, bool); 24] = [
    ("Sanierung der Grundschule {}", 5, true),
    ("Bebauungsplan „Westlich der {}“ – Aufstellungsbeschluss", 2, true),
    ("Bebauungsplan „{}“ – Satzungsbeschluss", 2, true),
    ("Neugestaltung des Straßenraums {}", 4, true),
    ("Radweg entlang der {}", 4, true),
    ("Einrichtung einer Fahrradstraße in der {}", 4, true),
    ("Baumpflanzungen und Entsiegelung {}", 3, true),
    ("Hitzeschutzkonzept für öffentliche Plätze", 3, false),
    ("Fortschreibung des Klimaschutzkonzepts", 3, false),
    ("Jahresabschluss der Stadtwerke Lindenbrück GmbH", 1, false),
    ("Über- und außerplanmäßige Aufwendungen im Haushaltsjahr", 1, false),
    ("Gebührenkalkulation Abfallentsorgung und Straßenreinigung", 1, false),
    ("Ausbau der Offenen Ganztagsschule", 5, false),
    ("Bedarfsplan Kindertagesbetreuung", 6, false),
    ("Förderung des Jugendzentrums {}", 6, true),
    ("Seniorengerechte Quartiersentwicklung {}", 7, true),
    ("Kommunale Wärmeplanung", 11, false),
    ("Digitalisierung der Bürgerdienste", 11, false),
    ("Zuschüsse für Kulturvereine", 8, false),
    ("Sanierung des Hallenbads {}", 9, true),
    ("Bericht über die Prüfung des Jahresabschlusses", 10, false),
    ("Einrichtung eines Kinder- und Jugendparlaments", 12, false),
    ("Barrierefreier Umbau der Bushaltestelle {}", 4, true),
    ("Umgestaltung des Spielplatzes {}", 6, true),
];
