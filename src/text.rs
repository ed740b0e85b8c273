//! Small text helpers that every layer may use: nothing here knows HTTP,
//! the database or OParl.

/// The name with umlauts spelled out and anything else outside ASCII replaced.
pub fn ascii_fallback(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars() {
        match ch {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'Ä' => out.push_str("Ae"),
            'Ö' => out.push_str("Oe"),
            'Ü' => out.push_str("Ue"),
            'ß' => out.push_str("ss"),
            '"' | '\\' => out.push('_'),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            _ => out.push('_'),
        }
    }
    out
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The message a panic was raised with, for an error report.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_ascii_and_digests_in_hex() {
        assert_eq!(
            ascii_fallback("Straßenbau Übersicht \"Ä\".pdf"),
            "Strassenbau Uebersicht _Ae_.pdf"
        );
        assert_eq!(ascii_fallback("Café\u{1}"), "Caf__");
        assert_eq!(hex(&[0, 15, 171, 255]), "000fabff");
    }

    #[test]
    fn panic_messages_are_read_from_either_payload() {
        let of = |f: fn()| panic_message(std::panic::catch_unwind(f).unwrap_err().as_ref());
        assert_eq!(of(|| panic!("plain")), "plain");
        assert_eq!(of(|| panic!("with {}", 1)), "with 1");
        assert_eq!(
            of(|| std::panic::panic_any(7u8)),
            "a panic without a message"
        );
    }
}
