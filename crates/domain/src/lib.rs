//! Roster's domain: the model, its rules and the authorization policy.
//!
//! Nothing here does I/O or knows a wire format; the API crate translates
//! to and from DocuSign and Akana shapes, the store crate persists.

pub mod custom_settings;
pub mod error;
pub mod ids;
pub mod model;
pub mod policy;
pub mod roles;
pub mod settings;
pub mod site;
pub mod tag;
pub mod validate;

pub use error::{Error, Result};
