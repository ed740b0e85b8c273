//! The frame of every page (language, landmarks, the search box, the
//! breadcrumbs, the footer with the data behind the page) and the one
//! stylesheet, served at a path named by its content so that it can be
//! cached for a year.

use maud::{html, Markup, DOCTYPE};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The stylesheet's text.
pub const STYLE: &str = include_str!("style.css");

/// Where the stylesheet is served: outside the base URL (like the probes),
/// named by the first bytes of its SHA-256, so a new version is a new URL.
pub static STYLE_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/-/style-{}.css", short_hash(STYLE)));

/// The site's icon (a council building), so that browsers need not ask
/// for a `/favicon.ico` that is not there.
pub const ICON: &str = include_str!("icon.svg");

/// Where the icon is served, named by its content like the stylesheet.
pub static ICON_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/-/icon-{}.svg", short_hash(ICON)));

fn short_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// What the frame shows around a page's content.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// The System's name: the site's name.
    pub site: String,
    /// The start page (the System's URL).
    pub start: String,
    /// The search page.
    pub search: String,
    /// The page's title, its one `h1`.
    pub title: String,
    /// The way from the start page to this one (without this one).
    pub crumbs: Vec<(String, String)>,
    /// The same resource as JSON, linked as an alternate.
    pub json: Option<String>,
    /// Feeds and calendars of this page: (URL, media type, title).
    pub alternates: Vec<(String, &'static str, String)>,
    /// What the search box shows.
    pub query: String,
}

/// The whole page around `content` (which starts below the `h1`).
pub fn page(frame: &Frame, content: Markup) -> String {
    let site = if frame.site.is_empty() {
        "Ratsinformationen"
    } else {
        frame.site.as_str()
    };
    let title = if frame.title == site {
        site.to_string()
    } else {
        format!("{} – {site}", frame.title)
    };
    html! {
        (DOCTYPE)
        html lang="de" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="stylesheet" href=(*STYLE_PATH);
                link rel="icon" type="image/svg+xml" href=(*ICON_PATH);
                @if let Some(json) = &frame.json {
                    link rel="alternate" type="application/json" href=(json);
                }
                @for (url, media, name) in &frame.alternates {
                    link rel="alternate" type=(media) href=(url) title=(name);
                }
            }
            body {
                a.skip href="#inhalt" { "Zum Inhalt springen" }
                header.site {
                    a.name href=(frame.start) { (site) }
                    form.search role="search" action=(frame.search) method="get" {
                        label for="suche-kopf" { "Suche" }
                        input #suche-kopf type="search" name="q" value=(frame.query);
                        button type="submit" { "Suchen" }
                    }
                }
                @if !frame.crumbs.is_empty() {
                    nav.crumbs aria-label="Brotkrumennavigation" {
                        ol {
                            @for (url, text) in &frame.crumbs {
                                li { a href=(url) { (text) } }
                            }
                        }
                    }
                }
                main #inhalt {
                    h1 { (frame.title) }
                    (content)
                    @if !frame.alternates.is_empty() {
                        section.subscribe aria-labelledby="abonnieren" {
                            h2 #abonnieren { "Abonnieren" }
                            ul {
                                @for (url, media, name) in &frame.alternates {
                                    li {
                                        a href=(url) type=(media) { (name) }
                                        " " span.meta { (kind_of_media(media)) }
                                    }
                                }
                            }
                        }
                    }
                }
                footer {
                    p {
                        "Diese Seite zeigt Daten der OParl-Schnittstelle dieses Servers"
                        @if let Some(json) = &frame.json {
                            " ("
                            a href=(json) { "dieselben Daten als JSON" }
                            ")"
                        }
                        "."
                    }
                }
            }
        }
    }
    .into_string()
}

fn kind_of_media(media: &str) -> &'static str {
    match media {
        "text/calendar" => "(Kalender, iCal)",
        "application/atom+xml" => "(Feed, Atom)",
        _ => "",
    }
}

/// The page of an error: its message (the Error object's) and a way on.
/// Made without the database, which may be what failed.
pub fn error(urls: &crate::urls::Urls, status: u16, message: &str) -> String {
    let frame = Frame {
        start: urls.system(),
        search: urls.search(),
        title: match status {
            404 => "Nicht gefunden".to_string(),
            400..=499 => "Die Anfrage konnte nicht bearbeitet werden".to_string(),
            _ => "Vorübergehend nicht verfügbar".to_string(),
        },
        ..Frame::default()
    };
    page(
        &frame,
        html! {
            p { (message) }
            p.muted { "Statuscode " (status) }
            p { a href=(frame.start) { "Zur Startseite" } }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::STYLE;

    /// The colour of a custom property of the stylesheet (`--name: #rrggbb`).
    fn colour(name: &str) -> [f64; 3] {
        let at = STYLE.find(&format!("--{name}: #")).expect(name) + name.len() + 5;
        let hex = &STYLE[at..at + 6];
        let channel = |i: usize| f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
        [channel(0), channel(2), channel(4)]
    }

    /// WCAG 2.x contrast ratio of two sRGB colours.
    fn contrast(a: [f64; 3], b: [f64; 3]) -> f64 {
        let luminance = |c: [f64; 3]| {
            let lin = |v: f64| {
                let v = v / 255.0;
                if v <= 0.039_28 {
                    v / 12.92
                } else {
                    ((v + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2])
        };
        let (x, y) = (luminance(a) + 0.05, luminance(b) + 0.05);
        x.max(y) / x.min(y)
    }

    #[test]
    fn text_colours_meet_wcag_aa_on_their_backgrounds() {
        let white = [255.0; 3];
        // (text, background) as the stylesheet pairs them.
        for (text, background) in [
            (colour("ink"), white),
            (colour("ink"), colour("band")),
            (colour("ink"), colour("mark")),
            (colour("muted"), white),
            (colour("muted"), colour("band")),
            (colour("link"), white),
            (colour("link"), colour("band")),
            (white, colour("link")),
        ] {
            let ratio = contrast(text, background);
            assert!(ratio >= 4.5, "{text:?} on {background:?}: {ratio:.2}");
        }
    }
}
