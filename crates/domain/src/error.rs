use std::fmt;

/// The one error type of Roster. Each wire surface maps it to its own shape
/// (DocuSign `errorDetails`, Akana statuses) at the edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Missing, malformed, expired or revoked access token.
    #[error("the access token is missing, malformed, expired or revoked")]
    InvalidToken,
    /// Wrong email or password; never says which.
    #[error("one or both of username and password are invalid")]
    AuthenticationFailed,
    /// The caller is not an active member of the account in the path (or the
    /// account does not exist: the two are indistinguishable on purpose).
    #[error("the caller is not a member of the specified account")]
    NotAMember,
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such user in this account (or a malformed user id).
    #[error("invalid user id: {0}")]
    UnknownUser(String),
    /// The email already has a membership in this account.
    #[error("a user with email {0} already exists in this account")]
    UserExists(String),
    /// The email belongs to another user.
    #[error("the email {0} is already used by another user")]
    EmailTaken(String),
    /// Malformed email address in `field`.
    #[error("{field}: '{value}' is not a valid email address")]
    InvalidEmail { field: String, value: String },
    /// A value in `field` breaks a rule.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    /// No such permission profile in this account.
    #[error("permission profile {0} does not exist in this account")]
    UnknownProfile(String),
    /// The change would leave the account without an active administrator.
    #[error("the account must keep at least one active administrator")]
    LastAdmin,
    /// A permission profile or group with this name exists in the account.
    #[error("a {kind} named '{name}' already exists in this account")]
    DuplicateName { kind: &'static str, name: String },
    /// Built-in profiles and groups cannot be deleted (or renamed).
    #[error("{0}")]
    BuiltIn(String),
    /// A permission profile still has users and no `move_users_to` was given.
    #[error("the permission profile still has {0} users; move them with move_users_to")]
    ProfileInUse(u64),
    /// No such group in this account.
    #[error("group {0} does not exist in this account")]
    UnknownGroup(String),
    /// A user's custom settings would pass their size limit.
    #[error("the custom settings would be {size} characters long (all groups together); the limit is {limit}")]
    CustomSettingsTooLarge { size: usize, limit: usize },
    /// `If-Match` named a version the resource no longer has.
    #[error("the resource has changed since it was read (If-Match did not match)")]
    PreconditionFailed,
    /// The database does not answer.
    #[error("the database is unavailable")]
    Unavailable,
    /// A bug or an unexpected storage failure; details are logged, not returned.
    #[error("internal error")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: impl fmt::Display, reason: impl fmt::Display) -> Self {
        Error::Invalid { field: field.to_string(), reason: reason.to_string() }
    }

    /// The same error with its field name placed under `prefix`
    /// (`email` becomes `newUsers[3].email`).
    pub fn within(self, prefix: &str) -> Self {
        match self {
            Error::Invalid { field, reason } => Error::Invalid { field: format!("{prefix}.{field}"), reason },
            Error::InvalidEmail { field, value } => Error::InvalidEmail { field: format!("{prefix}.{field}"), value },
            other => other,
        }
    }
}
