//! Small text helpers that every layer may use: nothing here knows HTTP,
//! the database or OParl.

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
