//! Newtypes and checks that make invalid input unrepresentable past the edge.

use std::fmt;

use crate::ids::truncate;
use crate::Error;

/// Longest personal name DocuSign accepts (`firstName`, `lastName`, ...; Roster
/// applies it to `userName` too).
pub const NAME_MAX: usize = 50;
pub const EMAIL_MAX: usize = 100;
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;
/// Longest free-text value (titles, companies, address parts).
pub const TEXT_MAX: usize = 100;

/// A syntactically valid email address, as given (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, Error> {
        let v = raw.trim();
        let invalid = || Error::InvalidEmail { field: field.to_owned(), value: truncate(raw) };
        if v.is_empty() || v.chars().count() > EMAIL_MAX || v.chars().any(char::is_control) {
            return Err(invalid());
        }
        if !email_address::EmailAddress::is_valid(v) {
            return Err(invalid());
        }
        Ok(Email(v.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form that uniqueness is decided on.
    pub fn normalized(&self) -> String {
        normalize_email(&self.0)
    }
}

pub fn normalize_email(s: &str) -> String {
    s.trim().to_lowercase()
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the length rule; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn parse(field: &str, raw: &str) -> Result<Self, Error> {
        let n = raw.chars().count();
        if n < PASSWORD_MIN {
            return Err(Error::invalid(field, format!("must be at least {PASSWORD_MIN} characters")));
        }
        if n > PASSWORD_MAX {
            return Err(Error::invalid(field, format!("must be at most {PASSWORD_MAX} characters")));
        }
        if raw.contains('\0') {
            return Err(Error::invalid(field, "must not contain NUL characters"));
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// An argon2id hash of a [`Password`], as stored (PHC string format).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

/// A required single-line text of at most `max` characters, trimmed.
pub fn required_text(field: &str, raw: &str, max: usize) -> Result<String, Error> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(Error::invalid(field, "is required and must not be empty"));
    }
    line(field, v, max)
}

/// An optional single-line text: empty clears it.
pub fn optional_text(field: &str, raw: &str, max: usize) -> Result<Option<String>, Error> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    line(field, v, max).map(Some)
}

fn line(field: &str, v: &str, max: usize) -> Result<String, Error> {
    let n = v.chars().count();
    if n > max {
        return Err(Error::invalid(field, format!("is {n} characters long; the limit is {max}")));
    }
    if v.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(Email::parse("email", "a@example.com").is_ok());
        assert_eq!(Email::parse("email", " A@Example.com ").unwrap().normalized(), "a@example.com");
        for bad in ["", "nope", "a@", "@b.c", "a b@c.d", "a@b.c\0"] {
            assert!(matches!(Email::parse("email", bad), Err(Error::InvalidEmail { .. })), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(EMAIL_MAX));
        assert!(Email::parse("email", &long).is_err());
    }

    #[test]
    fn names_are_bounded_and_single_line() {
        assert_eq!(required_text("userName", "  Ann ", NAME_MAX).unwrap(), "Ann");
        assert!(required_text("userName", "   ", NAME_MAX).is_err());
        assert!(required_text("userName", &"é".repeat(NAME_MAX), NAME_MAX).is_ok());
        let err = required_text("userName", &"é".repeat(NAME_MAX + 1), NAME_MAX).unwrap_err();
        assert_eq!(err, Error::invalid("userName", "is 51 characters long; the limit is 50"));
        assert!(optional_text("firstName", "a\u{7}b", NAME_MAX).is_err());
        assert_eq!(optional_text("firstName", "", NAME_MAX).unwrap(), None);
    }

    #[test]
    fn passwords_are_bounded_and_hidden() {
        assert!(Password::parse("password", "short").is_err());
        let p = Password::parse("password", "long enough").unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
    }
}
