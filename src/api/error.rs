//! The one error type of the HTTP layer. Every failure becomes an OParl
//! Error object (spec §2.9, new in 1.1) with a 4xx or 5xx status, the CORS
//! header and the JSON content type; nothing else ever reaches a client.

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

    /// The database is away or too slow just now: 503, to be asked again
    /// (the answer carries `Retry-After`).
    pub fn unavailable(debug: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Der Dienst ist vorübergehend nicht verfügbar. Bitte später erneut versuchen.",
            debug,
        )
    }

    /// The answer was not ready within the time limit.
    pub fn time_limit(limit: std::time::Duration) -> ApiError {
        ApiError::unavailable(format!(
            "no answer within the time limit of {} ms",
            limit.as_millis()
        ))
    }

    /// The JSON body of the Error object.
    pub fn body(&self) -> serde_json::Value {
        json!({ "type": ERROR_TYPE, "message": self.message, "debug": self.debug })
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> ApiError {
        // Logged once here, where it becomes an answer. A database that is
        // away (restarting, unreachable, too slow) is not a fault of ours:
        // 503, and the client asks again later.
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable");
            return ApiError::unavailable(e.to_string());
        }
        tracing::error!(error = %e, "database error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Interner Fehler des Servers.",
            e.to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_that_is_away_is_503_and_a_failed_query_500() {
        let status = |e: DbError| ApiError::from(e).status;
        assert_eq!(
            status(DbError::Connect("refused".into())),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(DbError::Unavailable("the check failed".into())),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(DbError::Query(diesel::result::Error::NotFound)),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
