//! HMAC-SHA256 as lowercase hex, and a constant-time comparison: what the call tokens, the
//! outbound webhook signatures and the console's session cookies are made of.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The hex HMAC-SHA256 of the concatenated `parts`, keyed with `key`; at most `max_bytes` of
/// the tag are kept (a shorter tag makes a shorter URL or cookie).
pub fn hmac_hex(key: &[u8], parts: &[&[u8]], max_bytes: usize) -> String {
    // HMAC accepts keys of any length, so this never fails; an empty tag never verifies.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .take(max_bytes)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether two tags are equal, in time that does not depend on where they differ.
pub fn same_tag(expected: &str, presented: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_4231_test_vector() {
        // RFC 4231 test case 2.
        let tag = hmac_hex(b"Jefe", &[b"what do ya want ", b"for nothing?"], 32);
        assert_eq!(
            tag,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hmac_hex(b"Jefe", &[b"what do ya want for nothing?"], 4),
            "5bdcc146"
        );
    }

    #[test]
    fn empty_tags_never_match() {
        assert!(!same_tag("", ""));
        assert!(same_tag("ab", "ab"));
        assert!(!same_tag("ab", "ac"));
    }
}
