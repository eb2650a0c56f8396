//! A pool of either backend, for rows whose SQL is the same on both
//! (numbered `$n` parameters work on each): the access rows and the alert
//! rules write every method once and run it on whichever pool they hold.

use sqlx::{PgPool, SqlitePool};

/// The configured database's pool.
#[derive(Clone)]
pub(crate) enum DbPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to `$store.pool`, whichever backend.
macro_rules! on_pool {
    ($store:expr, |$p:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::db_pool::DbPool::Sqlite($p) => $body,
            $crate::store::db_pool::DbPool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;
