//! The tokens of the write API. A token is a long random secret shown once
//! when it is made; the store keeps only its SHA-256 (a secret of 256
//! random bits needs no slow hash: nobody can guess it, and a leaked table
//! does not give the secrets away). Requests are matched by comparing
//! hashes in constant time (see [`find`]).

use crate::db::schema::api_token;
use crate::db::{AnyConnection, DbError};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

/// What every token begins with, so that secret scanners and people can
/// tell one from other strings.
pub const TOKEN_PREFIX: &str = "oparl_";

/// A stored token.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_token)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub hash: String,
    /// Comma-separated Body pks; empty for every Body.
    pub bodies: String,
    pub read_only: bool,
    pub created: i64,
    pub revoked: Option<i64>,
}

impl Token {
    /// The Bodies it may write; None for every Body.
    pub fn body_pks(&self) -> Option<Vec<i64>> {
        if self.bodies.is_empty() {
            return None;
        }
        Some(
            self.bodies
                .split(',')
                .filter_map(|s| s.parse().ok())
                .collect(),
        )
    }

    /// Whether it may write objects of this Body.
    pub fn may_write(&self, body_pk: i64) -> bool {
        self.body_pks().is_none_or(|b| b.contains(&body_pk))
    }
}

#[derive(Insertable)]
#[diesel(table_name = api_token)]
struct NewToken<'a> {
    name: &'a str,
    hash: &'a str,
    bodies: &'a str,
    read_only: bool,
    created: i64,
}

/// The stored form of a secret: its SHA-256 in hex.
pub fn hash_of(secret: &str) -> String {
    crate::text::hex(&Sha256::digest(secret.as_bytes()))
}

/// A new secret: 32 bytes from the operating system's random source, in hex.
pub fn new_secret() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(format!("{TOKEN_PREFIX}{}", crate::text::hex(&bytes)))
}

/// Store a new token; returns its id and the secret, which is never stored.
/// Written inside a change of the store like everything else.
pub fn create(
    conn: &mut AnyConnection,
    name: &str,
    bodies: &[i64],
    read_only: bool,
    at: i64,
) -> Result<(i64, String), DbError> {
    let secret = new_secret().map_err(|e| DbError::Connect(format!("/dev/urandom: {e}")))?;
    let hash = hash_of(&secret);
    let bodies: Vec<String> = bodies.iter().map(i64::to_string).collect();
    let bodies = bodies.join(",");
    let id = crate::store::write::change(conn, |c| {
        diesel::insert_into(api_token::table)
            .values(NewToken {
                name,
                hash: &hash,
                bodies: &bodies,
                read_only,
                created: at,
            })
            .execute(c.conn()?)?;
        Ok(api_token::table
            .filter(api_token::hash.eq(&hash))
            .select(api_token::id)
            .first::<i64>(c.conn()?)?)
    })?;
    Ok((id, secret))
}

/// Every token, oldest first.
pub fn list(conn: &mut AnyConnection) -> Result<Vec<Token>, DbError> {
    Ok(api_token::table
        .order(api_token::id)
        .select(Token::as_select())
        .load(conn)?)
}

/// Revoke a token; false when there is none with this id or it was
/// revoked already.
pub fn revoke(conn: &mut AnyConnection, id: i64, at: i64) -> Result<bool, DbError> {
    crate::store::write::change(conn, |c| {
        let n = diesel::update(
            api_token::table
                .filter(api_token::id.eq(id))
                .filter(api_token::revoked.is_null()),
        )
        .set(api_token::revoked.eq(Some(at)))
        .execute(c.conn()?)?;
        Ok(n == 1)
    })
}

/// The token whose secret this is, revoked or not. Every stored hash is
/// compared, each in constant time, so that the time taken tells nothing
/// about how close a guess came (the table holds a handful of rows).
pub fn find(conn: &mut AnyConnection, secret: &str) -> Result<Option<Token>, DbError> {
    let wanted = hash_of(secret);
    let mut found = None;
    for token in list(conn)? {
        if constant_time_eq(token.hash.as_bytes(), wanted.as_bytes()) {
            found = Some(token);
        }
    }
    Ok(found)
}

/// Equality of two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_hashed() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(hash_of(&a).len(), 64);
        assert!(constant_time_eq(
            hash_of(&a).as_bytes(),
            hash_of(&a).as_bytes()
        ));
        assert!(!constant_time_eq(
            hash_of(&a).as_bytes(),
            hash_of(&b).as_bytes()
        ));
    }
}
