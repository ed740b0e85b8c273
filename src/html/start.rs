//! The start page (at `/` and at the System's URL): the bodies, a search
//! box, the next meetings and the newest papers. Also the page of one
//! Body, which shows the same for that Body and links to all its lists.

use super::layout::{page, Frame};
use super::object::{section, Section};
use maud::html;

/// The start page.
pub fn start(frame: &Frame, sections: &[Section]) -> String {
    page(
        frame,
        html! {
            form.search role="search" action=(frame.search) method="get" {
                label for="suche-start" { "Ratsinformationen durchsuchen" }
                input #suche-start type="search" name="q" placeholder="z. B. Radweg";
                button type="submit" { "Suchen" }
            }
            div.columns {
                @for s in sections { div { (section(s)) } }
            }
        },
    )
}
