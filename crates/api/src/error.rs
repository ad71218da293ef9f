//! DocuSign-style errors: `{"errorCode": "UPPER_SNAKE", "message": "..."}`.
//! The domain's [`Error`] is mapped to a status and a code here and nowhere else.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use roster_domain::Error;
use serde::Serialize;

/// The `errorDetails` object, top level or per item.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetails {
    pub error_code: &'static str,
    pub message: String,
}

/// An error answered in DocuSign's shape.
#[derive(Debug)]
pub enum ApiError {
    Domain(Error),
    /// Errors of the HTTP layer itself (body, media type, route).
    Http {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
}

impl ApiError {
    pub fn http(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Http { status, code, message: message.into() }
    }

    pub fn bad_body(message: impl Into<String>) -> Self {
        Self::http(StatusCode::BAD_REQUEST, "INVALID_REQUEST_BODY", message)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Domain(e)
    }
}

/// The status and code of a domain error on the DocuSign surface. DocuSign
/// answers 400 for nearly every business error, including "not found".
pub fn classify(e: &Error) -> (StatusCode, &'static str) {
    match e {
        Error::InvalidToken => (StatusCode::UNAUTHORIZED, "AUTHORIZATION_INVALID_TOKEN"),
        Error::AuthenticationFailed => (StatusCode::UNAUTHORIZED, "USER_AUTHENTICATION_FAILED"),
        Error::NotAMember => (StatusCode::BAD_REQUEST, "USER_DOES_NOT_BELONG_TO_SPECIFIED_ACCOUNT"),
        Error::Forbidden(_) => (StatusCode::BAD_REQUEST, "USER_LACKS_PERMISSIONS"),
        Error::UnknownUser(_) => (StatusCode::BAD_REQUEST, "INVALID_USERID"),
        Error::UserExists(_) => (StatusCode::BAD_REQUEST, "USER_ALREADY_EXISTS_IN_ACCOUNT"),
        Error::EmailTaken(_) => (StatusCode::BAD_REQUEST, "EMAIL_ALREADY_IN_USE"),
        Error::InvalidEmail { .. } => (StatusCode::BAD_REQUEST, "INVALID_EMAIL_ADDRESS_FOR_USER"),
        Error::Invalid { .. } => (StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER"),
        Error::UnknownProfile(_) => (StatusCode::BAD_REQUEST, "PERMISSION_PROFILE_DOES_NOT_EXIST"),
        Error::LastAdmin => (StatusCode::BAD_REQUEST, "CANNOT_REMOVE_LAST_ADMINISTRATOR"),
        Error::DuplicateName { kind: "group", .. } => (StatusCode::BAD_REQUEST, "GROUP_NAME_EXISTS"),
        Error::DuplicateName { .. } => (StatusCode::BAD_REQUEST, "PERMISSION_PROFILE_NAME_EXISTS"),
        Error::BuiltIn(_) => (StatusCode::BAD_REQUEST, "CANNOT_CHANGE_BUILT_IN"),
        Error::ProfileInUse(_) => (StatusCode::BAD_REQUEST, "PERMISSION_PROFILE_IN_USE"),
        Error::UnknownGroup(_) => (StatusCode::BAD_REQUEST, "INVALID_GROUP_ID"),
        Error::CustomSettingsTooLarge { .. } => (StatusCode::BAD_REQUEST, "CUSTOM_SETTINGS_SIZE_LIMIT_EXCEEDED"),
        Error::PreconditionFailed => (StatusCode::PRECONDITION_FAILED, "PRECONDITION_FAILED"),
        Error::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"),
        Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_SERVER_ERROR"),
    }
}

impl From<&Error> for ErrorDetails {
    fn from(e: &Error) -> Self {
        let (_, code) = classify(e);
        let message = match e {
            Error::UserExists(_) => "Username and email combination already exists for this account.".to_owned(),
            Error::Forbidden(why) => format!("This user lacks sufficient permissions to access this resource: {why}."),
            Error::NotAMember => "The specified User is not a member of the specified Account.".to_owned(),
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                e.to_string()
            }
            _ => e.to_string(),
        };
        ErrorDetails { error_code: code, message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Domain(e) => {
                let (status, _) = classify(&e);
                (status, Json(ErrorDetails::from(&e))).into_response()
            }
            ApiError::Http { status, code, message } => {
                (status, Json(ErrorDetails { error_code: code, message })).into_response()
            }
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The error answers every DocuSign operation may give, for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum DocuSignErrors {
    /// A business error: bad input, unknown ids, missing rights, ...
    #[response(status = 400)]
    BadRequest(ErrorDetails),
    /// Missing, malformed, expired or revoked access token.
    #[response(status = 401)]
    Unauthorized(ErrorDetails),
    /// No such route.
    #[response(status = 404)]
    NotFound(ErrorDetails),
    /// The method is not allowed on this route.
    #[response(status = 405)]
    MethodNotAllowed(ErrorDetails),
    /// The request took too long.
    #[response(status = 408)]
    Timeout,
    /// An `Idempotency-Key` is still in use by an unfinished request.
    #[response(status = 409)]
    Conflict(ErrorDetails),
    /// `If-Match` named a version the resource no longer has.
    #[response(status = 412)]
    PreconditionFailed(ErrorDetails),
    /// The body is over 1 MiB.
    #[response(status = 413)]
    TooLarge(ErrorDetails),
    /// The body is not JSON.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorDetails),
    /// An `Idempotency-Key` was reused with a different request.
    #[response(status = 422)]
    Unprocessable(ErrorDetails),
    /// Over the account's rate limit.
    #[response(status = 429)]
    TooManyRequests(ErrorDetails),
    /// The database is unavailable.
    #[response(status = 503)]
    Unavailable(ErrorDetails),
}
