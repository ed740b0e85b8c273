//! Diesel's view of the tables created by `migrations/` (the same on both
//! backends; see migrations/README.md).

diesel::table! {
    object (pk) {
        pk -> BigInt,
        kind -> SmallInt,
        body_pk -> Nullable<BigInt>,
        created -> BigInt,
        modified -> BigInt,
        deleted -> Bool,
        fields -> Text,
        revision -> BigInt,
    }
}

diesel::table! {
    store_revision (id) {
        id -> SmallInt,
        value -> BigInt,
    }
}

diesel::table! {
    link (from_pk, field, position) {
        from_pk -> BigInt,
        field -> SmallInt,
        position -> Integer,
        to_pk -> BigInt,
    }
}

diesel::table! {
    file_content (file_pk) {
        file_pk -> BigInt,
        bytes -> Binary,
    }
}

diesel::table! {
    import_source (id) {
        id -> Integer,
        source -> Text,
        last_started -> Nullable<BigInt>,
        last_finished -> Nullable<BigInt>,
        runs -> Integer,
        feed_url -> Nullable<Text>,
        feed_revision -> Nullable<BigInt>,
    }
}

diesel::table! {
    import_id (source_id) {
        source_id -> Text,
        source -> Integer,
        pk -> BigInt,
        hash -> BigInt,
    }
}

diesel::table! {
    api_token (id) {
        id -> BigInt,
        name -> Text,
        hash -> Text,
        bodies -> Text,
        read_only -> Bool,
        created -> BigInt,
        revoked -> Nullable<BigInt>,
    }
}

diesel::table! {
    write_audit (id) {
        id -> BigInt,
        at -> BigInt,
        token -> Text,
        revision -> BigInt,
        operation -> Text,
        object_pk -> BigInt,
        kind -> SmallInt,
    }
}

diesel::table! {
    idempotency_key (token_id, key) {
        token_id -> BigInt,
        key -> Text,
        request_hash -> Text,
        status -> SmallInt,
        location -> Text,
        answer -> Text,
        created -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    object,
    link,
    file_content,
    import_source,
    import_id,
    store_revision
);
