//! Identifiers. Each parses once at the edge and is valid from then on.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::Error;

/// A user's global id (DocuSign `userId`, a GUID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct UserId(pub Uuid);

impl UserId {
    /// A time-ordered (version 7) UUID: new users land at the end of every
    /// index keyed by user, instead of at random pages of them.
    pub fn new() -> Self {
        UserId(Uuid::now_v7())
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

impl FromStr for UserId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Uuid::try_parse(s.trim()).map(UserId).map_err(|_| Error::UnknownUser(truncate(s)))
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// An account's numeric id (DocuSign `accountId`, emitted as a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub i64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How a path names an account: DocuSign accepts the number or the GUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountRef {
    Number(i64),
    Guid(Uuid),
}

impl FromStr for AccountRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse().map(AccountRef::Number).map_err(|_| Error::NotAMember);
        }
        // An unparsable id names no account the caller belongs to.
        Uuid::try_parse(s).map(AccountRef::Guid).map_err(|_| Error::NotAMember)
    }
}

/// A permission profile's numeric id (emitted as a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProfileId(pub i64);

impl FromStr for ProfileId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        s.trim().parse::<i64>().ok().filter(|n| *n > 0).map(ProfileId).ok_or_else(|| Error::UnknownProfile(truncate(s)))
    }
}

impl fmt::Display for ProfileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Echoing user input in errors is helpful, echoing a megabyte is not.
pub(crate) fn truncate(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_refs_parse_as_number_or_guid() {
        assert_eq!("42".parse::<AccountRef>().unwrap(), AccountRef::Number(42));
        let g = Uuid::new_v4();
        assert_eq!(g.to_string().parse::<AccountRef>().unwrap(), AccountRef::Guid(g));
        assert_eq!("../etc".parse::<AccountRef>(), Err(Error::NotAMember));
        assert_eq!("99999999999999999999".parse::<AccountRef>(), Err(Error::NotAMember));
    }

    #[test]
    fn user_ids_reject_garbage_without_echoing_it_all() {
        let long = "x".repeat(10_000);
        match long.parse::<UserId>() {
            Err(Error::UnknownUser(s)) => assert!(s.len() < 100),
            other => panic!("{other:?}"),
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_string_parses_or_is_refused_without_panicking(s in ".*") {
            let _ = s.parse::<UserId>();
            let _ = s.parse::<AccountRef>();
            let _ = s.parse::<ProfileId>();
        }

        #[test]
        fn user_ids_round_trip(bytes in any::<[u8; 16]>()) {
            let id = UserId(Uuid::from_bytes(bytes));
            prop_assert_eq!(id.to_string().parse::<UserId>().unwrap(), id);
            prop_assert_eq!(id.to_string().to_uppercase().parse::<UserId>().unwrap(), id);
        }

        #[test]
        fn account_numbers_and_guids_round_trip(n in 0i64..=999_999_999_999_999_999, bytes in any::<[u8; 16]>()) {
            prop_assert_eq!(n.to_string().parse::<AccountRef>().unwrap(), AccountRef::Number(n));
            let g = Uuid::from_bytes(bytes);
            prop_assert_eq!(g.to_string().parse::<AccountRef>().unwrap(), AccountRef::Guid(g));
        }

        #[test]
        fn profile_ids_are_positive_numbers(n in any::<i64>()) {
            prop_assert_eq!(n.to_string().parse::<ProfileId>().is_ok(), n > 0);
        }
    }
}
