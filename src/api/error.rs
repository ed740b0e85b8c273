//! The one error type of the HTTP layer. Every failure becomes an OParl Error
//! object (digest §3.13) with a 4xx or 5xx status, the CORS header and the
//! JSON content type; nothing else ever reaches a client.

use crate::db::DbError;
use crate::model::ERROR_TYPE;
use hyper::StatusCode;
use serde_json::json;

/// An error answer: status, a message for users (German, the content
/// language) and technical detail for developers.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub debug: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: &str, debug: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            debug: debug.into(),
        }
    }

    /// A malformed query parameter.
    pub fn bad_parameter(name: &str, detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "Ungültiger Parameter in der Anfrage.",
            format!("parameter `{name}`: {detail}"),
        )
    }

    pub fn not_found(what: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "Die angeforderte Ressource existiert nicht.",
            format!("nothing at {what}"),
        )
    }

    pub fn method_not_allowed(method: &hyper::Method) -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Diese Anfragemethode wird nicht unterstützt.",
            format!("method {method} is not allowed; use GET, HEAD or OPTIONS"),
        )
    }

    pub fn gone(what: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::GONE,
            "Die Datei wurde gelöscht.",
            format!("{what} was deleted"),
        )
    }

    /// The JSON body of the Error object.
    pub fn body(&self) -> serde_json::Value {
        json!({ "type": ERROR_TYPE, "message": self.message, "debug": self.debug })
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> ApiError {
        // Logged once here, where it becomes an answer.
        tracing::error!(error = %e, "database error");
        let status = match e {
            DbError::Connect(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, "Interner Fehler des Servers.", e.to_string())
    }
}
